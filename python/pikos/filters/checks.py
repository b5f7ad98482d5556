"""What the built-in filters and the recorders check at construction, so a
bad filter fails where it is written, not at the first event (or never)."""

import numbers

from pikos import _native

#: Fields of the built-in records by kind of value (the core's layouts).
INTEGER_FIELDS = frozenset(_native.INTEGER_FIELDS)
TEXT_FIELDS = frozenset(_native.TEXT_FIELDS)


def check_field(filter_name, field):
    """``field`` must be a field name."""
    if not isinstance(field, str):
        raise TypeError(f"{filter_name}: the field must be a name (str), not {field!r}")


def check_values(filter_name, field, values):
    """At least one value, each of the kind the field holds (for the fields
    of the built-in records; a custom record's fields take any value)."""
    if not values:
        raise ValueError(
            f"{filter_name}({field!r}) has no values: it would keep "
            "nothing (OnValue) or everything (NotOnValue); give the values "
            f"to compare, {filter_name}({field!r}, value, ...)"
        )
    if field in INTEGER_FIELDS:
        kind, wanted = "a number", numbers.Real
    elif field in TEXT_FIELDS:
        kind, wanted = "text", str
    else:
        return
    for value in values:
        if not isinstance(value, wanted):
            raise TypeError(
                f"{filter_name}: {field} is {kind}, not {value!r} "
                f"({type(value).__name__}); a record's {field} never equals it"
            )


def check_filter(filter_):
    """A recorder's ``filter_``: None or a callable ``record -> bool``."""
    if filter_ is not None and not callable(filter_):
        raise TypeError(
            f"filter_ must be callable (record -> bool) or None, not "
            f"{filter_!r} ({type(filter_).__name__})"
        )
    return filter_
