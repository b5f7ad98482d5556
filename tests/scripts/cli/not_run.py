import helper

def work():
    return 1

class Klass:
    def method(self):
        return 2

print("RAN")
work()
