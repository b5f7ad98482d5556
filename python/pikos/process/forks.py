"""The one owner of what happens to a recording when the process forks,
calls ``os._exit`` or, as a recorded child, ends.

``fork`` (the callbacks registered once, at import):

- before: every enabled monitor's built-in recorder stops its writer thread,
  flushed, so that the child starts with no thread of pikos holding a lock
  (and ``os.fork`` on 3.12+ has no thread of ours to warn about);
- in the parent: the writers start again;
- in the child: every enabled monitor stops recording there (the child has
  none of the parent's pikos threads, and its copy of a recorder shares the
  parent's output, which stays the parent's); then the callbacks given to
  :func:`start_in_forked_children` run (``pikos-run --subprocesses``
  starts the child's own recording).

``os._exit`` (:func:`write_out_at_os_exit`, while ``pikos-run`` runs a
script, and in its recorded children): the recorders' file writers write
what they hold and stop first, so the files end with whole rows; the
sessions are not finalized, as no exit handler runs.

A recorded child's end (:func:`end_with_process`): ``atexit`` for a normal
exit, ``multiprocessing``'s finalizers for its children, which end with
``os._exit``, and a ``SIGTERM`` handler for a child that is terminated
(``Pool``'s exit terminates its workers): it finalizes the recording, then
puts the default disposition back and sends itself the signal again, so the
child still dies of ``SIGTERM``.  It is installed only where ``SIGTERM`` has
its default disposition, so a handler the program set (or inherited) stays
the program's.  A child that ends with ``os._exit`` itself, or is killed
otherwise, keeps the whole rows its writer wrote by then.

A monitor takes part by entering itself in :data:`ENABLED` while enabled;
it offers ``_stop_in_child()`` and ``_builtin`` (its built-in recorder, with
``_pikos_pause_for_fork`` and ``_pikos_resume_after_fork``, or None).
"""

import atexit
import os
import signal
import sys

#: The monitors enabled in this process, id -> weak reference.  A plain
#: dict, written directly by ``HookMonitor``: enable and disable must not
#: call Python code an enclosing monitor would record.
ENABLED = {}

#: Called in a forked child after its copies of the monitors stopped.
_CHILD_STARTS = []


def _enabled_monitors():
    for ref in list(ENABLED.values()):
        monitor = ref()
        if monitor is not None:
            yield monitor


def _builtin_recorders():
    for monitor in _enabled_monitors():
        if monitor._builtin is not None:
            yield monitor._builtin


def _pause_writers():
    """Before ``fork`` or ``os._exit``: the writers write what they hold
    and stop."""
    for recorder in _builtin_recorders():
        recorder._pikos_pause_for_fork()


def _resume_writers():
    for recorder in _builtin_recorders():
        recorder._pikos_resume_after_fork()


def _after_fork_in_child():
    for monitor in _enabled_monitors():
        monitor._stop_in_child()
    ENABLED.clear()
    for start in list(_CHILD_STARTS):
        start()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_pause_writers,
        after_in_parent=_resume_writers,
        after_in_child=_after_fork_in_child,
    )


def start_in_forked_children(start):
    """Call ``start()`` in every child forked from now on, after the
    parent's monitors stopped there (once, however often it is given)."""
    if start not in _CHILD_STARTS:
        _CHILD_STARTS.append(start)


def write_out_at_os_exit():
    """Wrap ``os._exit`` so that the recorders write out what they hold
    first: the files end with whole rows.  Idempotent: True when this call
    wrapped it (then :func:`restore_os_exit` undoes it)."""
    if getattr(os._exit, "_pikos", False):
        return False
    exit_now = os._exit

    def _exit(status):
        try:
            _pause_writers()
        finally:  # whatever happened there, the process leaves now
            exit_now(status)

    _exit._pikos = True
    _exit.__wrapped__ = exit_now
    _exit.__doc__ = exit_now.__doc__
    os._exit = _exit
    return True


def restore_os_exit():
    """Put back the ``os._exit`` that :func:`write_out_at_os_exit` wrapped,
    if ours is still in place (a replacement the program made stays)."""
    if getattr(os._exit, "_pikos", False):
        os._exit = os._exit.__wrapped__


# --- a recorded child's end ---------------------------------------------------


def end_with_process(monitor):
    """Disable ``monitor`` (finalizing its recording) however this process
    ends: at exit, through ``multiprocessing``'s finalizers before its
    ``os._exit``, or at ``SIGTERM``; and write out at any other
    ``os._exit``."""
    ending = _Ending(monitor)
    atexit.register(ending.finish)
    # multiprocessing's children end with os._exit, after its finalizers
    # (those with an exit priority run even then).  A forked child clears
    # the registry first, then runs the after-fork callbacks: the finalizer
    # is registered again there.  A monitor disabled twice is disabled once.
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        _finalize_with_multiprocessing(ending)
        util.register_after_fork(ending, _finalize_with_multiprocessing)
    write_out_at_os_exit()
    _end_at_sigterm(ending)


def _finalize_with_multiprocessing(ending):
    util = sys.modules["multiprocessing.util"]
    util.Finalize(None, ending.finish, exitpriority=-100)


class _Ending:
    """The end of a child's recording, from whichever way the child ends:
    at exit, through ``multiprocessing``'s finalizers, or at ``SIGTERM``.
    A ``SIGTERM`` that arrives while the recording is being finalized waits
    until it is, then ends the process."""

    def __init__(self, monitor):
        self.monitor = monitor
        self.finishing = False
        self.terminated = None  # the signal that waits for the end

    def finish(self):
        self.finishing = True
        try:
            self.monitor.disable()
        finally:
            self.finishing = False
            if self.terminated is not None:
                _die_of(self.terminated)

    def terminate(self, signum):
        if self.finishing:
            self.terminated = signum  # finish() ends the process
            return
        try:
            self.finish()
        finally:
            _die_of(signum)


def _end_at_sigterm(ending):
    """A ``SIGTERM`` finalizes the recording, then ends the process as the
    default disposition would (killed by ``SIGTERM``).  Only where the
    disposition is the default one (or ours, inherited through ``fork``
    with the parent's recording): the program's own handler, or an ignored
    signal, stays as it is."""
    global _TERMINATED
    if os.name != "posix":
        return
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, _terminated):
        return
    try:
        signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread: the default disposition stays
        return
    _TERMINATED = ending


#: The recording that ``_terminated`` ends.
_TERMINATED = None


def _terminated(signum, frame):
    """The ``SIGTERM`` handler of a recorded child (see ``_end_at_sigterm``)."""
    if _TERMINATED is None:
        _die_of(signum)
    _TERMINATED.terminate(signum)


def _die_of(signum):
    """End the process by ``signum`` with its default disposition."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
