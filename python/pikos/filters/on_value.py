"""Keep records whose field has one of the given values."""

from pikos._specs import FilterSpec, NativeFilter
from pikos.filters.checks import check_field, check_values

_NATIVE_VALUE_TYPES = (int, float, str, bool, type(None))


def field_position(filter_name, field, fields):
    """Index of ``field`` in ``fields``, or ValueError naming both."""
    try:
        return list(fields).index(field)
    except ValueError:
        raise ValueError(
            f"{filter_name}: unknown field {field!r}; the records have the "
            f"fields {', '.join(fields)}"
        ) from None


class OnValue(NativeFilter):
    """A record filter that keeps a record when ``field`` is one of ``values``.

        >>> from pikos.monitors.records import FunctionRecord
        >>> keep_calls = OnValue("type", "call", "c_call")
        >>> keep_calls(FunctionRecord(0, "call", "f", 1, "a.py"))
        True

    With the built-in recorders the comparison runs in pikos' core, without
    making a Python record per event.  At least one value is needed, and for
    the fields of pikos' records each must be of the field's kind (numbers
    for ``index``, ``lineNo``, ``RSS``, ``VMS``, ``time``, ``thread``; text
    for the others): ``OnValue("lineNo", "6")`` raises ``TypeError``.
    """

    _kind = "on_value"

    def __init__(self, field, *args):
        name = type(self).__name__
        check_field(name, field)
        check_values(name, field, args)
        self.field = field
        self.values = list(args)

    def __call__(self, record):
        return getattr(record, self.field) in self.values

    def _pikos_spec(self, fields):
        """The native form of this filter for records with ``fields``, or
        None when a value cannot be compared natively."""
        at = field_position(type(self).__name__, self.field, fields)
        if not all(type(v) in _NATIVE_VALUE_TYPES for v in self.values):
            return None
        return FilterSpec(self._kind, at, tuple(self.values))
