import sys

def work(i):
    return i * 2

for i in range(3):
    print("OUT: line", work(i))
    print("ERR: line", i, file=sys.stderr)
print("OUT: end")
