"""Pure-Python references and output oracles shared by the tests.

Nothing here imports pikos: the references are what the interpreter itself
reports through `sys.setprofile` / `sys.settrace`, and the oracles are the
SPEC's output rules written with the standard library.

Harness rule: code that lives directly in tests/ (this file, conftest.py and
the test modules) is the harness. Its events (the c_call of sys.setprofile,
the lines of the frame that enables a monitor, ...) are dropped from both
pikos' records and the reference. Everything monitored lives in
tests/scripts/.
"""

import csv
import gc
import io
import linecache
import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

NO_SOURCE = "<source unavailable>"

FUNCTION_FIELDS = ("index", "type", "function", "lineNo", "filename")
LINE_FIELDS = ("index", "function", "lineNo", "line", "filename")
FUNCTION_MEMORY_FIELDS = (
    "index",
    "type",
    "function",
    "RSS",
    "VMS",
    "lineNo",
    "filename",
)
LINE_MEMORY_FIELDS = ("index", "function", "lineNo", "RSS", "VMS", "line", "filename")

FUNCTION_TEMPLATE = "{:<8} {:<11} {:<30} {:<5} {}"
LINE_TEMPLATE = "{:<12} {:<50} {:<7} {} -- {}"
FUNCTION_MEMORY_LINE = "{:>8} | {:<11} | {:<12} | {:>15} | {:>15} | {:>6} | {}"
FUNCTION_MEMORY_HEADER = "{:<8} | {:<11} | {:<12} | {:<15} | {:<15} | {:>6} | {}"
LINE_MEMORY_LINE = "{:<12} | {:<30} | {:<7} | {:>15} | {:>15} | {} {}"
LINE_MEMORY_HEADER = "{:^12} | {:^30} | {:^7} | {:^15} | {:^15} | {} {}"

# fields -> (header template, line template), from SPEC section 3.
TEMPLATES = {
    FUNCTION_FIELDS: (FUNCTION_TEMPLATE, FUNCTION_TEMPLATE),
    LINE_FIELDS: (LINE_TEMPLATE, LINE_TEMPLATE),
    FUNCTION_MEMORY_FIELDS: (FUNCTION_MEMORY_HEADER, FUNCTION_MEMORY_LINE),
    LINE_MEMORY_FIELDS: (LINE_MEMORY_HEADER, LINE_MEMORY_LINE),
}


SCRIPTS_DIR = os.path.join(TESTS_DIR, "scripts")


def is_harness(filename):
    """True for the tests' own code (tests/ and its area folders), not for
    the target programs of tests/scripts/."""
    return filename.startswith(TESTS_DIR + os.sep) and not filename.startswith(
        SCRIPTS_DIR + os.sep
    )


def source_line(filename, lineno):
    """The line text pikos must report: linecache's line, right-stripped."""
    text = linecache.getline(filename, lineno).rstrip()
    return text if text else NO_SOURCE


def outcome(func, *args, **kwargs):
    """Call func and describe how it ended, so outcomes can be compared."""
    try:
        return ("returned", func(*args, **kwargs))
    except BaseException as exc:
        return ("raised", type(exc), exc.args)


def run_hooked(get_hook, set_hook, hook, func, *args, **kwargs):
    """outcome(func, ...) with ``hook`` installed by ``set_hook`` (and the
    previous hook put back), the garbage collector off meanwhile."""
    previous = get_hook()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        set_hook(hook)
        try:
            return outcome(func, *args, **kwargs)
        finally:
            set_hook(previous)
    finally:
        if gc_was_enabled:
            gc.enable()


def function_event(frame, event, arg):
    """(type, function, lineNo, filename) as the FunctionMonitor reports it."""
    code = frame.f_code
    name = arg.__name__ if event.startswith("c_") else code.co_name
    return (event, name, frame.f_lineno, code.co_filename)


def line_event(frame):
    """(function, lineNo, line, filename) as the LineMonitor reports it."""
    code = frame.f_code
    lineno = frame.f_lineno
    return (
        code.co_name,
        lineno,
        source_line(code.co_filename, lineno),
        code.co_filename,
    )


def profile_reference(func, *args, **kwargs):
    """Run func under a Python `sys.setprofile` hook.

    Returns (outcome, events); each event is (type, function, lineNo,
    filename) exactly as the FunctionMonitor must report it, harness events
    dropped.
    """
    events = []

    def hook(frame, event, arg):
        events.append(function_event(frame, event, arg))

    result = run_hooked(sys.getprofile, sys.setprofile, hook, func, *args, **kwargs)
    return result, [event for event in events if not is_harness(event[3])]


