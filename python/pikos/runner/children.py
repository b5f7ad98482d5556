"""``pikos-run --subprocesses``: the script's child processes record too,
each into its own output, named after the parent's with the child's pid
before its ending (``monitor_records.csv`` -> ``monitor_records.4242.csv``),
or, with ``--live-connect ADDR``, to the same collector as the parent (a
viewer that binds ADDR tells the processes apart by pid).

Two ways in, so that every kind of child is covered:

- ``fork`` (``os.fork``, ``multiprocessing``'s fork start method, the
  children of a ``forkserver``): after the fork, the child's copy of the
  parent's monitor stops (as always: the parent's output stays the
  parent's), and a new monitor starts in the child;
- a new Python process (``multiprocessing``'s spawn and forkserver start
  methods, ``subprocess`` running ``sys.executable``): ``pikos-run`` puts
  ``pikos/_boot`` first on ``PYTHONPATH`` and the run's plan in
  ``PIKOS_SUBPROCESSES``; that directory's ``sitecustomize`` starts the
  monitor when the child's interpreter starts.

A child's session ends at its exit: ``atexit`` for a normal exit,
``multiprocessing``'s finalizers for its children, which end with
``os._exit``, and a ``SIGTERM`` handler for a child that is terminated
(``Pool``'s exit terminates its workers): it finalizes the recording, then
puts the default disposition back and sends itself the signal again, so the
child still dies of ``SIGTERM``.  It is installed only where ``SIGTERM`` has
its default disposition, so a handler the program set (or inherited) stays
the program's.  A child that ends with ``os._exit`` itself, or is killed
otherwise, keeps the whole rows its writer wrote by then.
"""

import atexit
import json
import os
import signal
import sys

#: The environment variable that carries the plan to new Python processes.
ENVIRONMENT = "PIKOS_SUBPROCESSES"
#: The directory of the ``sitecustomize`` that reads it.
BOOT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_boot"
)

#: The plan this process was started with, or armed, if any.
_PLAN = None


def child_output(path, pid):
    """``path`` with ``.PID`` before its ending: a timeline's two-part
    ending (``.speedscope.json``) or the last extension; after the name of
    a callgrind file (``callgrind.out.NAME``), which has none."""
    from pikos.recorders.trace_recorders import CALLGRIND_PREFIX, IMPLIED

    directory, name = os.path.split(path)
    lowered = name.lower()
    if lowered.startswith(CALLGRIND_PREFIX):
        return os.path.join(directory, f"{name}.{pid}")
    ending = next((e for e in IMPLIED if lowered.endswith(e)), None)
    if ending is None:
        stem, ending = os.path.splitext(name)
    else:
        stem, ending = name[: -len(ending)], name[-len(ending) :]
    return os.path.join(directory, f"{stem}.{pid}{ending}")


def plan_of(monitor, recording, output, buffered, timed, live=None):
    """What a child needs to record as the parent does (JSON-able): into a
    file named after ``output``, or to the collector at ``live`` (an
    address to connect to)."""
    return {
        "monitor": monitor,
        "recording": recording,
        "output": None if output is None else os.path.abspath(output),
        "buffered": bool(buffered),
        "timed": bool(timed),
        "live": live,
    }


def arm(plan):
    """In ``pikos-run``, before the script runs: children started from now
    on record (see the module's notes)."""
    global _PLAN
    _PLAN = plan
    os.environ[ENVIRONMENT] = json.dumps(plan)
    paths = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = BOOT + (os.pathsep + paths if paths else "")
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_start_after_fork)


def start_from_environment():
    """At the start of a Python process that ``pikos-run --subprocesses``
    (or one of its children) started: record it.  A plan that cannot be
    read or used is reported on stderr; the process runs on."""
    text = os.environ.get(ENVIRONMENT)
    if not text:
        return
    global _PLAN
    try:
        _PLAN = json.loads(text)
        _start(_PLAN)
    except Exception as error:  # noqa: BLE001 - the child must run anyway
        sys.stderr.write(
            f"pikos: this process ({os.getpid()}) is not recorded: {error}\n"
        )
        return
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_start_after_fork)


def _start_after_fork():
    if _PLAN is None:
        return
    try:
        _start(_PLAN)
    except Exception as error:  # noqa: BLE001 - the child must run anyway
        sys.stderr.write(
            f"pikos: this process ({os.getpid()}) is not recorded: {error}\n"
        )


def _start(plan):
    """Record this process as ``plan`` says, until it exits."""
    from pikos.recorders.zeromq_recorder import ZeroMQRecorder
    from pikos.runner.recording import LIVE_WAIT_SECONDS, MONITORS, make_recorder

    if plan.get("live"):
        recorder = ZeroMQRecorder(
            address=plan["live"],
            connect=True,
            wait_for_ready=plan.get("live_wait", False),
            ready_timeout=LIVE_WAIT_SECONDS,
        )
    else:
        output = child_output(plan["output"], os.getpid())
        recorder = make_recorder(plan["recording"], output, plan["buffered"])
    monitor_class = MONITORS[plan["monitor"]][0]
    options = {"timed": True} if plan["timed"] else {}
    monitor = monitor_class(recorder, **options)
    ending = _end_at_exit(monitor)
    write_out_at_os_exit()
    _end_at_sigterm(ending)
    monitor.enable()


def write_out_at_os_exit():
    """``os._exit`` writes out what the recorders hold first (see
    ``HookMonitor.write_out_before_exit``): the files end with whole rows.
    Idempotent."""
    if getattr(os._exit, "_pikos", False):
        return
    exit_now = os._exit

    def _exit(status):
        from pikos.monitors.hook_monitor import write_out_before_exit

        write_out_before_exit()
        exit_now(status)

    _exit._pikos = True
    _exit.__wrapped__ = exit_now
    _exit.__doc__ = exit_now.__doc__
    os._exit = _exit


def _end_at_exit(monitor):
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
    return ending


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
