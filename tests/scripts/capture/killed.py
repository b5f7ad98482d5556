# Records lines, says it is ready, then keeps running (line events, little
# work) until killed.
import sys
import time


def before_ready(n):
    total = 0
    for i in range(n):
        total += i
    return total


before_ready(20000)
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    time.sleep(0.005)
