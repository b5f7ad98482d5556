"""The pytest plugin (entry point ``pytest11``): ``pytest --pikos[=KIND]``
records each test into ``--pikos-dir``, and the ``pikos_limit`` marker
fails a test whose exact call counts or memory growth pass a budget.

Idle unless asked: without ``--pikos`` and without the marker, a test runs
exactly as it would without pikos installed (no monitor, no hook)."""

import functools
import inspect
import os
import types
import warnings

import pytest

#: ``--pikos`` kinds: name -> what records it and the output's suffix.
#: ``memory`` is ``line_memory``: the line that grew memory.
_ALIASES = {"memory": "line_memory"}
_SUFFIX = {"stats": ".pstats", "line_stats": ".json"}  # the record kinds: CSV
_TOTALS = {"stats", "line_stats"}  # kinds whose monitor keeps totals
_DEFAULT_DIR = ".pikos"
_SUMMARY_LINES = 15
_OUTPUT = "pikos_output"  # the user property carrying a test's output path


def _kinds():
    from pikos.runner.recording import MONITORS

    return sorted([*MONITORS, "line_stats", *_ALIASES])


def pytest_addoption(parser):
    group = parser.getgroup("pikos", "pikos: record tests, budget their calls")
    group.addoption(
        "--pikos",
        nargs="?",
        const="stats",
        default=None,
        metavar="KIND",
        help="record each test with pikos into --pikos-dir: stats (the "
        "default: a .pstats per test and a summary of the top functions), "
        "line_stats (a .json of hits and time per line, and the top lines), "
        "functions, lines, function_memory, line_memory or memory (CSV).",
    )
    group.addoption(
        "--pikos-dir",
        default=_DEFAULT_DIR,
        metavar="DIR",
        help=f"where --pikos writes one file per test (default {_DEFAULT_DIR}/)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "pikos_limit(calls=None, total_calls=None, rss_growth=None): fail the "
        "test if a function is called more than calls[name] times, if all "
        "calls together pass total_calls, or if the peak RSS during the test "
        "grows more than rss_growth ('50 MiB') over its start (pikos).",
    )
    kind = config.getoption("pikos")
    if kind is None:
        return
    kind = _ALIASES.get(kind, kind)
    if kind not in _kinds():
        raise pytest.UsageError(
            f"--pikos={config.getoption('pikos')}: no such kind; "
            f"choose one of {', '.join(_kinds())}"
        )
    config.pluginmanager.register(_Session(config, kind), "pikos-session")


def pytest_runtest_setup(item):
    marker = item.get_closest_marker("pikos_limit")
    if marker is not None:
        try:
            item.stash[_LIMITS] = Limits.from_marker(marker)
        except (TypeError, ValueError) as error:
            pytest.fail(f"pikos_limit: {error}", pytrace=False)


# Old-style hook wrappers: they work with every pluggy pytest 7 and 8 ship,
# and the plugin is loaded in every run once pikos is installed.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    limits = item.stash.get(_LIMITS, None)
    session = item.config.pluginmanager.get_plugin("pikos-session")
    if limits is None and session is None:
        yield
        return
    watch = _Watch(item, session, limits)
    original = getattr(item, "obj", None)
    wrapped = watch.wrap(original)
    try:
        if wrapped is None:  # not a plain function: the whole call phase
            with watch:
                outcome = yield
        else:
            item.obj = wrapped
            outcome = yield
    finally:
        if wrapped is not None:
            item.obj = original
        watch.write()
    if limits is not None and outcome.excinfo is None:
        # The report of this call says it (pytest_runtest_makereport).
        item.stash[_BROKEN] = limits.check(watch.stats, watch.peak)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when != "call":
        return
    report = outcome.get_result()
    path = item.stash.get(_WRITTEN, None)
    if path is not None:
        report.user_properties.append((_OUTPUT, path))
    problems = item.stash.get(_BROKEN, None)
    if problems and report.passed:
        report.outcome = "failed"
        report.longrepr = "pikos_limit: " + "; ".join(problems)


