"""Recorders that write timed function records in the formats viewers and
profiling tools open: speedscope, Chrome trace events (Perfetto,
``chrome://tracing``), collapsed stacks (flame graphs), pprof (``go tool
pprof``, Pyroscope, Parca, Grafana) and callgrind (KCachegrind).

Records are spooled as CSV by the core's writer thread, as
:class:`~pikos.recorders.csv_file_recorder.CSVFileRecorder` writes them (the
program never waits for the format), to a private file beside the output:
made when the recorder is, with an unpredictable name, ``O_EXCL`` and mode
0600 (``tempfile.mkstemp``), and opened by the core without following a
link.  At ``finalize`` the core converts the spool into the output file (all
the sessions so far: a decorated function called twice gives one file with
both calls), written as ``open(path, "w")`` would (see ``export::convert``).
The spool is deleted when the recorder is, or at exit; if a conversion
fails, it is kept and the error names it, so no record is lost (``pikos
export`` converts it later).
"""

import os
import sys
import tempfile
import threading
import weakref

from pikos import _native
from pikos.errors import RecorderError
from pikos.filters.checks import check_filter
from pikos.recorders.csv_recorder import CSVRecorder
from pikos.recorders.sink_recorder import OwnFileRecorder, check_output_path

__all__ = [
    "SpeedscopeRecorder",
    "ChromeTraceRecorder",
    "CollapsedStackRecorder",
    "PprofRecorder",
    "CallgrindRecorder",
]


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def as_text(name):
    """``name`` as text the formats can hold: a surrogate escape (a byte of
    a name that is not UTF-8) backslash-escaped, as records write it."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def thread_names():
    """Names of the threads alive now, by ``threading.get_ident()``."""
    return {
        thread.ident: thread.name
        for thread in threading.enumerate()
        if thread.ident is not None
    }


def program_name():
    """The name a profile gets by default: the running script's."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    return os.path.basename(argv0) or "python"


#: how callgrind files are named (``callgrind.out.NAME``): the tools look for it
CALLGRIND_PREFIX = "callgrind.out."


class _TraceRecorder(OwnFileRecorder, CSVRecorder):
    """Spool timed function records as CSV, convert at ``finalize``."""

    _pikos_needs_timed = True
    _format = None
    #: the spool is ours alone: opened without following a link (OwnFileRecorder)
    _private = True

    def __init__(self, filename, filter_=None, *, name=None):
        output = check_output_path(filename)
        check_filter(filter_)  # before the spool is made: nothing left over
        directory, base = os.path.split(os.path.abspath(output))
        self._output = output
        self._name = None if name is None else str(name)
        self._summary = None
        self._names = {}
        try:
            descriptor, spool = tempfile.mkstemp(
                prefix=f".{base}.", suffix=".pikos-spool.csv", dir=directory
            )
        except OSError as error:
            raise RecorderError(
                f"{type(self).__name__} cannot write beside {output}: "
                f"{error.strerror or error}"
            ) from None
        os.close(descriptor)
        self._spool_cleanup = weakref.finalize(self, _remove, spool)
        self._init_file(spool, False)
        CSVRecorder.__init__(self, None, filter_)

    @property
    def filename(self):
        """The output file (written at ``finalize``)."""
        return self._output

    @property
    def spool(self):
        """The CSV file the records are spooled to until ``finalize``."""
        return self._filename

    @property
    def summary(self):
        """What the last conversion saw: records, calls, unmatched returns,
        unfinished calls, threads, frames (None before the first)."""
        return self._summary

    def _pikos_thread_names(self, names):
        """The monitor's threads, by ident (those that ended included)."""
        self._names.update(names)

    def _pikos_forget_after_fork(self):
        """In a forked child: the spool stays the parent's, never removed
        by this copy."""
        super()._pikos_forget_after_fork()
        self._spool_cleanup.detach()

    def _open(self, record_type, kind, fields):
        if "time" not in fields or "thread" not in fields:
            given = getattr(record_type, "__name__", record_type)
            raise RecorderError(
                f"{type(self).__name__} needs timed function records (with "
                f"time and thread fields), not {given}"
            )
        return super()._open(record_type, kind, fields)

    def finalize(self):
        """Close the spool and write the output file from it (once: again
        after that, nothing to do)."""
        if not self._ready and self._sessions > 0:
            return
        super().finalize()
        try:
            self._summary = _native.export_trace(
                self._filename,
                self._output,
                self._format,
                name=as_text(program_name() if self._name is None else self._name),
                pid=os.getpid(),
                thread_names={
                    ident: as_text(name)
                    for ident, name in {**self._names, **thread_names()}.items()
                },
            )
        except (OSError, ValueError) as error:
            self._spool_cleanup.detach()
            raise RecorderError(
                f"{type(self).__name__} could not write {self._output}: {error}; "
                f"the records are kept in {self._filename} (convert them with "
                f"`pikos export {self._filename} --format {self._format}`)"
            ) from error


