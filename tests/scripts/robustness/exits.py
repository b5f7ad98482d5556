"""Target of test_exits.py: some work, a marker call, then the end that
argv[1] names: exit (sys.exit(3)), interrupt (an uncaught
KeyboardInterrupt), raise (an uncaught ValueError), os_exit (os._exit(4)).
argv[2] is the number of calls of unit (default 1000)."""

import os
import sys


def unit(i):
    return i + 1


def work(n):
    total = 0
    for i in range(n):
        total += unit(i)
    return total


def marker():
    """The last function the script calls before it ends."""
    return "marker"


mode = sys.argv[1]
calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
print("out: start", mode)
print("err: start", mode, file=sys.stderr)
print("out: result", work(calls))
print("err: done", file=sys.stderr)
if mode == "os_exit":
    sys.stdout.flush()
    sys.stderr.flush()
marker()
if mode == "exit":
    sys.exit(3)
elif mode == "interrupt":
    raise KeyboardInterrupt
elif mode == "raise":
    raise ValueError("the script's own error")
elif mode == "os_exit":
    os._exit(4)
