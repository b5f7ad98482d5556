"""Exceptions raised by pikos."""


class PikosError(Exception):
    """Base class of pikos' own errors."""


class RecorderError(PikosError):
    """A recorder was used out of order (record or finalize before prepare)."""
