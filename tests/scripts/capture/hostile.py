# Text that CSV and text must quote, escape or keep: commas, quotes, tabs,
# backslashes, non-ASCII, a name that is not an identifier a CSV likes.
import sys


def ünïcode_name(a, b):
    s = "a,b" + 'c"d' + "\t"  # comma, "quotes", tab
    t = "back\\slash \u00e9 \U0001f600"
    return len(s + t) + a + b


class Klass:
    def method(self, n):
        return [ünïcode_name(i, n) for i in range(n)]


f = lambda x: x + 1  # noqa: E731
total = 0
for i in range(6):
    total += sum(Klass().method(i)) + f(i)
sorted([3, 1, 2], key=lambda v: -v)
sys.stdout.write(f"{total}\n")
