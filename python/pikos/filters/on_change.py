"""Keep a record when a field changes."""

from pikos._specs import FilterSpec, NativeFilter
from pikos.filters.checks import check_field
from pikos.filters.on_value import field_position


class OnChange(NativeFilter):
    """A record filter that keeps a record when ``field`` differs from the
    previous record's value (the first record is always kept).

        >>> from pikos.monitors.records import LineRecord
        >>> f = OnChange("function")
        >>> [f(LineRecord(i, name, 1, "", "a.py")) for i, name in enumerate("aab")]
        [True, False, True]

    ``previous`` holds the field's value of the last record seen: None
    before the first (which is kept even when its value is None).  With the
    built-in recorders the comparison runs in pikos' core; then
    ``previous`` is not updated on this object.  Like the original, a filter
    instance keeps state: do not share one between recorders.
    """

    def __init__(self, field):
        check_field("OnChange", field)
        self.field = field
        self.previous = None
        self._seen = False

    def __call__(self, record):
        new = getattr(record, self.field)
        check = not self._seen or self.previous != new
        self.previous = new
        self._seen = True
        return check

    def _pikos_spec(self, fields):
        """The native form of this filter for records with ``fields``."""
        return FilterSpec("on_change", field_position("OnChange", self.field, fields))