class SpeedscopeRecorder(_TraceRecorder):
    """Write a speedscope profile (https://www.speedscope.app): one evented
    profile per thread, frames shared, times in nanoseconds.

    ``name`` names the profile (default: the running script's file name,
    as ``sys.argv[0]`` has it at the end of the session).  Use it
    with a function monitor; the monitor then records time and thread::

        with FunctionMonitor(SpeedscopeRecorder("profile.speedscope.json")):
            work()
    """

    _format = "speedscope"

    def __init__(
        self, filename="monitor_records.speedscope.json", filter_=None, *, name=None
    ):
        super().__init__(filename, filter_, name=name)


class ChromeTraceRecorder(_TraceRecorder):
    """Write Chrome trace events (JSON object format): balanced ``B``/``E``
    events per thread, with the process and thread names as metadata. It
    opens in Perfetto (https://ui.perfetto.dev) and ``chrome://tracing``."""

    _format = "chrome"

    def __init__(
        self, filename="monitor_records.trace.json", filter_=None, *, name=None
    ):
        super().__init__(filename, filter_, name=name)


class CollapsedStackRecorder(_TraceRecorder):
    """Write collapsed stacks, ``main (app.py:3);work (app.py:9) 1200``: one
    line per distinct stack with its own time in nanoseconds, the input of
    flamegraph.pl, inferno and speedscope's importer."""

    _format = "collapsed"

    def __init__(
        self, filename="monitor_records.collapsed.txt", filter_=None, *, name=None
    ):
        super().__init__(filename, filter_, name=name)


class PprofRecorder(_TraceRecorder):
    """Write a pprof profile (``profile.proto``, gzipped), what ``go tool
    pprof``, Pyroscope, Parca and Grafana read: one sample per distinct
    stack and thread with two values, ``calls/count`` (exact calls) and
    ``wall/nanoseconds`` (own time), the thread's name as a label; builtins
    are frames of their own."""

    _format = "pprof"

    def __init__(self, filename="monitor_records.pb.gz", filter_=None, *, name=None):
        super().__init__(filename, filter_, name=name)


class CallgrindRecorder(_TraceRecorder):
    """Write a callgrind file (KCachegrind, QCachegrind,
    ``callgrind_annotate``): one event, wall time in nanoseconds; each
    function's own time, and per caller and callee the calls made and
    their inclusive time.  The tools find these files by their
    ``callgrind.out.`` prefix."""

    _format = "callgrind"

    def __init__(
        self, filename=f"{CALLGRIND_PREFIX}monitor_records", filter_=None, *, name=None
    ):
        super().__init__(filename, filter_, name=name)


def default_name(fmt, stem):
    """The output name of format ``fmt`` for ``stem``: the format's ending
    after it (``run`` -> ``run.speedscope.json``), or for callgrind its
    prefix before the file name (``callgrind.out.run``, as the tools look
    for it)."""
    if fmt == "callgrind":
        directory, base = os.path.split(stem)
        return os.path.join(directory, CALLGRIND_PREFIX + base)
    return stem + ENDINGS[fmt]


#: format -> the ending of its default output name (callgrind: a prefix)
ENDINGS = {
    "speedscope": ".speedscope.json",
    "chrome": ".trace.json",
    "collapsed": ".collapsed.txt",
    "pprof": ".pb.gz",
}

#: the formats, in the order the commands list them
FORMATS = (*ENDINGS, "callgrind")

#: output name endings that choose a format when --format is absent
IMPLIED = {
    ".speedscope.json": "speedscope",
    ".trace.json": "chrome",
    ".collapsed.txt": "collapsed",
    ".folded": "collapsed",
    ".pb.gz": "pprof",
    ".pprof": "pprof",
}


def implied_format(name):
    """The format an output name implies: its ending (see ``IMPLIED``), or
    callgrind for a file name that starts with ``callgrind.out``; else
    None."""
    name = (name or "").lower()
    if os.path.basename(name).startswith(CALLGRIND_PREFIX):
        return "callgrind"
    for ending, implied in IMPLIED.items():
        if name.endswith(ending):
            return implied
    return None
