"""The machinery shared by the built-in monitors: a native interpreter hook
(``pikos._native.Hook``) fed to a recorder.

Built-in recorders with built-in (or no) filters receive events natively:
no Python object is made per event.  Any other recorder, a Python callable as
filter, or a custom ``record_type`` takes the documented slow path: the hook
builds each record and calls ``recorder.record(record)``.
"""

from pikos import _native
from pikos.monitors.monitor import Monitor
from pikos.monitors.records import RECORD_CLASSES

_PROTOCOL = ("prepare", "record", "finalize")


def check_recorder(recorder):
    """Raise TypeError unless ``recorder`` has prepare/record/finalize."""
    missing = [
        name for name in _PROTOCOL if not callable(getattr(recorder, name, None))
    ]
    if missing:
        raise TypeError(
            f"{recorder!r} is not a recorder: it has no callable "
            f"{', '.join(missing)} (a recorder needs prepare(record_type), "
            "record(data) and finalize())"
        )


class HookMonitor(Monitor):
    """A monitor backed by a native hook.  Subclasses set ``_kind``."""

    _kind = None

    def __init__(self, recorder, record_type=None):
        check_recorder(recorder)
        self._recorder = recorder
        self._default_record = RECORD_CLASSES[self._kind]
        self._record_type = self._default_record if record_type is None else record_type
        self._hook = _native.Hook(self._kind)
        self._depth = 0

    @property
    def recorder(self):
        """The recorder this monitor feeds."""
        return self._recorder

    @property
    def record_type(self):
        """The class of the records this monitor emits."""
        return self._record_type

    def enable(self):
        """Install the hook and prepare the recorder (outermost call only)."""
        self._depth += 1
        if self._depth > 1:
            return
        try:
            self._install()
        except BaseException:
            self._depth = 0
            raise

    def _install(self):
        record_type = self._record_type
        native_ok = record_type is self._default_record or record_type is tuple
        prepare_native = getattr(self._recorder, "_pikos_prepare", None)
        if prepare_native is not None:
            sink = prepare_native(record_type, self._kind, native_ok)
        else:
            self._recorder.prepare(record_type)
            sink = None
        # Installing the hook is the last thing enable does: the events of
        # its own return are pikos' frames and are never recorded.
        if sink is not None:
            self._hook.install(sink=sink)
        else:
            self._hook.install(
                recorder=self._recorder,
                record_type=None if record_type is tuple else record_type,
            )

    def disable(self):
        """Remove the hook and finalize the recorder (outermost call only)."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth:
            return
        # Removing the hook is the first thing disable does.
        self._hook.uninstall()
        self._recorder.finalize()
