"""``all_threads=True``: the threads already running when a monitor is
enabled are covered too, and each gets its own previous hook back."""

import sys
import threading

import pytest
from pikos.monitors.api import (
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    LineMonitor,
    StatsMonitor,
)
from pikos.recorders.api import ListRecorder

WAIT = 30  # seconds; only a guard against a deadlock


def leaf(i):
    return i


def work(n):
    for i in range(n):
        leaf(i)


class Runner:
    """A thread started before the monitor, doing ``work(n)`` at each step
    the test asks for, and reading its own hooks when told."""

    def __init__(self, n, own_hook=None):
        self.n = n
        self.own_hook = own_hook
        self.go = threading.Semaphore(0)
        self.done = threading.Semaphore(0)
        self.ident = None
        self.hooks = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, name="already-running")
        self.thread.start()
        self.done.acquire(timeout=WAIT)

    def _run(self):
        self.ident = threading.get_ident()
        if self.own_hook is not None:
            sys.setprofile(self.own_hook)
        self.done.release()
        while True:
            self.go.acquire(timeout=WAIT)
            if self.stop:
                self.hooks.append((sys.getprofile(), sys.gettrace()))
                return
            work(self.n)
            self.done.release()

    def step(self):
        self.go.release()
        assert self.done.acquire(timeout=WAIT)

    def finish(self):
        self.stop = True
        self.go.release()
        self.thread.join(WAIT)


def calls_per_thread(records, function="leaf"):
    counts = {}
    for r in records:
        if r.function == function and r.type == "call":
            counts[r.thread] = counts.get(r.thread, 0) + 1
    return counts


@pytest.mark.parametrize("all_threads", [False, True])
def test_a_thread_already_running_is_covered_only_with_all_threads(all_threads):
    runner = Runner(7)
    recorder = ListRecorder()
    monitor = FunctionMonitor(recorder, timed=True, all_threads=all_threads)
    with monitor:
        runner.step()
        work(3)
    runner.step()  # after disable: never recorded
    runner.finish()
    expected = {threading.get_ident(): 3}
    if all_threads:
        expected[runner.ident] = 7
    assert calls_per_thread(recorder.records) == expected
    # The hook came off the running thread at its first event after disable.
    assert runner.hooks == [(None, None)]
    assert monitor.all_threads is all_threads


def test_each_running_thread_gets_its_own_hook_back():
    def theirs(frame, event, arg):
        theirs.events += 1

    theirs.events = 0
    runner = Runner(5, own_hook=theirs)
    recorder = ListRecorder()
    with FunctionMonitor(recorder, timed=True, all_threads=True):
        theirs.events = 0
        runner.step()
        during = theirs.events
    runner.step()
    runner.finish()
    assert calls_per_thread(recorder.records)[runner.ident] == 5
    assert during == 0  # pikos had that thread's hook meanwhile
    assert theirs.events > 0  # ... and gave it back
    assert runner.hooks[0][0] is theirs
    assert sys.getprofile() is None


@pytest.mark.parametrize(
    "monitor_class",
    [FunctionMonitor, FunctionMemoryMonitor, LineMonitor, LineMemoryMonitor],
)
def test_every_monitor_kind_covers_running_threads(monitor_class):
    runner = Runner(4)
    recorder = ListRecorder()
    with monitor_class(recorder, all_threads=True):
        runner.step()
    runner.finish()
    # leaf's body line (line monitors) or its call (function monitors),
    # four times, on the running thread.
    if monitor_class in (LineMonitor, LineMemoryMonitor):
        seen = [r for r in recorder.records if r.function == "leaf"]
    else:
        seen = [
            r for r in recorder.records if r.function == "leaf" and r.type == "call"
        ]
    assert len(seen) == 4
    assert runner.hooks == [(None, None)]


@pytest.mark.parametrize("all_threads", [False, True])
def test_statistics_of_running_threads(all_threads):
    runner = Runner(6)
    monitor = StatsMonitor(all_threads=all_threads)
    with monitor:
        runner.step()
        work(2)
    runner.finish()
    calls = [v[1] for k, v in monitor.snapshot().items() if k[2] == "leaf"]
    assert calls == [8 if all_threads else 2]


def test_a_covered_thread_can_leave_the_session():
    runner = Runner(3)
    recorder = ListRecorder()
    monitor = FunctionMonitor(recorder, timed=True, all_threads=True)
    with monitor:
        monitor.leave_thread()  # the main thread only
        work(5)
        runner.step()
    runner.finish()
    assert calls_per_thread(recorder.records) == {runner.ident: 3}


@pytest.mark.parametrize("value", [1, None, "yes"])
def test_all_threads_must_be_a_bool(value):
    with pytest.raises(TypeError, match="all_threads must be True or False"):
        FunctionMonitor(ListRecorder(), all_threads=value)
    with pytest.raises(TypeError, match="all_threads must be True or False"):
        StatsMonitor(all_threads=value)


def test_line_monitors_of_all_threads_with_the_legacy_hook(monkeypatch):
    """3.13 no longer exports the call that sets another thread's trace
    hook: there a line monitor covers running threads on sys.monitoring
    only, and says so when asked for the legacy hook."""
    monkeypatch.setenv("PIKOS_HOOK", "legacy")
    runner = Runner(2)
    recorder = ListRecorder()
    monitor = LineMonitor(recorder, all_threads=True)
    try:
        if sys.version_info >= (3, 13):
            with pytest.raises(RuntimeError, match="all_threads=True"):
                monitor.enable()
            assert sys.gettrace() is None
            return
        with monitor:
            runner.step()
    finally:
        runner.finish()
    assert len([r for r in recorder.records if r.function == "leaf"]) == 2
