"""A real-time ``cProfile``: ``Profile``, ``run`` and ``runctx`` as the
standard library's ``cProfile`` has them, on
:class:`~pikos.monitors.stats_monitor.StatsMonitor`, whose running totals
also stream live (``pikos live`` shows them) while the program runs.

    python -m pikos.monitors.cProfile_rt [-o FILE] [-s SORT] script.py [args]
"""

import argparse
import marshal
import os
import sys
import warnings

from pikos.errors import RecorderError
from pikos.monitors.stats_monitor import StatsMonitor
from pikos.recorders.zeromq_recorder import ZeroMQRecorder

__all__ = ["Profile", "run", "runctx", "main"]


def _only_default(name, value, default):
    if value != default:
        raise ValueError(
            f"Profile({name}={value!r}) is not supported: pikos times with its "
            f"own clock and always records subcalls and builtins ({name} "
            f"must stay {default!r})"
        )


class Profile(StatsMonitor):
    """``cProfile.Profile`` on pikos' statistics: ``enable``/``disable``,
    ``create_stats``, ``print_stats``, ``dump_stats``, ``run``, ``runctx``,
    ``runcall``, a context manager, and ``pstats.Stats(profile)``, all as
    ``cProfile`` does them.  While enabled, the running totals are
    published on ``recorder``: by default a
    :class:`~pikos.recorders.zeromq_recorder.ZeroMQRecorder` at
    :data:`pikos.live.DEFAULT_ADDRESS`, where ``pikos live`` connects.
    ``recorder=False`` streams nothing.  When the live address cannot be
    bound (another program streams there), a warning says so and the
    profile goes on without streaming.

        >>> import pstats
        >>> profile = Profile(recorder=False)
        >>> profile.runcall(sorted, [3, 1, 2])
        [1, 2, 3]
        >>> [name for _, _, name in pstats.Stats(profile).stats]
        ['<built-in method builtins.sorted>']

    Unlike ``cProfile``, ``timer``, ``timeunit``, ``subcalls=False`` and
    ``builtins=False`` are not supported (``ValueError``), and there is no
    ``getstats()``.
    """

    def __init__(
        self,
        timer=None,
        timeunit=0.0,
        subcalls=True,
        builtins=True,
        *,
        recorder=None,
        publish_every=0.25,
    ):
        _only_default("timer", timer, None)
        _only_default("timeunit", timeunit, 0.0)
        _only_default("subcalls", subcalls, True)
        _only_default("builtins", builtins, True)
        if recorder is None:
            recorder = ZeroMQRecorder()
        elif recorder is False:
            recorder = None
        super().__init__(recorder, publish_every=publish_every)

    def enable(self, subcalls=True, builtins=True):
        """Start profiling (again: nothing more, as ``cProfile``)."""
        _only_default("subcalls", subcalls, True)
        _only_default("builtins", builtins, True)
        if self._depth:
            return
        try:
            super().enable()
        except (OSError, RecorderError) as error:
            if self._recorder is None:
                raise
            # Streaming is extra: the profile itself goes on without it.
            warnings.warn(
                f"pikos.monitors.cProfile_rt: not streaming live ({error}); "
                "profiling goes on",
                RuntimeWarning,
                stacklevel=2,
            )
            self._recorder = self._builtin = None
            super().enable()

    def disable(self):
        """Stop profiling (however many times ``enable`` was called)."""
        if self._depth:
            self._depth = 1
        super().disable()

    def create_stats(self):
        """Stop profiling and set ``stats`` to the totals (what
        ``pstats.Stats(profile)`` calls), as ``cProfile`` does."""
        self.disable()
        self.snapshot_stats()

    def snapshot_stats(self):
        """Set ``stats`` to the totals so far."""
        self.stats = self.snapshot()

    def print_stats(self, sort=-1):
        """Print the table ``cProfile`` prints (``sort`` as ``cProfile``'s:
        -1 is the standard name order)."""
        import pstats

        pstats.Stats(self).strip_dirs().sort_stats(sort).print_stats()

    def dump_stats(self, file):
        """Stop profiling and write the totals as a ``.pstats`` file."""
        self.create_stats()
        data = marshal.dumps(self.stats)
        with open(os.fspath(file), "wb") as f:
            f.write(data)

    def run(self, cmd):
        """Profile ``exec(cmd)`` in ``__main__``'s namespace; return self."""
        import __main__

        namespace = __main__.__dict__
        return self.runctx(cmd, namespace, namespace)

    def runctx(self, cmd, globals, locals):
        """Profile ``exec(cmd, globals, locals)``; return self."""
        self.enable()
        try:
            exec(cmd, globals, locals)
        finally:
            self.disable()
        return self

    def runcall(self, func, /, *args, **kw):
        """Profile ``func(*args, **kw)``; return its result."""
        self.enable()
        try:
            return func(*args, **kw)
        finally:
            self.disable()

    def __enter__(self):
        self.enable()
        return self

    def __exit__(self, *exc_info):
        self.disable()


def _report(profile, filename, sort):
    if filename is not None:
        profile.dump_stats(filename)
    else:
        profile.print_stats(sort)


def run(statement, filename=None, sort=-1):
    """Profile ``exec(statement)`` in ``__main__``; then write the totals
    to ``filename`` (a ``.pstats`` file), or print them sorted by ``sort``."""
    profile = Profile()
    try:
        profile.run(statement)
    except SystemExit:
        pass
    finally:
        _report(profile, filename, sort)


def runctx(statement, globals, locals, filename=None, sort=-1):
    """:func:`run` with the namespaces given."""
    profile = Profile()
    try:
        profile.runctx(statement, globals, locals)
    except SystemExit:
        pass
    finally:
        _report(profile, filename, sort)


def main(argv=None):
    """``python -m pikos.monitors.cProfile_rt``: ``python -m cProfile``'s
    options (``-o``, ``-s``, ``-m``), the totals streamed live meanwhile."""
    from pikos.runner.target import ScriptError, load_target

    parser = argparse.ArgumentParser(
        prog="python -m pikos.monitors.cProfile_rt",
        usage="%(prog)s [-o output_file_path] [-s sort] [-m module | scriptfile] "
        "[arg] ...",
    )
    parser.add_argument("-o", "--outfile", help="Save stats to <outfile>")
    parser.add_argument(
        "-s", "--sort", default=-1, help="Sort order when printing to stdout"
    )
    parser.add_argument("-m", dest="module", help="Profile a library module")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if options.module is None and not options.args:
        parser.print_usage()
        return 2
    script = None if options.module is not None else options.args.pop(0)
    try:
        target = load_target(script, options.module)
    except ScriptError as failure:
        raise failure.error from None
    except Exception as error:  # nothing to run: said as cProfile says it
        parser.error(str(error))
    if options.outfile is not None:
        options.outfile = os.path.abspath(options.outfile)
    sys.argv[:] = [target.argv0, *options.args]
    sys.path.insert(0, target.path0)
    namespace = {**target.namespace, "__name__": "__main__"}
    runctx(target.code, namespace, None, options.outfile, options.sort)
    return 0


if __name__ == "__main__":
    sys.exit(main())
