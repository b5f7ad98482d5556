"""What ``pikos-run`` records with: the monitor kinds by name, the
recordings (output formats) with their default files, and the recorder a
recording and an output make.  Shared by the run itself and by the
children ``--subprocesses`` records (``pikos.runner.children``)."""

import os
import sys

from pikos.kinds import KINDS, TIMED_KINDS
from pikos.messages import UsageError, check_writable
from pikos.monitors.api import (
    FocusedFunctionMemoryMonitor,
    FocusedFunctionMonitor,
    FocusedLineMemoryMonitor,
    FocusedLineMonitor,
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    LineMonitor,
    LineStatsMonitor,
    StatsMonitor,
)
from pikos.recorders.csv_file_recorder import CSVFileRecorder
from pikos.recorders.csv_recorder import CSVRecorder
from pikos.recorders.text_file_recorder import TextFileRecorder
from pikos.recorders.text_stream_recorder import TextStreamRecorder
from pikos.recorders.trace_recorders import (
    FORMATS,
    CallgrindRecorder,
    ChromeTraceRecorder,
    CollapsedStackRecorder,
    PprofRecorder,
    SpeedscopeRecorder,
    default_name,
    implied_format,
)

#: monitor name (the kind's, pikos.kinds) -> (monitor, focused monitor)
MONITORS = {
    **{
        KINDS[monitor._kind].monitor: (monitor, focused)
        for monitor, focused in (
            (FunctionMonitor, FocusedFunctionMonitor),
            (LineMonitor, FocusedLineMonitor),
            (FunctionMemoryMonitor, FocusedFunctionMemoryMonitor),
            (LineMemoryMonitor, FocusedLineMemoryMonitor),
        )
    },
    "stats": (StatsMonitor, None),
    "line_stats": (LineStatsMonitor, None),
}

#: Seconds `--live-wait` waits for a viewer before the script starts.
LIVE_WAIT_SECONDS = 30.0

#: recording -> default output file (None: the screen)
RECORDINGS = {
    "screen": None,
    "text": "monitor_records.log",
    "csv": "monitor_records.csv",
    # the timelines: monitor_records.speedscope.json, .trace.json, ...,
    # callgrind.out.monitor_records
    **{fmt: default_name(fmt, "monitor_records") for fmt in FORMATS},
}

#: recordings of timed function events, written as a whole at the end
TRACE_RECORDINGS = {
    "speedscope": SpeedscopeRecorder,
    "chrome": ChromeTraceRecorder,
    "collapsed": CollapsedStackRecorder,
    "pprof": PprofRecorder,
    "callgrind": CallgrindRecorder,
}

#: monitors whose records can be timed
TIMED_MONITORS = tuple(KINDS[kind].monitor for kind in TIMED_KINDS)


def make_recorder(recording, output, buffered):
    """The recorder for ``--recording``/``-o``/``--buffered``.

    Checked before the script runs: an output that cannot be written is a
    usage error then, not a lost run later.
    """
    recording = recording_of(recording, output)
    if output is None:
        output = RECORDINGS[recording]
    if recording in TRACE_RECORDINGS:
        if output == "-":
            raise UsageError(
                f"--recording {recording} writes a file at the end of the run: "
                "give -o FILE, not -o -"
            )
        check_writable(output, create=True)
        return TRACE_RECORDINGS[recording](output)
    live = not buffered
    if output is None or output == "-":
        if recording == "csv":
            return CSVRecorder(sys.stdout, auto_flush=live)
        formatted = recording == "screen" or recording == "text"
        return TextStreamRecorder(sys.stdout, formatted=formatted, auto_flush=live)
    check_writable(output, create=True)
    if recording == "csv":
        return CSVFileRecorder(output, auto_flush=live)
    return TextFileRecorder(output, formatted=True, auto_flush=live)


def recording_of(recording, output):
    """The recording ``--recording`` names, or the one ``-o``'s name
    implies: ``.csv`` csv, a timeline's ending (``pikos export``'s) that
    timeline, any other name text."""
    if recording is not None:
        return recording
    if output is None or output == "-":
        return "screen"
    if output.lower().endswith(".csv"):
        return "csv"
    return implied_format(output) or "text"


def stats_report(monitor, output):
    """After a stats run: the table on stdout, the same table in a ``.txt``
    file (what ``pstats``' ``print_stats`` writes), or else the binary
    ``.pstats`` file (``pstats.Stats`` and snakeviz read it)."""

    def report():
        if output is None or output == "-":
            monitor.print_stats(sort="cumulative", stream=sys.stdout)
            sys.stdout.flush()
        elif output.lower().endswith(".txt"):
            with open(output, "w", encoding="utf-8") as stream:
                monitor.print_stats(sort="cumulative", stream=stream)
        else:
            monitor.dump_stats(output)

    return report


#: What ``pikos-run line_stats -o NAME`` writes, by NAME's ending.
LINE_STATS_OUTPUTS = (".lprof", ".json", ".txt")


def line_stats_output(output):
    """``-o`` of ``line_stats`` checked before the run: its ending says the
    format, and ``.lprof`` needs the line_profiler package."""
    if output is None or output == "-":
        return output
    suffix = os.path.splitext(output)[1].lower()
    if suffix not in LINE_STATS_OUTPUTS:
        raise UsageError(
            f"line_stats writes {', '.join(LINE_STATS_OUTPUTS)} files "
            f"(kernprof's, pikos' JSON, the table), not {output!r}"
        )
    if suffix == ".lprof":
        try:
            import line_profiler.line_profiler  # noqa: F401
        except ImportError:
            raise UsageError(
                f"-o {output}: writing a .lprof file needs the line_profiler "
                "package (pip install line_profiler); .json and .txt need nothing"
            ) from None
    check_writable(output, create=True)
    return output


def line_stats_report(monitor, output):
    """After a line_stats run: the table on stderr (the script's stdout
    stays its own), on stdout for ``-o -``, or the file ``-o`` names."""

    def report():
        if output is None or output == "-":
            stream = sys.stderr if output is None else sys.stdout
            stream.flush()
            monitor.print_stats(stream, sort=True)
            stream.flush()
        else:
            monitor.dump_stats(output)

    return report
