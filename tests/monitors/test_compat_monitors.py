"""The original pikos' documented monitor API (issue 19, part B), tested from
the documentation's words:

- ``pikos.monitors.focused_function_mixin.FocusedFunctionMixin`` and
  ``pikos.monitors.focused_line_mixin.FocusedLineMixin`` are the bases of the
  focused monitors, and a user's ``class M(FocusedFunctionMixin,
  FunctionMonitor)`` is a focused monitor;
- focused function monitors keep ``_code_trackers`` (code object ->
  ``KeepTrack``), and iterating ``monitor.functions`` yields the functions;
- ``gather_info`` (``(frame, event, arg)`` for function kinds, ``(frame)``
  for line kinds) and ``on_function_event(frame, event, arg)`` /
  ``on_line_event(frame, why, arg)`` are extension points: a subclass
  overriding them gets records built by its override (the Python-level
  path), everyone else keeps the native hook.
"""

import collections
import csv
import gc
import inspect
import io
import mmap
import sys
import threading
import types
import warnings

import pytest
from pikos import _OWN_PREFIX
from pikos._internal.keep_track import KeepTrack
from pikos.errors import HookTakenWarning
from pikos.filters.api import OnValue
from pikos.monitors.api import (
    FocusedFunctionMemoryMonitor,
    FocusedFunctionMonitor,
    FocusedLineMemoryMonitor,
    FocusedLineMonitor,
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    LineMonitor,
)
from pikos.monitors.focused_function_mixin import FocusedFunctionMixin
from pikos.monitors.focused_line_mixin import FocusedLineMixin
from pikos.monitors.records import (
    FunctionMemoryRecord,
    FunctionRecord,
    LineMemoryRecord,
    LineRecord,
)
from pikos.recorders.api import CSVRecorder, ListRecorder, TextStreamRecorder

# --- the code the monitors watch -----------------------------------------------


def leaf(n):
    return abs(n)


def middle(n):
    total = 0
    for i in range(n):
        total += leaf(-i)
    return total


def recurse(n):
    if n == 0:
        return len("x")
    return recurse(n - 1)


def workload():
    leaf(1)
    return middle(3)


# --- the documented bases ------------------------------------------------------

FUNCTION_KINDS = [FunctionMonitor, FunctionMemoryMonitor]
LINE_KINDS = [LineMonitor, LineMemoryMonitor]
FOCUSED_FUNCTION_KINDS = [FocusedFunctionMonitor, FocusedFunctionMemoryMonitor]
FOCUSED_LINE_KINDS = [FocusedLineMonitor, FocusedLineMemoryMonitor]
ALL_KINDS = FUNCTION_KINDS + LINE_KINDS + FOCUSED_FUNCTION_KINDS + FOCUSED_LINE_KINDS


def test_the_focused_monitors_have_the_documented_bases():
    # "Bases: FocusedFunctionMixin, FunctionMonitor" and so on.
    assert FocusedFunctionMonitor.__bases__ == (FocusedFunctionMixin, FunctionMonitor)
    assert FocusedFunctionMemoryMonitor.__bases__ == (
        FocusedFunctionMixin,
        FunctionMemoryMonitor,
    )
    assert FocusedLineMonitor.__bases__ == (FocusedLineMixin, LineMonitor)
    assert FocusedLineMemoryMonitor.__bases__ == (FocusedLineMixin, LineMemoryMonitor)
    # "FunctionMemoryMonitor ... Bases: FunctionMonitor", "LineMemoryMonitor
    # ... Bases: LineMonitor".
    assert issubclass(FunctionMemoryMonitor, FunctionMonitor)
    assert issubclass(LineMemoryMonitor, LineMonitor)
    for monitor_class in FOCUSED_FUNCTION_KINDS:
        assert isinstance(monitor_class(ListRecorder()), FocusedFunctionMixin)
    for monitor_class in FOCUSED_LINE_KINDS:
        assert isinstance(monitor_class(ListRecorder()), FocusedLineMixin)


def _records(monitor_class, run, **keywords):
    recorder = ListRecorder()
    with monitor_class(recorder, **keywords):
        run()
    return recorder.records


