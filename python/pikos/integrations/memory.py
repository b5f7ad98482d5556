"""Peak memory of a stretch of code, for the ``pikos_limit(rss_growth=...)``
marker and ``%pikos_memit``: the kernel's own high-water mark, reset at the
start, so a peak between two samples is never missed."""

import re

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"
_RESET_PEAK = "5"  # proc(5): "reset the peak resident set size"


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_size(value, what):
    """Bytes from ``50 MiB``, ``1.5 GB``, ``4096`` (bytes) or an int.
    A ValueError names ``what`` and the accepted forms otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None or match.group(2).lower() not in _UNITS:
        raise ValueError(
            f"{what} must be a size such as '50 MiB', '1.5 GB' or a number of "
            f"bytes, not {value!r} (units: B, KB, KiB, MB, MiB, GB, GiB)"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _status_kib(*fields):
    with open(_STATUS, encoding="ascii") as status:
        text = status.read()
    values = []
    for field in fields:
        found = re.search(rf"^{field}:\s+(\d+) kB$", text, re.M)
        if found is None:
            raise OSError(f"{_STATUS} has no {field} line")
        values.append(int(found.group(1)) * 1024)
    return values


class PeakUnavailable(OSError):
    """This system cannot measure peak memory (not Linux)."""


class PeakRSS:
    """``with PeakRSS() as peak: ...`` then ``peak.start`` (RSS at entry),
    ``peak.peak`` (the highest RSS in between) and ``peak.growth`` (their
    difference), in bytes.  Linux only (``/proc/self/clear_refs``);
    elsewhere PeakUnavailable, naming the reason, at entry."""

    def __init__(self):
        self.start = self.peak = None

    def __enter__(self):
        try:
            with open(_CLEAR_REFS, "w", encoding="ascii") as refs:
                refs.write(_RESET_PEAK)
            (self.start,) = _status_kib("VmRSS")
        except OSError as error:
            raise PeakUnavailable(
                "measuring peak memory needs Linux's /proc/self/clear_refs "
                f"and /proc/self/status: {error}"
            ) from None
        return self

    def __exit__(self, *exc):
        (self.peak,) = _status_kib("VmHWM")
        return False

    @property
    def growth(self):
        return self.peak - self.start
