from collections import namedtuple

def work():
    return 1

work()
Point = namedtuple("Point", "x y")
exec("z = 1", {"__builtins__": {}})
work()
print("OUT:", Point(1, 2))