def _without_memory(records, fields=None):
    return [
        tuple(
            value
            for field, value in zip(fields or r._fields, r, strict=False)
            if field not in ("RSS", "VMS")
        )
        for r in records
    ]


@pytest.mark.parametrize(
    ("mixin", "base", "builtin"),
    [
        (FocusedFunctionMixin, FunctionMonitor, FocusedFunctionMonitor),
        (FocusedFunctionMixin, FunctionMemoryMonitor, FocusedFunctionMemoryMonitor),
        (FocusedLineMixin, LineMonitor, FocusedLineMonitor),
        (FocusedLineMixin, LineMemoryMonitor, FocusedLineMemoryMonitor),
    ],
    ids=lambda value: value.__name__,
)
def test_a_mixin_combined_with_a_base_monitor_is_a_focused_monitor(
    mixin, base, builtin
):
    # "The method is used along a function event based monitor": the
    # documented way to build a focused monitor.
    combined = type("Combined", (mixin, base), {})
    records = _records(combined, workload, functions=[middle])
    assert records
    assert not combined(ListRecorder()).python_level  # the native path still
    assert _without_memory(records) == _without_memory(
        _records(builtin, workload, functions=[middle])
    )
    names = {r.function for r in records}
    if mixin is FocusedLineMixin:
        assert names == {"middle"}  # its own lines only
    else:
        assert names == {"middle", "leaf", "abs"}  # its window: callees too


def test_functions_keyword_takes_methods():
    class Worker:
        def work(self):
            return leaf(2)

    worker = Worker()
    records = _records(FocusedFunctionMonitor, worker.work, functions=[Worker.work])
    assert [r.function for r in records if r.type == "call"] == ["work", "leaf"]


# --- functions and _code_trackers ----------------------------------------------


def test_iterating_functions_yields_the_functions():
    class Worker:
        def work(self):
            pass

    worker = Worker()
    monitor = FocusedFunctionMonitor(
        ListRecorder(), functions=[leaf, middle, leaf.__code__, worker.work]
    )
    # As given, the first spelling of each code; not code objects.
    assert list(monitor.functions) == [leaf, middle, worker.work]
    assert leaf.__code__ in monitor.functions
    assert Worker.work in monitor.functions
    monitor.functions.add(recurse)
    assert list(monitor.functions)[-1] is recurse
    monitor.functions.discard(leaf.__code__)
    assert leaf not in monitor.functions
    assert len(monitor.functions) == 3


def test_keep_track_counts_ping_and_pong():
    # The documented use: enable/disable (``_call_tracker('ping')`` is true
    # for the outermost call only) and the focused code trackers.
    tracker = KeepTrack()
    assert not tracker
    assert tracker("ping") is True
    assert tracker("ping") is False
    assert tracker
    assert tracker("pong") is False
    assert tracker("pong") is True
    assert not tracker
    assert tracker("pong") is False  # unbalanced: harmless
    assert not tracker
    with pytest.raises(ValueError, match="'ping' or 'pong'"):
        tracker("pang")


class _TrackerProbe:
    """Reads ``monitor._code_trackers`` from inside the focus."""

    def __init__(self):
        self.monitor = None
        self.seen = []

    def look(self):
        trackers = self.monitor._code_trackers
        self.seen.append(
            {code.co_name: (type(t), bool(t), t.depth) for code, t in trackers.items()}
        )


PROBE = _TrackerProbe()


def probed(n):
    if n:
        return probed(n - 1)
    PROBE.look()
    return 0


class _GatherSubclass(FocusedFunctionMonitor):
    def gather_info(self, frame, event, arg):
        return super().gather_info(frame, event, arg)


@pytest.mark.parametrize("monitor_class", [FocusedFunctionMonitor, _GatherSubclass])
def test_code_trackers_map_focused_code_to_keep_track(monitor_class):
    monitor = monitor_class(ListRecorder(), functions=[probed])
    PROBE.monitor, PROBE.seen = monitor, []
    assert monitor._code_trackers == {}
    with monitor:
        probed(2)  # three frames of probed when it looks
        PROBE.look()  # outside: no tracker open
    assert PROBE.seen == [{"probed": (KeepTrack, True, 3)}, {}]


# --- gather_info and on_*_event: the documented signatures ----------------------


