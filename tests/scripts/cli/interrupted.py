def work():
    return sum(range(3))

def stop():
    work()
    raise KeyboardInterrupt

print("OUT: start")
stop()