def trace_reference(func, *args, **kwargs):
    """Run func under a Python `sys.settrace` hook that traces every frame.

    Returns (outcome, events); each event is (function, lineNo, line,
    filename) exactly as the LineMonitor must report it, harness events
    dropped.
    """
    events = []

    def tracer(frame, event, arg):
        if event == "line":
            events.append(line_event(frame))
        return tracer

    result = run_hooked(sys.gettrace, sys.settrace, tracer, func, *args, **kwargs)
    return result, [event for event in events if not is_harness(event[3])]


def in_focus(frame, codes):
    """True when frame, or one of its callers, runs one of ``codes``.

    This is the focus window of the focused function monitors: it opens at
    the `call` event of a focused frame and closes after its `return`.
    """
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def focused_profile_reference(codes, func, *args, **kwargs):
    """profile_reference restricted to the focus windows of ``codes``.

    Returns (outcome, events) like profile_reference, keeping only the events
    whose frame (the caller's for `c_*` events) is inside a focus window.
    """
    codes = frozenset(codes)
    events = []

    def hook(frame, event, arg):
        if in_focus(frame, codes):
            events.append(function_event(frame, event, arg))

    result = run_hooked(sys.getprofile, sys.setprofile, hook, func, *args, **kwargs)
    return result, events


def focused_trace_reference(codes, func, *args, **kwargs):
    """trace_reference restricted to the lines of frames running ``codes``.

    Returns (outcome, events) like trace_reference: the lines of the focused
    functions themselves, none of their callees'.
    """
    codes = frozenset(codes)
    events = []

    def tracer(frame, event, arg):
        if event == "line":
            events.append(line_event(frame))
        return tracer

    def dispatch(frame, event, arg):
        # Only the focused frames get a local tracer (and so line events).
        return tracer if frame.f_code in codes else None

    result = run_hooked(sys.gettrace, sys.settrace, dispatch, func, *args, **kwargs)
    return result, events


def without_index(records):
    """Records as comparable tuples without their first field (index)."""
    return [tuple(record)[1:] for record in records]


def without_harness(records, filename_position=-1):
    return [r for r in records if not is_harness(tuple(r)[filename_position])]


def assert_same_events(actual, expected):
    """Compare two event lists; on failure show where they first diverge."""
    actual = [tuple(event) for event in actual]
    expected = [tuple(event) for event in expected]
    if actual == expected:
        return
    first = next(
        (i for i, (a, e) in enumerate(zip(actual, expected, strict=False)) if a != e),
        min(len(actual), len(expected)),
    )
    lines = [
        f"events differ first at position {first} "
        f"(pikos: {len(actual)} events, reference: {len(expected)})"
    ]
    for i in range(max(0, first - 4), first + 5):
        got = _short(actual[i]) if i < len(actual) else "-"
        want = _short(expected[i]) if i < len(expected) else "-"
        mark = "!!" if got != want else "  "
        lines.append(f"{mark} {i:5}  pikos: {got}")
        lines.append(f"{mark} {i:5}  ref:   {want}")
    raise AssertionError("\n".join(lines))


def _short(event):
    return tuple(
        os.path.basename(value) if isinstance(value, str) and os.sep in value else value
        for value in event
    )


# --- output oracles (SPEC section 4) ------------------------------------------


def csv_oracle(fields, records, **csv_kwargs):
    """What csv.writer writes for the header row and each record."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, **csv_kwargs)
    writer.writerow(fields)
    for record in records:
        writer.writerow(record)
    return buffer.getvalue()


def text_header(fields, formatted):
    if formatted:
        header = TEMPLATES[tuple(fields)][0].format(*fields)
    else:
        header = " ".join(fields)
    return header + "\n" + "-" * len(header) + "\n"


def one_line(value):
    """Line breaks inside a string value, as text output writes them: the
    two characters backslash-n and backslash-r (one record per line)."""
    if isinstance(value, str):
        return value.replace("\n", "\\n").replace("\r", "\\r")
    return value


def text_line(fields, record, formatted):
    record = [one_line(value) for value in record]
    if formatted:
        return TEMPLATES[tuple(fields)][1].format(*record) + "\n"
    return " ".join(str(value) for value in record) + "\n"


def text_oracle(fields, records, formatted):
    """Header, dash line, then one line per record (SPEC section 4)."""
    return text_header(fields, formatted) + "".join(
        text_line(fields, record, formatted) for record in records
    )
