"""``KeepTrack``: a counter of nested ``'ping'``/``'pong'`` calls.

The original pikos documented it (``pikos._internal.keep_track``) as what
monitors use to know the outermost ``enable``/``disable`` of a re-entrant
context manager, and what the focused function monitors keep per focused
code object (``_code_trackers``)::

    >>> tracker = KeepTrack()
    >>> tracker('ping'), tracker('ping')   # True only for the first
    (True, False)
    >>> bool(tracker)                      # inside
    True
    >>> tracker('pong'), tracker('pong')   # True only for the last
    (False, True)
    >>> bool(tracker)
    False
"""

__all__ = ["KeepTrack"]


class KeepTrack:
    """Counts nesting: ``tracker('ping')`` enters a level and returns True
    when it was the first, ``tracker('pong')`` leaves one and returns True
    when it was the last.  A ``'pong'`` with no level open returns False and
    changes nothing (an unbalanced exit is harmless).  The tracker is true
    while a level is open."""

    __slots__ = ("_depth",)

    def __init__(self, depth=0):
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
            raise ValueError(f"KeepTrack depth must be an int >= 0, not {depth!r}")
        self._depth = depth

    def __call__(self, message):
        if message == "ping":
            self._depth += 1
            return self._depth == 1
        if message == "pong":
            if self._depth == 0:
                return False
            self._depth -= 1
            return self._depth == 0
        raise ValueError(f"KeepTrack takes 'ping' or 'pong', not {message!r}")

    @property
    def depth(self):
        """How many levels are open."""
        return self._depth

    def __bool__(self):
        return self._depth > 0

    def __repr__(self):
        return f"KeepTrack(depth={self._depth})"
