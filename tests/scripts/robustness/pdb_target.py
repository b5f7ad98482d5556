"""Target of test_coexistence.py, run under `python -m pdb`: two pikos
sessions, then a line a pdb breakpoint is set on (marked), then
breakpoint().  Run plainly it prints what the debugger is asked for."""

from pikos.monitors.api import FunctionMonitor, LineMonitor
from pikos.recorders.api import ListRecorder


def leaf(x):
    return x * 2


def work(n):
    total = 0
    for i in range(n):
        total += leaf(i)
    return total


functions = ListRecorder()
with FunctionMonitor(functions):
    work(2)
lines = ListRecorder()
with LineMonitor(lines):
    work(1)
value = [(r.type, r.function) for r in functions.records]  # BREAK HERE
count = len(lines.records)
breakpoint()  # BREAKPOINT CALL
after = work(3)
print("value", value)
print("count", count)
print("after", after)
