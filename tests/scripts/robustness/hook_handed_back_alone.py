"""A hook saved, cleared, handed back and its saved reference dropped: the
thread's slot then holds the only reference while the hook puts itself
back (CPython 3.11 released it first, and pikos' hook was freed in its own
call).  Prints the number of records of each monitor."""

import gc
import sys

from pikos.monitors.api import FunctionMonitor, LineMonitor
from pikos.recorders.api import ListRecorder


def swap(get, set_):
    saved = get()
    set_(None)
    set_(saved)
    del saved  # the slot's reference is the last one


def work(get, set_):
    for _ in range(3):
        swap(get, set_)
        len([1])


for monitor_class, get, set_ in (
    (FunctionMonitor, sys.getprofile, sys.setprofile),
    (LineMonitor, sys.gettrace, sys.settrace),
):
    recorder = ListRecorder()
    with monitor_class(recorder):
        work(get, set_)
        gc.collect()
        work(get, set_)
    print(monitor_class.__name__, len(recorder.records))
