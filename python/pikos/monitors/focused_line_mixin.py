"""``FocusedLineMixin``: the original pikos' base of the focused line
monitors, combined with a line monitor as its documentation shows::

    class MyFocusedMonitor(FocusedLineMixin, LineMonitor):
        pass

    monitor = MyFocusedMonitor(recorder, functions=[work])
"""

from pikos.monitors.focus import FocusedMixin

__all__ = ["FocusedLineMixin"]


class FocusedLineMixin(FocusedMixin):
    """Makes a line monitor record only the lines of the frames of the
    functions in ``functions`` (not the lines of what they call).

    Public
    ------
    functions : FunctionSet
        The functions (methods, code objects) whose lines are recorded
        (keyword ``functions=`` of the constructor).
    """

    def on_line_event(self, frame, why, arg):
        """Record the line event when ``frame`` runs a focused function (the
        original pikos' extension point).  A frame outside the focus gets
        no local trace function: none of its lines can be recorded."""
        if frame.f_code in self._functions:
            return super().on_line_event(frame, why, arg)
        return None if why == "call" else self.on_line_event
