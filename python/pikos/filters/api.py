"""The built-in record filters."""

from pikos.filters.not_on_value import NotOnValue
from pikos.filters.on_change import OnChange
from pikos.filters.on_value import OnValue

__all__ = ["OnValue", "NotOnValue", "OnChange"]