_LIMITS = pytest.StashKey()
_WRITTEN = pytest.StashKey()
_BROKEN = pytest.StashKey()


class Limits:
    """The budget of one ``pikos_limit`` marker, checked when it is read."""

    def __init__(self, calls=None, total_calls=None, rss_growth=None):
        from pikos.integrations.memory import parse_size

        if calls is not None and not isinstance(calls, dict):
            raise TypeError(
                "calls must be a dict of 'module.function' names to counts, "
                f"not {calls!r}"
            )
        self.calls = {}
        for name, limit in (calls or {}).items():
            if not isinstance(name, str) or "." not in name:
                raise ValueError(
                    f"calls: {name!r} is not a dotted name such as 'pkg.mod.func'"
                )
            self.calls[name] = _count(limit, f"calls[{name!r}]")
        self.total_calls = (
            None if total_calls is None else _count(total_calls, "total_calls")
        )
        self.rss_growth = (
            None if rss_growth is None else parse_size(rss_growth, "rss_growth")
        )
        self._label = rss_growth

    @classmethod
    def from_marker(cls, marker):
        if marker.args:
            raise TypeError(
                "takes keyword arguments only (calls=, total_calls=, rss_growth=)"
            )
        return cls(**marker.kwargs)

    @property
    def counts_calls(self):
        return bool(self.calls) or self.total_calls is not None

    def check(self, stats, peak):
        """The broken limits, one sentence each (none: the test passes)."""
        from pikos.messages import mib

        problems = []
        for name, limit in self.calls.items():
            try:
                count = calls_of(stats, name)
            except ValueError as error:
                problems.append(str(error))
                continue
            if count > limit:
                problems.append(f"{name} was called {count} times, limit {limit}")
        if self.total_calls is not None:
            total = sum(numbers[1] for numbers in stats.values())
            if total > self.total_calls:
                problems.append(
                    f"{total} calls in all, limit total_calls={self.total_calls}"
                )
        if self.rss_growth is not None and peak.growth > self.rss_growth:
            problems.append(
                f"RSS grew by {mib(peak.growth)} (peak {mib(peak.peak)}, "
                f"start {mib(peak.start)}), limit rss_growth={self._label!r}"
            )
        return problems


