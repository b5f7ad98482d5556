import os
import sys

import helper

def before():
    return 0

def work():
    return helper.compute(4)

with open(os.path.join(os.path.dirname(__file__), "runs.txt"), "a") as f:
    f.write("run\n")

before()
work()
helper.HKlass().method()
helper.HKlass.smethod()
print("PATH0:", sys.path[0])