@pytest.mark.parametrize("monitor_class", FUNCTION_KINDS)
def test_function_kinds_document_gather_info_frame_event_arg(monitor_class):
    assert list(inspect.signature(monitor_class.gather_info).parameters) == [
        "self",
        "frame",
        "event",
        "arg",
    ]
    assert list(inspect.signature(monitor_class.on_function_event).parameters) == [
        "self",
        "frame",
        "event",
        "arg",
    ]


@pytest.mark.parametrize("monitor_class", LINE_KINDS)
def test_line_kinds_document_gather_info_frame(monitor_class):
    assert list(inspect.signature(monitor_class.gather_info).parameters) == [
        "self",
        "frame",
    ]
    assert list(inspect.signature(monitor_class.on_line_event).parameters) == [
        "self",
        "frame",
        "why",
        "arg",
    ]


def test_on_function_event_called_directly_records_on_a_plain_monitor():
    # "Called on function events, it will retrieve the necessary information
    # from the frame, create a FunctionRecord and send it to the recorder."
    recorder = ListRecorder()
    monitor = FunctionMonitor(recorder)
    assert not monitor.python_level
    frame = sys._getframe()
    line = frame.f_lineno + 1
    monitor.on_function_event(frame, "call", None)
    monitor.on_function_event(frame, "c_call", len)
    code = frame.f_code
    assert recorder.records == [
        FunctionRecord(0, "call", code.co_name, line, code.co_filename),
        FunctionRecord(1, "c_call", "len", line + 1, code.co_filename),
    ]
    # The index goes on in the native session that follows.
    with monitor:
        leaf(1)
    assert [r.index for r in recorder.records] == [0, 1, 2, 3, 4, 5]


def test_on_line_event_called_directly_records_on_a_plain_monitor():
    recorder = ListRecorder()
    monitor = LineMonitor(recorder)
    frame = sys._getframe()
    line = frame.f_lineno + 1
    result = monitor.on_line_event(frame, "line", None)
    assert result == monitor.on_line_event  # the local trace function
    assert monitor.on_line_event(frame, "call", None) == monitor.on_line_event
    (record,) = recorder.records
    assert record == LineRecord(
        0,
        frame.f_code.co_name,
        line,
        '    result = monitor.on_line_event(frame, "line", None)',
        frame.f_code.co_filename,
    )


@pytest.mark.parametrize("monitor_class", FUNCTION_KINDS)
def test_gather_info_called_directly_gives_the_record_values(monitor_class):
    monitor = monitor_class(ListRecorder())
    frame = sys._getframe()
    values = monitor.gather_info(frame, "c_call", len)
    record = monitor.record_type(*values)
    assert (record.index, record.type, record.function) == (0, "c_call", "len")
    assert record.filename == frame.f_code.co_filename
    if monitor_class is FunctionMemoryMonitor:
        assert record.RSS > 0 and record.VMS >= record.RSS


@pytest.mark.parametrize("monitor_class", LINE_KINDS)
def test_line_gather_info_called_directly_gives_the_record_values(monitor_class):
    monitor = monitor_class(ListRecorder())
    frame = sys._getframe()
    line = frame.f_lineno + 1
    record = monitor.record_type(*monitor.gather_info(frame))
    assert (
        record.line == "    record = monitor.record_type(*monitor.gather_info(frame))"
    )
    assert record.lineNo == line
    if monitor_class is LineMemoryMonitor:
        assert record.RSS > 0 and record.VMS >= record.RSS


# --- a subclass adding a field, on every kind -----------------------------------

BASE_RECORDS = {
    FunctionMonitor: FunctionRecord,
    FunctionMemoryMonitor: FunctionMemoryRecord,
    LineMonitor: LineRecord,
    LineMemoryMonitor: LineMemoryRecord,
    FocusedFunctionMonitor: FunctionRecord,
    FocusedFunctionMemoryMonitor: FunctionMemoryRecord,
    FocusedLineMonitor: LineRecord,
    FocusedLineMemoryMonitor: LineMemoryRecord,
}


