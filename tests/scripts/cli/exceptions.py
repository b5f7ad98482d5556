import atexit
import sys
import threading

atexit.register(lambda: print("OUT: atexit"))

def bad():
    raise RuntimeError("in a thread")

thread = threading.Thread(target=bad)
thread.start()
thread.join()

def wrap():
    try:
        {}["key"]
    except KeyError as error:
        raise ValueError("wrapped") from error

if sys.argv[1:] == ["top"]:
    raise ValueError("at module level")
wrap()
