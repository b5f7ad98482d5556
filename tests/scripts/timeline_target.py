"""A known timeline for the export tests: fib(10) (177 calls) on the main
thread while a thread named "worker" runs fib(8) (67 calls)."""

import threading


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def worker():
    fib(8)


def main():
    thread = threading.Thread(target=worker, name="worker")
    thread.start()
    thread.join()
    fib(10)
    return len("abc")


if __name__ == "__main__":
    main()
