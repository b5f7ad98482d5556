import time

def work(n):
    return sum(range(n))

for i in range(5):
    work(i)
print("SLEEPING", flush=True)
time.sleep(1.5)
