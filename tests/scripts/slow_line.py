"""A function with one known slow line (a sleep, run a few times) among
quick ones, a generator suspended while its consumer sleeps, and two
threads: the targets of the line statistics' timing tests."""

import threading
import time


def slow(n):
    total = 0
    for i in range(n):
        total += i * i
        time.sleep(0.02)
        total -= i
    return total


def numbers(n):
    for i in range(n):
        yield i


def consumer(n):
    total = 0
    for value in numbers(n):
        time.sleep(0.02)
        total += value
    return total


def waiter(event):
    event.wait()
    return event.is_set()


def two_threads():
    event = threading.Event()
    worker = threading.Thread(target=waiter, args=(event,))
    worker.start()
    time.sleep(0.05)
    event.set()
    worker.join()
    return worker


def main():
    slow(3)
    consumer(3)


if __name__ == "__main__":
    main()
    print("slow_line done")
