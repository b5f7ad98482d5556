"""A target for the live-stream tests: calls `step` N times (argv[1],
default 2000), sleeping SLEEP seconds (argv[2], default 0) between calls, and
prints a known result."""

import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
SLEEP = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0


def step(i):
    return i * 2


total = 0
for i in range(N):
    total += step(i)
    if SLEEP:
        time.sleep(SLEEP)
print("total", total)
