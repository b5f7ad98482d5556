"""A program for ``pikos live``'s tests: for a few seconds it grows its
memory by 1 MiB a step in ``grow_memory_chunk`` (so that RSS keeps
changing), slowly enough to watch, then frees it.

    python live_target.py [SECONDS]
"""

import sys
import time

CHUNK = 1 << 20
# Past this many chunks the memory is freed and grown again: RSS keeps
# changing without the program growing without bound.
MOST_CHUNKS = 150


def grow_memory_chunk(chunks):
    # Filled, not just allocated: untouched pages would not count in RSS.
    chunks.append(bytearray(b"\x01" * CHUNK))


def main(seconds):
    chunks = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        grow_memory_chunk(chunks)
        if len(chunks) >= MOST_CHUNKS:
            chunks.clear()
        time.sleep(0.01)
    chunks.clear()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
