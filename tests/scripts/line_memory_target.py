"""A program for ``pikos report --format text``'s tests and its
documentation: one function whose lines change RSS by known amounts, run
under pikos and under memory_profiler alike.

``grow(m)`` keeps ``m`` MiB on one line, makes ``2 m`` MiB of scratch on
the next and drops it on the third (the buffers are filled: untouched pages
would not count in RSS).

    python line_memory_target.py [MEGABYTES]
"""

import sys

MIB = 1 << 20


def grow(megabytes):
    kept = b"\x01" * (megabytes * MIB)
    scratch = b"\x02" * (2 * megabytes * MIB)
    del scratch
    return len(kept)


if __name__ == "__main__":
    grow(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