def _with_depth(monitor_class):
    """The documented extension: a subclass whose gather_info adds a field
    (the depth of the frame's stack), with a record type that has it."""
    base_record = BASE_RECORDS[monitor_class]
    record_type = collections.namedtuple(
        f"Deep{base_record.__name__}", base_record._fields + ("depth",)
    )
    function_kind = "event" in inspect.signature(monitor_class.gather_info).parameters

    def depth_of(frame):
        depth = 0
        while frame is not None:
            depth, frame = depth + 1, frame.f_back
        return depth

    if function_kind:

        def gather_info(self, frame, event, arg):
            return super(subclass, self).gather_info(frame, event, arg) + (
                depth_of(frame),
            )
    else:

        def gather_info(self, frame):
            return super(subclass, self).gather_info(frame) + (depth_of(frame),)

    subclass = type(f"Deep{monitor_class.__name__}", (monitor_class,), {})
    subclass.gather_info = gather_info
    return subclass, record_type


def _focus_of(monitor_class):
    return (
        {"functions": [middle]} if monitor_class.__name__.startswith("Focused") else {}
    )


@pytest.mark.parametrize("monitor_class", ALL_KINDS, ids=lambda c: c.__name__)
def test_a_subclass_adding_a_field_gets_records_built_by_its_gather_info(monitor_class):
    subclass, record_type = _with_depth(monitor_class)
    assert subclass(ListRecorder(), **_focus_of(monitor_class)).python_level
    records = _records(
        subclass, workload, record_type=record_type, **_focus_of(monitor_class)
    )
    assert records and all(type(r) is record_type for r in records)
    # The depth field was filled by the override: the frame's own depth.
    depth = {}
    for record in records:
        depth.setdefault(record.function, set()).add(record.depth)
    assert len(depth["middle"]) == 1
    if "leaf" in depth:  # not for focused line monitors: middle's lines only
        assert max(depth["leaf"]) == min(depth["middle"]) + 1
    # Every other field is what the native path records for the same code
    # (memory values aside, which differ from one reading to the next).
    native = _records(monitor_class, workload, **_focus_of(monitor_class))
    fields = BASE_RECORDS[monitor_class]._fields
    assert _without_memory([r[:-1] for r in records], fields) == _without_memory(native)
    # Never a record of pikos' own frames.
    assert not any(r.filename.startswith(_OWN_PREFIX) for r in records)


@pytest.mark.parametrize("monitor_class", FUNCTION_KINDS + LINE_KINDS)
def test_the_python_level_path_gives_what_the_native_path_gives(monitor_class):
    # An override that changes nothing: every record equal, memory aside.
    if monitor_class in FUNCTION_KINDS:

        class Same(monitor_class):
            def on_function_event(self, frame, event, arg):
                super().on_function_event(frame, event, arg)
    else:

        class Same(monitor_class):
            def on_line_event(self, frame, why, arg):
                return super().on_line_event(frame, why, arg)

    assert Same(ListRecorder()).python_level
    python = _records(Same, workload)
    native = _records(monitor_class, workload)
    assert _without_memory(python) == _without_memory(native)
    assert [type(r) for r in python] == [type(r) for r in native]


def test_the_lines_of_the_with_block_are_recorded_on_both_paths():
    class Same(LineMonitor):
        def gather_info(self, frame):
            return super().gather_info(frame)

    def block(monitor_class):
        recorder = ListRecorder()
        with monitor_class(recorder):
            x = leaf(1)
            x += 1
        return [(r.function, r.line.strip()) for r in recorder.records]

    native = block(LineMonitor)
    assert ("block", "x += 1") in native
    assert block(Same) == native


def test_an_override_of_on_function_event_sees_every_event():
    seen = []

    class Counting(FunctionMonitor):
        def on_function_event(self, frame, event, arg):
            seen.append(event)
            if event == "call":  # records only calls
                super().on_function_event(frame, event, arg)

    recorder = ListRecorder()
    with Counting(recorder):
        workload()
    assert seen == [r.type for r in _records(FunctionMonitor, workload)]
    assert [r.type for r in recorder.records] == ["call"] * seen.count("call")
    # Each record took the next index: the override decides.
    assert [r.index for r in recorder.records] == list(range(seen.count("call")))


