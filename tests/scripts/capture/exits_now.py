# Ends with os._exit: no exit handler runs, nothing is finalized.
import os


def work(n):
    return sum(range(n))


for i in range(3000):
    work(i % 7)
os._exit(0)
