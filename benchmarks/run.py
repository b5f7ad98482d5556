"""Overhead benchmarks for pikos: traced time as a ratio to untraced time.

    python benchmarks/run.py --output BENCHMARKS.md [--rounds N] [--quick]
    python benchmarks/run.py --output BENCHMARKS.md --append   # add this Python
    PIKOS_BENCH_SMOKE=1 python benchmarks/run.py --output /tmp/smoke.md  # seconds

Every configuration runs in this one process, in interleaved rounds: round r
runs each configuration once, starting at a rotating offset, so that drifts
of the machine (frequency, other load) spread over all rows alike. The
report gives the minimum and the median over the rounds, and ratios to the
untraced row of the same run.

With --append, BENCHMARKS.md keeps one section per interpreter (CPython 3.11,
3.12, ...): the section of the running interpreter is replaced, others stay.

pikos is imported lazily: rows whose pikos part is missing are reported as
unavailable with the reason, and the other rows still run.

This file holds the table of rows (CONFIGS), the targets (TARGETS) and the
command; the rest is split by role: peers.py (the other profilers and the
empty-hook floors), pikos_rows.py (pikos' monitors), historic.py (the
original pure-Python pikos, the historic reference), measurement.py (timers,
the interleaved rounds, the CSV check, peak RSS), markdown_report.py
(BENCHMARKS.md's sections), workloads.py (what is run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from historic import (  # noqa: E402
    setup_historic_function_csv,
    setup_historic_line_memory_csv,
)
from markdown_report import publish, render_section  # noqa: E402
from measurement import Config, measure, setup_untraced  # noqa: E402
from peers import (  # noqa: E402
    setup_cprofile,
    setup_empty_monitoring,
    setup_empty_native,
    setup_empty_native_trace,
    setup_empty_native_trace_memory,
    setup_empty_python,
    setup_empty_python_trace,
    setup_line_profiler,
    setup_memory_profiler,
    setup_yappi,
)
from pikos_rows import (  # noqa: E402
    SAMPLED_MEMORY_INTERVAL_US,
    setup_pikos_focused_function_csv,
    setup_pikos_focused_line_csv,
    setup_pikos_focused_line_csv_legacy,
    setup_pikos_focused_line_in_csv,
    setup_pikos_function_capture,
    setup_pikos_function_csv,
    setup_pikos_function_discard,
    setup_pikos_function_list,
    setup_pikos_function_memory_csv,
    setup_pikos_line_capture,
    setup_pikos_line_csv,
    setup_pikos_line_csv_legacy,
    setup_pikos_line_csv_monitoring,
    setup_pikos_line_discard,
    setup_pikos_line_list,
    setup_pikos_line_memory_capture,
    setup_pikos_line_memory_csv,
    setup_pikos_line_memory_sampled_csv,
    setup_pikos_line_memory_zmq,
    setup_pikos_line_stats,
    setup_pikos_line_timed_csv,
    setup_pikos_stats,
    setup_pikos_stats_live,
)
from workloads import (  # noqa: E402
    SMOKE,
    WORKLOADS,
)

# The rows, in report order; each applies to the workload kinds it lists.
CONFIGS: list[Config] = [
    Config("untraced", "untraced", ("function", "line"), setup_untraced),
    Config("cprofile", "cProfile", ("function",), setup_cprofile),
    Config(
        "empty-c-hook",
        "empty C-level profile hook (floor)",
        ("function",),
        setup_empty_native,
    ),
    Config(
        "empty-c-trace",
        "empty C-level trace hook (floor)",
        ("line",),
        setup_empty_native_trace,
    ),
    Config(
        "empty-c-trace-memory",
        "empty C-level trace hook reading statm (memory floor)",
        ("line",),
        setup_empty_native_trace_memory,
    ),
    Config(
        "empty-py-profile",
        "sys.setprofile, empty Python callback",
        ("function",),
        setup_empty_python,
    ),
    Config(
        "empty-py-trace",
        "sys.settrace, empty Python callback",
        ("line",),
        setup_empty_python_trace,
    ),
    Config(
        "line-profiler",
        "line_profiler (the workload's functions added)",
        ("line",),
        setup_line_profiler,
    ),
    Config(
        "empty-monitoring",
        "sys.monitoring, empty native callbacks (3.12+ floor)",
        ("function",),
        setup_empty_monitoring,
    ),
    Config("yappi", "yappi (CPU clock)", ("function",), setup_yappi),
    Config(
        "memory-profiler",
        "memory_profiler line-by-line (the workload's functions added)",
        ("line",),
        setup_memory_profiler,
        divisor=20,
        slow=True,
    ),
    Config(
        "pikos-function-csv",
        "pikos FunctionMonitor → CSVFileRecorder",
        ("function",),
        setup_pikos_function_csv,
    ),
    Config(
        "pikos-function-capture",
        "pikos FunctionMonitor → CaptureRecorder",
        ("function",),
        setup_pikos_function_capture,
    ),
    Config(
        "pikos-function-memory-csv",
        "pikos FunctionMemoryMonitor → CSVFileRecorder",
        ("function",),
        setup_pikos_function_memory_csv,
    ),
    Config(
        "pikos-function-discard",
        "pikos FunctionMonitor → discarding recorder",
        ("function",),
        setup_pikos_function_discard,
    ),
    Config(
        "pikos-function-list",
        "pikos FunctionMonitor → ListRecorder (records not read)",
        ("function",),
        setup_pikos_function_list,
    ),
    Config(
        "pikos-stats",
        "pikos StatsMonitor (cProfile's statistics, kept natively)",
        ("function",),
        setup_pikos_stats,
    ),
    Config(
        "pikos-stats-live",
        "pikos StatsMonitor → ZeroMQRecorder, totals published to a viewer",
        ("function",),
        setup_pikos_stats_live,
    ),
    Config(
        "pikos-focused-function-csv",
        "pikos FocusedFunctionMonitor → CSVFileRecorder, outside its focus",
        ("function",),
        setup_pikos_focused_function_csv,
    ),
    Config(
        "pikos-line-csv",
        "pikos LineMonitor → CSVFileRecorder",
        ("line",),
        setup_pikos_line_csv,
    ),
    Config(
        "pikos-line-capture",
        "pikos LineMonitor → CaptureRecorder",
        ("line",),
        setup_pikos_line_capture,
    ),
    Config(
        "pikos-line-timed-csv",
        "pikos LineMonitor(timed=True) → CSVFileRecorder",
        ("line",),
        setup_pikos_line_timed_csv,
    ),
    Config(
        "pikos-line-stats",
        "pikos LineStatsMonitor, every line (line_profiler's statistics, natively)",
        ("line",),
        setup_pikos_line_stats,
    ),
    Config(
        "pikos-line-discard",
        "pikos LineMonitor → discarding recorder",
        ("line",),
        setup_pikos_line_discard,
    ),
    Config(
        "pikos-line-list",
        "pikos LineMonitor → ListRecorder (records not read)",
        ("line",),
        setup_pikos_line_list,
    ),
    Config(
        "pikos-line-memory-csv",
        "pikos LineMemoryMonitor → CSVFileRecorder",
        ("line",),
        setup_pikos_line_memory_csv,
    ),
    Config(
        "pikos-line-memory-capture",
        "pikos LineMemoryMonitor → CaptureRecorder",
        ("line",),
        setup_pikos_line_memory_capture,
    ),
    Config(
        "pikos-line-memory-zmq",
        "pikos LineMemoryMonitor → ZeroMQRecorder, every record to a viewer",
        ("line",),
        setup_pikos_line_memory_zmq,
    ),
    Config(
        "pikos-line-memory-sampled-csv",
        f"pikos LineMemoryMonitor(memory_interval={SAMPLED_MEMORY_INTERVAL_US}) "
        "→ CSVFileRecorder",
        ("line",),
        setup_pikos_line_memory_sampled_csv,
    ),
    Config(
        "pikos-focused-line-csv",
        "pikos FocusedLineMonitor → CSVFileRecorder, outside its focus",
        ("line",),
        setup_pikos_focused_line_csv,
    ),
    Config(
        "pikos-focused-line-csv-legacy",
        "pikos FocusedLineMonitor → CSVFileRecorder, outside its focus, "
        "PIKOS_HOOK=legacy",
        ("line",),
        setup_pikos_focused_line_csv_legacy,
    ),
    Config(
        "pikos-focused-line-in-csv-legacy",
        "pikos FocusedLineMonitor → CSVFileRecorder, on the workload's "
        "functions, PIKOS_HOOK=legacy",
        ("line",),
        lambda ctx: setup_pikos_focused_line_in_csv(ctx, "legacy"),
    ),
    Config(
        "pikos-focused-line-in-csv-monitoring",
        "pikos FocusedLineMonitor → CSVFileRecorder, on the workload's "
        "functions, PIKOS_HOOK=monitoring",
        ("line",),
        lambda ctx: setup_pikos_focused_line_in_csv(ctx, "monitoring"),
    ),
    Config(
        "pikos-line-csv-legacy",
        "pikos LineMonitor → CSVFileRecorder, PIKOS_HOOK=legacy",
        ("line",),
        setup_pikos_line_csv_legacy,
    ),
    Config(
        "pikos-line-csv-monitoring",
        "pikos LineMonitor → CSVFileRecorder, PIKOS_HOOK=monitoring",
        ("line",),
        setup_pikos_line_csv_monitoring,
    ),
    Config(
        "historic-function-csv",
        "original pikos style (pure Python: getframeinfo, csv.writer)",
        ("function",),
        setup_historic_function_csv,
        divisor=20,
        slow=True,
    ),
    Config(
        "historic-line-memory-csv",
        "original pikos style line-memory (pure Python: getframeinfo, psutil, "
        "csv.writer)",
        ("line",),
        setup_historic_line_memory_csv,
        divisor=20,
        slow=True,
    ),
]


@dataclass(frozen=True)
class Target:
    """A target checked in the report, on a row of a workload.

    form "within": the row's ratio is at most ``limit`` times the reference's;
    form "faster": the reference's ratio is at least ``limit`` times the row's;
    form "size": the row's file has at most ``limit`` bytes per event (no
    reference).
    """

    issue: str
    workload: str
    key: str
    reference: str | None
    limit: float
    form: str = "within"
    # The Python versions ("3.12") it applies to; empty: all.
    pythons: tuple[str, ...] = ()


# Later issues add theirs.
TARGETS: list[Target] = [
    Target("issue 2", "call-heavy", "pikos-function-csv", "cprofile", 1.5),
    Target(
        "issue 3",
        "line-heavy",
        "pikos-line-memory-csv",
        "historic-line-memory-csv",
        40,
        form="faster",
    ),
    Target(
        "issue 3",
        "line-heavy",
        "pikos-line-memory-sampled-csv",
        "historic-line-memory-csv",
        40,
        form="faster",
    ),
    Target("issue 3", "call-heavy", "pikos-focused-function-csv", "empty-c-hook", 1.2),
    Target("issue 3", "line-heavy", "pikos-focused-line-csv", "empty-c-trace", 1.2),
    Target(
        "issue 5",
        "call-heavy",
        "pikos-function-csv",
        "cprofile",
        1.0,
        pythons=("3.11",),
    ),
    Target(
        "issue 5",
        "call-heavy",
        "pikos-function-csv",
        "cprofile",
        0.8,
        pythons=("3.12", "3.13"),
    ),
    Target("issue 5", "line-heavy", "pikos-line-csv", "line-profiler", 0.6),
    Target(
        "issue 5", "line-heavy", "pikos-line-memory-csv", "empty-c-trace-memory", 1.3
    ),
    Target("issue 6", "call-heavy", "pikos-stats", "cprofile", 1.0),
    Target("issue 6", "call-heavy", "pikos-stats-live", "cprofile", 1.0),
    # Application-shaped code (many builtin calls, small methods): at most
    # cProfile's ratio, or the floor rows show why not.
    Target("issue 18", "mixed", "pikos-function-csv", "cprofile", 1.0),
    # Line timing, against line_profiler with the workload's functions added.
    *(
        Target("issue 20", workload, key, "line-profiler", limit)
        for workload in ("line-heavy", "n-body")
        for key, limit in (("pikos-line-stats", 0.5), ("pikos-line-timed-csv", 0.6))
    ),
    # Captures: a few bytes per event (CSV: about 58), no slower than CSV.
    Target("issue 21", "call-heavy", "pikos-function-capture", None, 4, form="size"),
    Target(
        "issue 21", "call-heavy", "pikos-function-capture", "pikos-function-csv", 1.0
    ),
    Target("issue 21", "line-heavy", "pikos-line-capture", None, 4, form="size"),
    Target("issue 21", "line-heavy", "pikos-line-memory-capture", None, 6, form="size"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write the report here")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the other interpreters' sections of --output; replace this one's",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 11)")
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds, 1 for the slow references"
    )
    parser.add_argument(
        "--workload",
        action="append",
        choices=sorted(WORKLOADS),
        help="run only this workload (repeatable; default: all)",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        choices=[c.key for c in CONFIGS],
        help="run only this configuration (repeatable; untraced always runs)",
    )
    parser.add_argument(
        "--tmpdir", type=Path, help="where the CSV files go (default: system temp)"
    )
    args = parser.parse_args(argv)

    quick = args.quick or SMOKE
    rounds = args.rounds or (1 if SMOKE else 3 if args.quick else 11)
    slow_rounds = 1 if quick else max(1, rounds // 3)
    if sys.getprofile() is not None or sys.gettrace() is not None:
        print("warning: a profile or trace hook is already installed", file=sys.stderr)

    results = []
    with tempfile.TemporaryDirectory(prefix="pikos-bench-", dir=args.tmpdir) as tmp:
        for name in args.workload or list(WORKLOADS):
            results.append(
                measure(
                    CONFIGS,
                    WORKLOADS[name],
                    rounds,
                    slow_rounds,
                    Path(tmp),
                    set(args.config),
                )
            )

    tmpdir = (args.tmpdir or Path(tempfile.gettempdir())).resolve()
    section = render_section(results, rounds, slow_rounds, tmpdir, TARGETS, CONFIGS)
    print()
    publish(section, args.output, args.append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
