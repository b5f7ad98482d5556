import os
import sys

def child_work():
    return sum(range(10))

def parent_work():
    return len("parent")

pid = os.fork()
if pid == 0:
    for _ in range(100_000):  # far more than the parent's writer queue holds
        child_work()
    sys.exit(0)  # the child runs pikos-run's ending too
_, status = os.waitpid(pid, 0)
parent_work()
print("child exit", os.waitstatus_to_exitcode(status))