def _count(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a count (an int >= 0), not {value!r}")
    return value


def calls_of(stats, name):
    """How many times the function ``pkg.mod.func`` (or ``pkg.mod.Class.
    method``, or a builtin such as ``builtins.len``) was called, in the
    ``pstats`` form ``stats`` (a StatsMonitor's snapshot)."""
    from pikos.messages import UsageError
    from pikos.runner.focus_names import codes_of, import_object

    prefix = f"calls[{name!r}]"
    try:
        obj = import_object(name, prefix)
        label = _builtin_label(obj)
        if label is not None:
            keys = {("~", 0, label)}
        else:
            codes = codes_of(obj, name, prefix)
            keys = {(c.co_filename, c.co_firstlineno, c.co_name) for c in codes}
    except UsageError as error:
        raise ValueError(str(error)) from None
    return sum(stats[key][1] for key in keys if key in stats)


def _builtin_label(obj):
    """The name cProfile (and StatsMonitor) give a builtin, or None."""
    if isinstance(obj, types.BuiltinFunctionType):
        owner = obj.__self__
        if (owner is None or isinstance(owner, types.ModuleType)) and obj.__module__:
            return f"<built-in method {obj.__module__}.{obj.__name__}>"
        return f"<built-in method {obj.__name__}>"
    if isinstance(obj, types.ClassMethodDescriptorType):
        return f"<built-in method {obj.__name__}>"
    if isinstance(obj, types.MethodDescriptorType | types.WrapperDescriptorType):
        return f"<method {obj.__name__!r} of {obj.__objclass__.__name__!r} objects>"
    return None


class _Watch:
    """What one test's call is recorded with: the ``--pikos`` monitor, the
    StatsMonitor the call limits need (one monitor when both are stats),
    and the peak RSS."""

    def __init__(self, item, session, limits):
        from pikos.integrations.memory import PeakRSS, PeakUnavailable
        from pikos.monitors.api import StatsMonitor

        self._unavailable = PeakUnavailable
        self._entered = []
        self.item, self.session = item, session
        self.monitors = []
        self.output = None
        self.stats = {}
        self._counter = None
        self.peak = None
        if session is not None:
            self.output, monitor = session.monitor_for(item)
            self.monitors.append(monitor)
            if session.kind == "stats":
                self._counter = monitor
        if limits is not None and limits.counts_calls and self._counter is None:
            self._counter = StatsMonitor()
            self.monitors.append(self._counter)
        if limits is not None and limits.rss_growth is not None:
            self.peak = PeakRSS()

    def __enter__(self):
        # What was entered is left again when a later part fails, so no
        # monitor stays on past its test.  (Not contextlib.ExitStack: its
        # frames would be recorded, pikos' own are not.)
        if self.peak is not None:
            try:
                self.peak.__enter__()
            except self._unavailable as error:
                pytest.fail(f"pikos_limit: rss_growth: {error}", pytrace=False)
            self._entered.append(self.peak)
        try:
            for monitor in self.monitors:
                monitor.__enter__()
                self._entered.append(monitor)
        except BaseException:
            self._leave(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self._leave(*exc)
        finally:
            if self._counter is not None:
                self.stats = self._counter.snapshot()
        return False

    def _leave(self, *exc):
        entered, self._entered = self._entered, []
        error = None
        for part in reversed(entered):
            try:
                part.__exit__(*exc)
            except BaseException as failure:  # leave the rest all the same
                error = error or failure
        if error is not None:
            raise error

    def wrap(self, function):
        """``function`` run inside this watch, so that the records hold the
        test function and what it calls, not pytest's machinery (pikos
        never records its own frames, this wrapper's included).  None for
        a coroutine or generator function, or a non-Python test item."""
        plain = getattr(function, "__func__", function)  # a test class's method
        if not inspect.isfunction(plain) or (
            inspect.iscoroutinefunction(function)
            or inspect.isgeneratorfunction(function)
            or inspect.isasyncgenfunction(function)
        ):
            return None

        @functools.wraps(function)
        def watched(*args, **kwargs):
            with self:
                return function(*args, **kwargs)

        return watched

    def write(self):
        """Write the test's file; a failure to write is a warning, never a
        change of the test's outcome."""
        if self.session is None:
            return
        try:
            self.session.finish(self.item, self.output, self.monitors[0])
        except OSError as error:
            warnings.warn(f"pikos: cannot write {self.output}: {error}", stacklevel=1)
            return
        if os.path.exists(self.output):  # a test that never ran writes none
            self.item.stash[_WRITTEN] = self.output


class _Session:
    """``--pikos``: the kind, the directory, and the outputs written."""

    def __init__(self, config, kind):
        self.config = config
        self.kind = kind
        # Absolute: a test may change the working directory (monkeypatch.chdir).
        self.directory = os.path.abspath(config.getoption("pikos_dir"))
        self.shown = config.getoption("pikos_dir")
        self.written = []

    def monitor_for(self, item):
        from pikos.monitors.api import LineStatsMonitor
        from pikos.recorders.api import CSVFileRecorder
        from pikos.runner.recording import MONITORS

        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, _file_name(item.nodeid, self.kind))
        if self.kind == "line_stats":
            return path, LineStatsMonitor()
        monitor_class, _ = MONITORS[self.kind]
        if self.kind == "stats":
            return path, monitor_class()
        return path, monitor_class(CSVFileRecorder(path))

    def finish(self, item, path, monitor):
        # A record monitor's disable() finalized its file already, and
        # keeps what went wrong in .error.
        if self.kind in _TOTALS:
            monitor.dump_stats(path)
        elif monitor.error is not None:
            raise OSError(str(monitor.error))

    def pytest_runtest_logreport(self, report):
        # Under xdist the paths come back from the workers this way.
        for name, value in report.user_properties:
            if name == _OUTPUT:
                self.written.append(value)

    def pytest_terminal_summary(self, terminalreporter):
        write = terminalreporter.write_line
        terminalreporter.section("pikos")
        count = len(self.written)
        write(
            f"{count} {'test' if count == 1 else 'tests'} recorded "
            f"({self.kind}) in {self.shown.rstrip(os.sep)}{os.sep}"
        )
        if not self.written:
            return
        summary = {"stats": top_functions, "line_stats": top_lines}.get(self.kind)
        if summary is None:
            return
        written = list(dict.fromkeys(self.written))  # a rerun test: once
        try:
            lines = summary(written, _SUMMARY_LINES)
        except (OSError, ValueError, TypeError, EOFError) as error:
            write(f"(no summary: a recording could not be read back: {error})")
            return
        for line in lines:
            write(line)


def _file_name(nodeid, kind):
    """``tests/test_a.py::test_b[x 1]`` -> ``tests_test_a.py__test_b_x-201_``
    plus the kind's suffix: the same test always the same file.  The
    separators (``/``, ``::``, the brackets of parameters) become ``_``;
    any other character outside letters, digits, ``_ . -`` becomes ``-``
    and its code in hex, so ids that differ there never meet (``[a b]``,
    ``[a_b]``)."""
    safe = "".join(
        char
        if char.isascii() and (char.isalnum() or char in "_.-")
        else "_"
        if char in "/:[]"
        else "-" + format(ord(char), "x")
        for char in nodeid
    ).strip(".")
    if len(safe) > 180:  # file names stop at 255 bytes
        import hashlib

        digest = hashlib.sha1(nodeid.encode()).hexdigest()[:12]
        safe = f"{safe[:160]}-{digest}"
    return safe + _SUFFIX.get(kind, ".csv")


def top_functions(paths, limit):
    """The summary: the functions with the most own time over every
    ``.pstats`` file in ``paths`` (summed), as lines of a table."""
    import pstats

    stats = pstats.Stats(*paths)
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)
    lines = [
        "top functions by own time across the session "
        "(pstats.Stats on the files gives the rest):",
        f"{'calls':>10} {'own s':>10} {'cum s':>10}  function",
    ]
    for (filename, line, name), (_, calls, own, cumulative, _) in rows[:limit]:
        where = name if filename == "~" else f"{name} ({_short(filename)}:{line})"
        lines.append(f"{calls:>10} {own:>10.6f} {cumulative:>10.6f}  {where}")
    return lines


def top_lines(paths, limit):
    """The summary of ``line_stats``: the lines with the most time over
    every ``.json`` file in ``paths`` (hits and times summed)."""
    import json
    import linecache

    totals = {}  # (filename, line) -> [hits, seconds, function]
    for path in paths:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        unit = document["unit"]
        for function in document["functions"]:
            for lineno, hits, time in function["lines"]:
                key = (function["filename"], lineno)
                total = totals.setdefault(key, [0, 0.0, function["function"]])
                total[0] += hits
                total[1] += time * unit
    rows = sorted(totals.items(), key=lambda item: item[1][1], reverse=True)
    lines = [
        "top lines by time across the session (a line's time includes its calls):",
        f"{'hits':>10} {'time s':>10}  line",
    ]
    for (filename, lineno), (hits, seconds, function) in rows[:limit]:
        text = linecache.getline(filename, lineno).strip()
        where = f"{_short(filename)}:{lineno} ({function})"
        lines.append(f"{hits:>10} {seconds:>10.6f}  {where}  {text}")
    return lines


def _short(filename):
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith("..") else relative
