"""fib(N) on the main thread (N: the first argument, default 15).  fib(15)
makes 1973 calls of fib, fib(12) 465: the counts the pprof, callgrind and
`pikos diff` tests find in the real readers' output."""

import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main(n):
    return fib(n) + len(str(n))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
