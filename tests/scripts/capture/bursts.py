# Bursts of calls with pauses between them: a capture closes a block per
# burst (its blocks close every 50 ms while records come).
import time


def work(n):
    return sum(i * i for i in range(n))


for burst in range(40):
    for i in range(30):
        work(i)
    time.sleep(0.02)
print("done")
