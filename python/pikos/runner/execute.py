"""The run of ``pikos-run``: the process made to look like ``python
script.py`` to the script, the script run under the monitor, its threads
waited for, the recording finalized, then the script's own outcome."""

import builtins
import sys
import threading
import types
from dataclasses import dataclass

from pikos import _native
from pikos.errors import RecorderError
from pikos.messages import CommandError
from pikos.process import forks
from pikos.runner import children
from pikos.runner.target import Target


@dataclass
class Plan:
    """Everything decided before the script runs."""

    target: Target
    monitor: object
    script_args: list
    #: what to do after the run (stats: print the table or write the file)
    report: object = None
    #: ``--subprocesses``: what the children record (children.plan_of)
    children: dict = None


def _enter(target, script_args):
    """Make this process look like ``python script.py args`` to the script;
    return the function that runs its code."""
    main = types.ModuleType("__main__")
    main.__dict__.update(target.namespace)
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    sys.argv = [target.argv0, *script_args]
    if not sys.flags.safe_path:
        sys.path[0:1] = [target.path0]
    # Called as a function, the module code runs with the module's dict as
    # its globals and locals, and its frame is the first one recorded.
    return types.FunctionType(target.code, main.__dict__)


def execute(plan, prog="pikos-run"):
    """Run the script under the monitor; return the exit status.

    The recorder is finalized after the script and its non-daemon threads
    end, whatever the outcome, so every record taken is written; then the
    outcome is the script's: its traceback and status 1 for an exception,
    its own status for ``sys.exit``, and ``KeyboardInterrupt`` re-raised so
    that the interpreter exits as it would have.  A recording that fails
    (midway or at the end) is reported in one line on stderr and does not
    change the exit status: the program's outcome is its own.
    """
    run_script = _enter(plan.target, plan.script_args)
    try:
        plan.monitor.enable()
    except (OSError, RecorderError) as error:
        raise CommandError(f"cannot start recording: {error}") from None
    if plan.children is not None:
        children.arm(plan.children)
    report = sys.unraisablehook
    wrapped_exit = forks.write_out_at_os_exit()
    sys.unraisablehook = _RecordingStopped(report, prog)
    outcome = None
    try:
        run_script()
    except BaseException as exc:  # the script's outcome, reported below
        outcome = exc
    # What follows is pikos' work, not the script's: the hook leaves this
    # thread, and the script's other threads are recorded until they end.
    plan.monitor.leave_thread()
    status = 0
    if outcome is not None and not isinstance(outcome, SystemExit | KeyboardInterrupt):
        _print_exception(outcome, plan.target.code)
        status = 1
    _wait_for_threads()
    try:
        plan.monitor.disable()
        if plan.report is not None:
            plan.report()
    except Exception as error:
        sys.stderr.write(f"{prog}: error: recording failed: {error}\n")
    # Ours put back (the script's own replacements, if any, stay).
    if isinstance(sys.unraisablehook, _RecordingStopped):
        sys.unraisablehook = report
    if wrapped_exit:
        forks.restore_os_exit()
    if isinstance(outcome, SystemExit):
        raise outcome
    if isinstance(outcome, KeyboardInterrupt):
        sys.excepthook = _ScriptExceptHook(sys.excepthook, plan.target.code)
        raise outcome
    return status


class _RecordingStopped:
    """``sys.unraisablehook`` while the script runs: a monitor that stopped
    recording midway (its recorder failed) is reported in one line; other
    reports go to the hook that was there."""

    def __init__(self, hook, prog):
        self._hook = hook
        self._prog = prog

    def __call__(self, args):
        if not isinstance(args.object, _native.Hook):
            return self._hook(args)
        sys.stderr.write(
            f"{self._prog}: error: recording stopped early: {args.exc_value}; "
            "the script goes on, and the records taken before are kept\n"
        )
        return None


def _wait_for_threads():
    """Shut threading down as the interpreter does before it exits: run the
    callbacks registered with ``threading._register_atexit`` (the ones that
    stop ``concurrent.futures`` workers), then join the non-daemon threads.
    The interpreter's own call later finds it done.  Ctrl-C while waiting
    stops the wait."""
    try:
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
            return
        current = threading.current_thread()
        while waiting := [
            t
            for t in threading.enumerate()
            if t is not current and not t.daemon and t.is_alive()
        ]:
            for thread in waiting:
                thread.join()
    except KeyboardInterrupt:
        return


def _script_traceback(tb, code):
    """``tb`` from the script's first frame on: pikos' own frames above it
    are not the script's, and Python would not show them."""
    start = tb
    while start is not None and start.tb_frame.f_code is not code:
        start = start.tb_next
    return tb if start is None else start


def _print_exception(exc, code):
    tb = _script_traceback(exc.__traceback__, code)
    sys.excepthook(type(exc), exc.with_traceback(tb), tb)


class _ScriptExceptHook:
    """The excepthook for an exception re-raised to the interpreter: the
    script's hook, shown the script's frames only."""

    def __init__(self, hook, code):
        self._hook = hook
        self._code = code

    def __call__(self, exc_type, exc, tb):
        tb = _script_traceback(tb, self._code)
        self._hook(exc_type, exc.with_traceback(tb), tb)
