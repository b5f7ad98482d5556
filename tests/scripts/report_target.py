"""A program for ``pikos report``'s tests and its documentation screenshot:
RSS grows on known lines.

``fill`` grows the process by 8 MiB a call (four calls, all kept: 32 MiB on
its one line); ``main`` then makes a 16 MiB scratch buffer on a line of its
own and drops it; at last the kept memory is freed.  ``churn`` runs many
lines that change RSS little, between the steps.

    python report_target.py
"""

MIB = 1 << 20


def fill(megabytes):
    # Filled, not just allocated: untouched pages would not count in RSS.
    return b"\x01" * (megabytes * MIB)


def churn(rounds):
    total = 0
    for i in range(rounds):
        total += len(str(i))
    return total


def main():
    kept = []
    for _ in range(4):
        kept.append(fill(8))
        churn(150)
    scratch = b"\x02" * (16 * MIB)
    churn(150)
    del scratch
    churn(150)
    kept.clear()
    churn(150)


if __name__ == "__main__":
    main()
