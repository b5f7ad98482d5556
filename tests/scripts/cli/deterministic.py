def work(n):
    total = 0
    for i in range(n):
        total += len(str(i))
    return total

class Klass:
    def method(self):
        return work(3)

for i in range(20):
    work(i)
    Klass().method()