def test_an_override_of_on_line_event_can_stop_tracing_a_frame():
    class OnlyMiddle(LineMonitor):
        def on_line_event(self, frame, why, arg):
            if why == "call" and frame.f_code is not middle.__code__:
                return None  # no local trace function: no line of it
            return super().on_line_event(frame, why, arg)

    recorder = ListRecorder()
    monitor = OnlyMiddle(recorder)
    # Called through attach: every frame recorded starts under the monitor.
    monitor.attach(workload)()
    assert {r.function for r in recorder.records} == {"middle"}


def test_an_instance_attribute_override_takes_the_python_level_path():
    recorder = ListRecorder()
    monitor = FunctionMonitor(recorder, record_type=tuple)
    assert not monitor.python_level
    monitor.gather_info = lambda frame, event, arg: ("custom", event)
    assert monitor.python_level
    with monitor:
        leaf(1)
    assert recorder.records == [
        ("custom", "call"),
        ("custom", "c_call"),
        ("custom", "c_return"),
        ("custom", "return"),
    ]


def test_the_python_level_path_uses_setprofile_and_the_native_path_does_not():
    class Python(FunctionMonitor):
        def gather_info(self, frame, event, arg):
            return super().gather_info(frame, event, arg)

    hooks = {}
    for monitor_class in (FunctionMonitor, Python):
        with monitor_class(ListRecorder()):
            hooks[monitor_class] = sys.getprofile()
    assert type(hooks[FunctionMonitor]).__name__ == "ThreadHook"
    assert isinstance(hooks[Python], types.FunctionType)
    assert sys.getprofile() is None


# --- the Python-level path keeps the monitors' guarantees ------------------------


class _Deep(FunctionMonitor):
    def gather_info(self, frame, event, arg):
        return super().gather_info(frame, event, arg)


def test_python_level_path_respects_focus_with_builtins_and_recursion():
    class Focused(FocusedFunctionMonitor):
        def gather_info(self, frame, event, arg):
            return super().gather_info(frame, event, arg)

    def run():
        leaf(1)  # outside
        recurse(2)
        leaf(2)  # outside

    python = _records(Focused, run, functions=[recurse])
    assert python == _records(FocusedFunctionMonitor, run, functions=[recurse])
    # The builtin called inside does not close the window (the original's bug).
    assert [r.type for r in python][-4:] == ["c_return", "return", "return", "return"]


def test_python_level_path_feeds_filters_and_any_recorder():
    stream = io.StringIO()
    with _Deep(CSVRecorder(stream, filter_=OnValue("type", "call"))):
        workload()
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0] == list(FunctionRecord._fields)
    assert [row[2] for row in rows[1:]] == ["workload", "leaf", "middle"] + ["leaf"] * 3
    assert all(row[1] == "call" for row in rows[1:])


def test_python_level_path_with_an_extra_field_writes_it_in_text_and_csv():
    subclass, record_type = _with_depth(FunctionMonitor)
    stream = io.StringIO()
    with subclass(TextStreamRecorder(stream), record_type=record_type):
        leaf(1)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "index type function lineNo filename depth"
    assert lines[2].startswith("0 call leaf ")
    stream = io.StringIO()
    with subclass(CSVRecorder(stream), record_type=record_type):
        leaf(1)
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0] == [*FunctionRecord._fields, "depth"]
    assert len(rows) == 5 and all(row[-1].isdigit() for row in rows[1:])


def test_python_level_path_index_goes_on_across_sessions():
    recorder = ListRecorder()
    monitor = _Deep(recorder)
    for _ in range(2):
        with monitor:
            leaf(1)
    assert [r.index for r in recorder.records] == list(range(8))


def test_python_level_path_hides_pikos_frames_of_attach_and_nesting():
    recorder = ListRecorder()
    monitor = _Deep(recorder)

    @monitor.attach
    def decorated():
        with monitor:  # re-entrant: nothing of it recorded
            return leaf(3)

    assert decorated() == 3
    assert [(r.type, r.function) for r in recorder.records] == [
        ("call", "decorated"),
        ("call", "leaf"),
        ("c_call", "abs"),
        ("c_return", "abs"),
        ("return", "leaf"),
        ("return", "decorated"),
    ]


