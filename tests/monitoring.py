"""Helpers that drive pikos monitors the same way the references run code."""

import gc
import os

import harness
import pikos
from pikos.recorders.api import ListRecorder

PIKOS_DIR = os.path.dirname(os.path.abspath(pikos.__file__))


def is_pikos(filename):
    """True for code of the pikos package itself (never allowed in records)."""
    return os.path.abspath(filename).startswith(PIKOS_DIR + os.sep)


def pikos_frames(records, filename_position=-1):
    return [r for r in records if is_pikos(tuple(r)[filename_position])]


def run_monitored(monitor_class, func, *args, recorder=None, **kwargs):
    """Run func inside `with monitor_class(recorder):` with gc paused.

    Returns (outcome, records); the records still include harness events.
    """
    recorder = ListRecorder() if recorder is None else recorder
    monitor = monitor_class(recorder)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with monitor:
            result = harness.outcome(func, *args, **kwargs)
    finally:
        if gc_was_enabled:
            gc.enable()
    return result, recorder.records


class CountingRecorder:
    """A user recorder that is not an AbstractRecorder: counts every call."""

    def __init__(self):
        self.prepared = []
        self.records = []
        self.finalized = 0

    def prepare(self, record_type):
        self.prepared.append(record_type)

    def record(self, data):
        self.records.append(data)

    def finalize(self):
        self.finalized += 1


def feed(recorder, record_type, records):
    """Drive a recorder by hand: prepare, record each, finalize."""
    recorder.prepare(record_type)
    for record in records:
        recorder.record(record)
    recorder.finalize()


def attached_records(monitor_class, func, calls=1):
    """Records of ``func`` attached to a new monitor and called ``calls`` times."""
    recorder = ListRecorder()
    attached = monitor_class(recorder).attach(func)
    for _ in range(calls):
        attached()
    return recorder.records
