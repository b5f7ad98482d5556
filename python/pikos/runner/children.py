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

A child's session ends however the child ends: see
:func:`pikos.process.forks.end_with_process`.
"""

import json
import os
import sys

from pikos.process.forks import end_with_process, start_in_forked_children

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
    start_in_forked_children(_start_after_fork)


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
    start_in_forked_children(_start_after_fork)


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
    end_with_process(monitor)
    monitor.enable()
