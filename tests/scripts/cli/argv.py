import sys

def work():
    return 1

work()
print("ARGV:", repr(sys.argv))