def test_python_level_path_covers_threads_started_while_enabled():
    recorder = ListRecorder()
    with _Deep(recorder):
        thread = threading.Thread(target=leaf, args=(5,))
        thread.start()
        thread.join()
    leaf_calls = [r for r in recorder.records if r.function == "leaf"]
    assert [r.type for r in leaf_calls] == ["call", "return"]
    assert not thread.is_alive()


def test_python_level_path_restores_the_previous_hook():
    def tool(frame, event, arg):
        pass

    sys.setprofile(tool)
    try:
        with pytest.warns(HookTakenWarning, match="tool"):
            with _Deep(ListRecorder()):
                assert sys.getprofile() is not tool
        assert sys.getprofile() is tool
    finally:
        sys.setprofile(None)


def test_python_level_path_error_stops_recording_and_the_program_goes_on(monkeypatch):
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)

    class Failing(FunctionMonitor):
        def gather_info(self, frame, event, arg):
            if event == "c_call":
                raise RuntimeError("broken gather_info")
            return super().gather_info(frame, event, arg)

    recorder = ListRecorder()
    monitor = Failing(recorder)
    with monitor:
        assert middle(2) == 1  # the program's result is untouched
    # The records before the error (abs's c_call: range is a type, no
    # c_call) are kept.
    assert [(r.type, r.function) for r in recorder.records] == [
        ("call", "middle"),
        ("call", "leaf"),
    ]
    assert isinstance(monitor.error, RuntimeError)
    assert len(reports) == 1
    assert reports[0].exc_value is monitor.error
    assert "stopped recording" in repr(reports[0].object)
    assert sys.getprofile() is None


def test_python_level_path_refuses_what_it_cannot_do_at_construction():
    with pytest.raises(ValueError, match="all_threads=True needs the native path"):
        _Deep(ListRecorder(), all_threads=True)
    with pytest.raises(ValueError, match="timed"):
        _Deep(ListRecorder(), timed=True)


class _DeepLines(LineMonitor):
    def gather_info(self, frame):
        return super().gather_info(frame)


@pytest.mark.parametrize(
    ("outer_class", "inner_class"),
    [
        (FunctionMonitor, _Deep),
        (_Deep, FunctionMonitor),
        (LineMonitor, _DeepLines),
        (_DeepLines, LineMonitor),
    ],
    ids=lambda c: c.__name__,
)
def test_python_level_and_native_monitors_nest(outer_class, inner_class):
    # The Python-level path holds the thread's hook as the original did: an
    # enclosing monitor is told (HookTakenWarning), sees nothing meanwhile,
    # and records again once it has its hook back.  A native line monitor on
    # sys.monitoring (3.12+) runs beside it instead: both see everything.
    outer, inner = ListRecorder(), ListRecorder()
    outer_monitor = outer_class(outer)
    with outer_monitor:
        leaf(1)
        inner_monitor = inner_class(inner)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inner_monitor.enable()
        leaf(2)
        inner_monitor.disable()
        gc.collect()  # the ended session's hook and what it kept go now
        leaf(3)
        native = inner_monitor if outer_monitor.python_level else outer_monitor
        beside = native._hook.backend == "monitoring"
    assert sys.getprofile() is None and sys.gettrace() is None
    taken = [w for w in caught if issubclass(w.category, HookTakenWarning)]
    assert len(taken) == (0 if beside else 1)

    def leaf_values(records):
        return [
            r.line.strip() if r._fields[1] == "function" else r.type
            for r in records
            if r.function == "leaf"
        ]

    one = leaf_values(_records(outer_class, lambda: leaf(1)))
    assert leaf_values(inner.records) == one
    assert leaf_values(outer.records) == one * (3 if beside else 2)


def test_python_level_path_honours_memory_interval():
    class Reused(LineMemoryMonitor):
        def gather_info(self, frame):
            return super().gather_info(frame)

    def grow():
        maps = []
        for _ in range(5):  # each map adds 4 MiB of address space (VMS)
            maps.append(mmap.mmap(-1, 4 << 20))
        for block in maps:
            block.close()

    once = _records(Reused, grow, memory_interval=float("inf"))
    assert len({(r.RSS, r.VMS) for r in once}) == 1  # one reading a session
    fresh = _records(Reused, grow)
    assert len({r.VMS for r in fresh}) > 1  # read again as the maps grew
