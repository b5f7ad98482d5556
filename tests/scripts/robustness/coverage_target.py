"""Target of test_coexistence.py: code before, three pikos sessions one
after another (FunctionMonitor, LineMonitor, StatsMonitor), code after.
Prints what pikos recorded, and whether sys.gettrace() came back after each
session, as one JSON object.  Lines marked BEFORE / AFTER are run outside
the pikos sessions: coverage must see every one of them."""

import json
import sys

from pikos.monitors.api import FunctionMonitor, LineMonitor, StatsMonitor
from pikos.recorders.api import ListRecorder


def leaf(x):
    return x * 2


def work(n):
    total = 0
    for i in range(n):
        total += leaf(i)
    return total


def before_part():
    a = 1  # BEFORE
    b = a + 1  # BEFORE
    return b  # BEFORE


def after_part():
    c = 3  # AFTER
    d = c * 2  # AFTER
    return d  # AFTER


summary = {"before": before_part()}  # BEFORE
trace = sys.gettrace()  # BEFORE

functions = ListRecorder()
with FunctionMonitor(functions):
    work(5)
summary["trace_kept_after_functions"] = sys.gettrace() is trace  # AFTER

lines = ListRecorder()
with LineMonitor(lines):
    work(3)
summary["trace_kept_after_lines"] = sys.gettrace() is trace  # AFTER

stats = StatsMonitor()
with stats:
    work(4)
summary["trace_kept_after_stats"] = sys.gettrace() is trace  # AFTER

summary["functions"] = [list(r) for r in functions.records]  # AFTER
summary["lines"] = [list(r) for r in lines.records]  # AFTER
summary["stats"] = sorted(  # AFTER
    [list(key), value[0], value[1]] for key, value in stats.snapshot().items()
)
summary["after"] = after_part()  # AFTER
print(json.dumps(summary))  # AFTER
