import sys

def before():
    return 1

def work(n):
    total = 0
    for i in range(n):
        total += len(str(i))
    return total

class Klass:
    def method(self):
        return work(2)

def outer():
    def inner():
        return len("abc")
    return inner()

if __name__ == "__main__":
    before()
    work(3)
    Klass().method()
    outer()
