def compute(n):
    return sum(range(n))

class HKlass:
    def method(self):
        return compute(3)

    @staticmethod
    def smethod():
        return len("xy")
