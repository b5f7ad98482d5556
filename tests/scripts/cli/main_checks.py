import os
import pickle
import sys

import helper

class Point:
    def __init__(self, x):
        self.x = x

with open(os.path.join(os.path.dirname(__file__), "runs.txt"), "a") as f:
    f.write("run\n")

print("NAME:", __name__)
print("PATH0:", sys.path[0])
print("FILE:", __file__)
print("HELPER:", helper.compute(4))
point = pickle.loads(pickle.dumps(Point(7)))
print("PICKLE:", type(point).__module__, type(point).__qualname__, point.x)
print("MAIN:", sys.modules["__main__"].Point is Point)
