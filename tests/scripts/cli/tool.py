import sys

def work():
    return sum(range(3))

print("ARGV:", repr(sys.argv))
print("NAME:", __name__)
print("PATH0:", sys.path[0])
if __name__ == "__main__":
    work()
