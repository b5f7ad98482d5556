import threading
import time

def work():
    time.sleep(0.2)
    return sum(range(5))

threading.Thread(target=work).start()
print("OUT: main done")
