def work(n):
    return sum(range(n))

def a():
    work(3)
    b()

def b():
    c()

def c():
    raise ValueError("deep " + str(work(2)))

print("OUT: before")
a()
print("OUT: never")
