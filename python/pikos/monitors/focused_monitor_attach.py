"""``FocusedMonitorAttach``: ``MonitorAttach`` for focused monitors, which
can add the decorated function to the functions the monitor focuses on."""

from pikos.monitors.monitor_attach import MonitorAttach

__all__ = ["FocusedMonitorAttach"]


class FocusedMonitorAttach(MonitorAttach):
    """A :class:`~pikos.monitors.monitor_attach.MonitorAttach` for a focused
    monitor (one with ``functions``).  With ``include_decorated=True`` each
    decorated function also joins the monitor's ``functions``, so that the
    monitor records inside it."""

    def __init__(self, obj, include_decorated=False):
        super().__init__(obj)
        if include_decorated and getattr(obj, "functions", None) is None:
            raise TypeError(
                f"include_decorated=True needs a focused monitor (one with "
                f"'functions'), not {obj!r}"
            )
        self._include_decorated = bool(include_decorated)

    def _wrap(self, function):
        if self._include_decorated:
            self._monitor_object.functions.add(function)
        return super()._wrap(function)
