import os

def work():
    return sum(range(4))

def before():
    return 0

with open(os.path.join(os.path.dirname(__file__), "runs.txt"), "a") as f:
    f.write("run\n")

before()
work()
