import sys

def work():
    return sum(range(3))

def leave():
    work()
    sys.exit(*ARGS)  # ARGS is written above by the test

print("OUT: start")
leave()
print("OUT: never")
