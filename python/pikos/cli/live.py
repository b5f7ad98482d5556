"""``pikos live``: watch programs that stream their records while they run.

    pikos live [--connect ADDR | --bind ADDR | --replay FILE]

By default the viewer connects to :data:`pikos.live.DEFAULT_ADDRESS` (a
Unix socket only this user can reach), where ``pikos-run MONITOR script.py
--live`` publishes.  With ``--bind ADDR`` it
collects instead: it binds ``ADDR`` and any number of programs connect to it
(``pikos-run MONITOR script.py --live-connect=ADDR``).  Each program's
session gets a tab of its own, in the order they were first heard from.
With ``--replay FILE`` it plays a capture (``pikos-run ... --recording
capture``) as if its program were streaming it, and then keeps showing the
final state, as for a program that ended.

A memory monitor's tab shows the current RSS and VMS and a chart of both over
time; a ``stats`` tab shows the functions' running totals (calls, own time,
cumulative time), sorted as asked; any other monitor's tab shows its last
record.  The programs never wait for the viewer: messages it was too slow
for are lost, and counted.  Messages that do not follow the wire format
are dropped and counted too, and what is kept is bounded: at most
``MAX_SESSIONS`` tabs (the quietest is forgotten), ``MAX_QUEUED`` messages
waiting for the display, one record per tab (docs/security.md).

Keys: ``q`` quit; Tab, Right or ``l`` next tab; Shift-Tab, Left or ``h``
previous tab; ``1``-``9`` tab N; ``c``, ``o``, ``t``, ``n`` sort the
statistics by calls, own time, cumulative (total) time or name; ``p`` or
space pause the display (messages are still received and counted).

The display is curses, so a terminal is needed.  This module reads the
command line; the viewer is :mod:`pikos.viewer`: :mod:`~pikos.viewer.model`
holds what is shown and :mod:`~pikos.viewer.render` lays it out as text,
neither touching the terminal (both can be tested, or reused, without one),
:mod:`~pikos.viewer.receiver` reads the stream on a thread and
:mod:`~pikos.viewer.terminal` runs the curses loop.
"""

import sys

from pikos.cli._common import CommandError, Parser, UsageError, run_command
from pikos.live import DEFAULT_ADDRESS
from pikos.viewer.receiver import Receiver, check_address
from pikos.viewer.replay import Replay
from pikos.viewer.terminal import show


def _parser(prog):
    parser = Parser(
        prog=prog,
        description="Watch programs run with pikos-run ... --live (or "
        "--live-connect): their memory over time, or their functions' "
        "running statistics, one tab per program.",
        epilog="keys: q quit; Tab, Right, l next tab; Shift-Tab, Left, h "
        "previous; 1-9 tab N; c, o, t, n sort by calls, own time, total time, "
        "name; p or space pause.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--connect",
        metavar="ADDR",
        help="connect to a program publishing on ADDR (pikos-run ... "
        f"--live=ADDR); the default, on {DEFAULT_ADDRESS}",
    )
    where.add_argument(
        "--bind",
        metavar="ADDR",
        help="bind ADDR and collect the programs that connect to it "
        "(pikos-run ... --live-connect=ADDR); tcp://HOST:* picks a free port",
    )
    where.add_argument(
        "--replay",
        metavar="FILE",
        help="play a capture (pikos-run ... --recording capture) into the "
        "viewer, then keep showing its final state",
    )
    return parser


def _live(argv, prog):
    args = _parser(prog).parse_args(argv)
    bind = args.bind is not None
    if bind:
        address = args.bind
    else:
        address = args.connect if args.connect is not None else DEFAULT_ADDRESS
    if args.replay is not None:
        return _replay(args.replay)
    check_address(address, bind)
    _check_terminal()
    # Before curses starts, so that a bad or busy address is one plain line.
    receiver = Receiver(address, bind)
    endpoint = receiver.endpoint
    option = f"--live-connect={endpoint}" if bind else f"--live={endpoint}"
    waiting = (
        f"waiting for a program on {endpoint} (pikos-run MONITOR script.py {option})"
    )
    receiver.start()
    try:
        return show(receiver, waiting)
    except KeyboardInterrupt:  # Ctrl-C: quit, as q does
        return 0
    finally:
        receiver.stop()


def _replay(path):
    try:
        replay = Replay(path)
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot replay {path}: {error}") from None
    _check_terminal()
    replay.start()
    try:
        return show(replay, f"replaying {path}")
    except KeyboardInterrupt:
        return 0
    finally:
        replay.stop()


def _check_terminal():
    for name in ("stdout", "stdin"):
        stream = getattr(sys, name)
        if stream is None or not stream.isatty():
            raise UsageError(
                f"{name} is not a terminal: the viewer draws on one (run it in "
                "a terminal, not through a pipe or a file; pikos.live.subscribe "
                "reads the stream from Python)"
            )


def main(argv=None, prog="pikos live"):
    """Run ``pikos live ...``; return the exit status."""
    return run_command(prog, _live, argv)
