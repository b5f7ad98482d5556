"""Keep records whose field has none of the given values."""

from pikos.filters.on_value import OnValue


class NotOnValue(OnValue):
    """A record filter that drops a record when ``field`` is one of
    ``values`` (the opposite of :class:`~pikos.filters.on_value.OnValue`).

        >>> from pikos.monitors.records import FunctionRecord
        >>> NotOnValue("type", "c_call")(FunctionRecord(0, "call", "f", 1, "a.py"))
        True
    """

    _kind = "not_on_value"

    def __call__(self, record):
        return getattr(record, self.field) not in self.values
