"""``pikos-run``: a script (or ``-m module``) run under a monitor, checked as a
user sees it: the console script is run as a subprocess and its outputs are
parsed back."""

import ast
import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pikos
import pytest
from commands import (
    PIKOS,
    PIKOS_RUN,
    TIMEOUT,
    assert_error,
    command_env,
    parse_csv,
    python,
    read_csv,
    run,
    script,
    write,
)
from harness import (
    FUNCTION_FIELDS,
    FUNCTION_MEMORY_FIELDS,
    LINE_FIELDS,
    LINE_MEMORY_FIELDS,
)

PIKOS_DIR = str(Path(pikos.__file__).resolve().parent)

# pikos-run's monitor names -> the record fields, as lists (csv rows are).
FIELDS = {
    "functions": list(FUNCTION_FIELDS),
    "lines": list(LINE_FIELDS),
    "function_memory": list(FUNCTION_MEMORY_FIELDS),
    "line_memory": list(LINE_MEMORY_FIELDS),
}
MONITORS = list(FIELDS)
FUNCTION_MONITORS = ["functions", "function_memory"]
LINE_MONITORS = ["lines", "line_memory"]
MEMORY_MONITORS = ["function_memory", "line_memory"]
RECORDINGS = ["screen", "text", "csv"]
DEFAULT_OUTPUT = {"text": "monitor_records.log", "csv": "monitor_records.csv"}
RECORD_LINE = re.compile(r"\s*\d+[\s|]")

# A script with functions, a method and a nested function; it prints nothing.
BASIC = script("basic")

# Prints its argv on one line.
ARGV = script("argv")

# Appends a line to runs.txt next to itself each time it runs.
COUNTED = script("counted")

HELPER = script("helper")

# In sub/: uses helper.py next to it.
PROG = script("prog")


# --- helpers ---


def script_path(tmp_path, name="s.py"):
    return str(tmp_path.resolve() / name)


def check_csv_records(monitor, header, rows):
    assert header == FIELDS[monitor]
    assert rows, "no records"
    assert [int(row["index"]) for row in rows] == list(range(len(rows)))
    for row in rows:
        assert not row["filename"].startswith(PIKOS_DIR), row
        if "type" in row:
            assert row["type"] in {
                "call",
                "return",
                "c_call",
                "c_return",
                "c_exception",
            }, row
        if monitor in MEMORY_MONITORS:
            rss, vms = int(row["RSS"]), int(row["VMS"])
            assert rss > 0 and vms >= rss, row


def check_text_header(monitor, header, dashes):
    """The formatted header names the fields in order; a dash line as long."""
    position = 0
    for name in FIELDS[monitor]:
        match = re.compile(rf"\b{name}\b").search(header, position)
        assert match, (name, header)
        position = match.end()
    assert dashes == "-" * len(header), (header, dashes)


def text_records(monitor, lines):
    """Tokens of formatted record lines, up to the free-text ``line`` field:
    dicts with index, function (and type, RSS, VMS as the monitor has)."""
    fields = FIELDS[monitor]
    fixed = fields[: fields.index("line")] if "line" in fields else fields[:-1]
    records = []
    for line in lines:
        tokens = line.replace("|", " ").split()
        records.append(dict(zip(fixed, tokens, strict=False)))
        records[-1]["raw"] = line
    return records


def check_text_records(monitor, records, script):
    assert records, "no records"
    assert [int(record["index"]) for record in records] == list(range(len(records)))
    for record in records:
        assert PIKOS_DIR not in record["raw"], record
        if monitor in MEMORY_MONITORS:
            rss, vms = int(record["RSS"]), int(record["VMS"])
            assert rss > 0 and vms >= rss, record
    assert any(record["raw"].rstrip().endswith(script) for record in records)


def split_screen(stdout):
    """(header, dashes, record lines, other lines) of screen output."""
    lines = stdout.splitlines()
    starts = [
        i
        for i, line in enumerate(lines)
        if line.replace("|", " ").split()[:1] == ["index"]
    ]
    assert len(starts) == 1, stdout[:2000]
    start = starts[0]
    header, dashes = lines[start], lines[start + 1]
    records, others = [], lines[:start]
    for line in lines[start + 2 :]:
        (records if RECORD_LINE.match(line) else others).append(line)
    return header, dashes, records, others


def read_text_file(path):
    lines = Path(path).read_text().splitlines()
    assert len(lines) >= 2, lines
    return lines[0], lines[1], lines[2:]


def functions_of(records):
    return [record["function"] for record in records]


def argv_of(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("ARGV: ")]
    assert len(lines) == 1, stdout
    return ast.literal_eval(lines[0][len("ARGV: ") :])


def without_memory(rows):
    return [
        {key: value for key, value in row.items() if key not in ("RSS", "VMS")}
        for row in rows
    ]


# --- 1. every monitor, every recording ---


@pytest.mark.parametrize("recording", RECORDINGS)
@pytest.mark.parametrize("monitor", MONITORS)
def test_monitor_and_recording(tmp_path, monitor, recording):
    write(tmp_path / "s.py", BASIC)
    result = run(monitor, "s.py", "--recording", recording, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    script = script_path(tmp_path)
    if recording == "csv":
        assert result.stdout == ""
        assert not (tmp_path / "monitor_records.log").exists()
        header, rows = read_csv(tmp_path / "monitor_records.csv")
        check_csv_records(monitor, header, rows)
        functions = [row["function"] for row in rows]
        assert any(row["filename"] == script for row in rows)
        first = rows[0]
    else:
        if recording == "text":
            assert result.stdout == ""
            assert not (tmp_path / "monitor_records.csv").exists()
            header, dashes, lines = read_text_file(tmp_path / "monitor_records.log")
        else:
            assert not (tmp_path / "monitor_records.csv").exists()
            assert not (tmp_path / "monitor_records.log").exists()
            header, dashes, lines, others = split_screen(result.stdout)
            assert others == []
        check_text_header(monitor, header, dashes)
        records = text_records(monitor, lines)
        check_text_records(monitor, records, script)
        functions = functions_of(records)
        first = records[0]
    for name in ("work", "before", "method", "inner", "outer"):
        assert name in functions, name
    assert first["function"] == "<module>"
    if monitor in FUNCTION_MONITORS:
        assert first["type"] == "call"


# --- 2. -o ---


@pytest.mark.parametrize("monitor", MONITORS)
def test_output_csv_file(tmp_path, monitor):
    write(tmp_path / "s.py", BASIC)
    result = run(monitor, "s.py", "--recording", "csv", "-o", "calls.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "monitor_records.csv").exists()
    header, rows = read_csv(tmp_path / "calls.txt")
    check_csv_records(monitor, header, rows)


@pytest.mark.parametrize("monitor", MONITORS)
def test_output_text_file(tmp_path, monitor):
    write(tmp_path / "s.py", BASIC)
    result = run(
        monitor, "s.py", "--recording", "text", "--output", "out.csv", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "monitor_records.log").exists()
    header, dashes, lines = read_text_file(tmp_path / "out.csv")
    check_text_header(monitor, header, dashes)
    check_text_records(monitor, text_records(monitor, lines), script_path(tmp_path))


@pytest.mark.parametrize("monitor", MONITORS)
def test_output_csv_name_means_csv(tmp_path, monitor):
    write(tmp_path / "s.py", BASIC)
    result = run(monitor, "s.py", "-o", "out.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    header, rows = read_csv(tmp_path / "out.csv")
    check_csv_records(monitor, header, rows)


@pytest.mark.parametrize("monitor", MONITORS)
def test_output_other_name_means_text(tmp_path, monitor):
    write(tmp_path / "s.py", BASIC)
    result = run(monitor, "s.py", "-o", "out.log", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    header, dashes, lines = read_text_file(tmp_path / "out.log")
    check_text_header(monitor, header, dashes)
    check_text_records(monitor, text_records(monitor, lines), script_path(tmp_path))


@pytest.mark.parametrize("monitor", MONITORS)
def test_output_dash_csv_to_stdout(tmp_path, monitor):
    write(tmp_path / "s.py", BASIC)
    result = run(monitor, "s.py", "-o", "-", "--recording", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "-").exists()
    assert not (tmp_path / "monitor_records.csv").exists()
    header, rows = parse_csv(result.stdout)
    check_csv_records(monitor, header, rows)
    assert "work" in [row["function"] for row in rows]


# --- 3. options before or after the script ---


@pytest.mark.parametrize(
    "args",
    [
        ["--recording", "csv", "functions", "s.py"],
        ["functions", "s.py", "--recording", "csv"],
        ["functions", "s.py", "--recording=csv"],
        ["--recording=csv", "functions", "s.py"],
        ["functions", "--recording", "csv", "s.py"],
        ["functions", "--recording=csv", "s.py"],
        ["functions", "-o", "monitor_records.csv", "s.py"],
        ["functions", "--buffered", "s.py", "--recording", "csv"],
    ],
    ids=[
        "before",
        "after",
        "after-equals",
        "before-equals",
        "between",
        "between-equals",
        "between-output",
        "between-buffered",
    ],
)
def test_options_before_between_or_after_the_script(tmp_path, args):
    write(tmp_path / "s.py", BASIC)
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records("functions", header, rows)


@pytest.mark.parametrize(
    "args",
    [
        ["functions", "s.py", "--recording", "csv", "--focused-on=work"],
        ["functions", "s.py", "--recording", "csv", "--focused-on", "work"],
        ["--focused-on=work", "functions", "s.py", "--recording", "csv"],
        ["--focused-on", "work", "--recording", "csv", "functions", "s.py"],
    ],
    ids=["after-equals", "after-separate", "before-equals", "before-separate"],
)
def test_focused_on_forms(tmp_path, args):
    write(tmp_path / "s.py", BASIC)
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records("functions", header, rows)
    assert (rows[0]["type"], rows[0]["function"]) == ("call", "work")
    assert "before" not in [row["function"] for row in rows]


# --- 4. the script's arguments ---


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["functions", "s.py", "a", "--flag", "-x", "1", "--recording", "csv"],
            ["s.py", "a", "--flag", "-x", "1"],
        ),
        (
            ["functions", "s.py", "--recording", "csv", "--", "-o", "z", "--recording"],
            ["s.py", "-o", "z", "--recording"],
        ),
        (["functions", "s.py", "-h", "--recording", "csv"], ["s.py", "-h"]),
        (
            ["functions", "s.py", "--help", "x", "--recording=csv"],
            ["s.py", "--help", "x"],
        ),
        (["--recording", "csv", "functions", "s.py"], ["s.py"]),
        (
            ["--recording", "csv", "functions", "--", "s.py", "-o", "z"],
            ["s.py", "-o", "z"],
        ),
    ],
    ids=["mixed", "double-dash", "help", "long-help", "none", "dash-before-script"],
)
def test_script_arguments(tmp_path, args, expected):
    write(tmp_path / "s.py", ARGV)
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert argv_of(result.stdout) == expected
    assert "usage:" not in result.stdout + result.stderr
    # pikos took --recording csv: no records on the screen, a CSV file.
    assert result.stdout.splitlines() == [f"ARGV: {expected!r}"]
    assert not (tmp_path / "z").exists()
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records("functions", header, rows)
    assert "work" in [row["function"] for row in rows]


def test_script_argv0_is_path_as_given(tmp_path):
    write(tmp_path / "sub" / "s.py", ARGV)
    result = run("functions", "sub/s.py", "b", "--recording", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert argv_of(result.stdout) == ["sub/s.py", "b"]


# --- 5. __main__ semantics ---

MAIN_CHECKS = script("main_checks")


@pytest.mark.parametrize("monitor", MONITORS)
def test_main_semantics(tmp_path, monitor):
    write(tmp_path / "sub" / "main_checks.py", MAIN_CHECKS)
    write(tmp_path / "sub" / "helper.py", HELPER)
    result = run(monitor, "sub/main_checks.py", "--recording", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    sub = os.path.realpath(tmp_path / "sub")
    assert result.stdout.splitlines() == [
        "NAME: __main__",
        f"PATH0: {sub}",
        f"FILE: {os.path.join(sub, 'main_checks.py')}",
        "HELPER: 6",
        "PICKLE: __main__ Point 7",
        "MAIN: True",
    ]
    assert (tmp_path / "sub" / "runs.txt").read_text() == "run\n"
    plain = python("sub/main_checks.py", cwd=tmp_path)
    assert plain.stdout == result.stdout


SPAWNS = script("spawns")


def test_multiprocessing_spawn_finds_main(tmp_path):
    """A spawned child re-imports the script's functions from __main__."""
    write(tmp_path / "s.py", SPAWNS)
    plain = python("s.py", cwd=tmp_path)
    result = run("functions", "s.py", "--recording", "csv", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain.stdout == "OUT: [2, 4, 6]\n"
    assert result.stderr == plain.stderr
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records("functions", header, rows)
    assert (rows[-1]["type"], rows[-1]["function"]) == ("return", "<module>")


# --- 6. -m module ---

TOOL = script("tool")


@pytest.mark.parametrize("monitor", MONITORS)
def test_module(tmp_path, monitor):
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "tool.py", TOOL)
    result = run(monitor, "-m", "pkg.tool", "x", "--recording", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tool = str(tmp_path.resolve() / "pkg" / "tool.py")
    argv = argv_of(result.stdout)
    assert argv == [tool, "x"]
    assert "NAME: __main__" in result.stdout.splitlines()
    assert f"PATH0: {tmp_path.resolve()}" in result.stdout
    plain = python("-m", "pkg.tool", "x", cwd=tmp_path)
    assert plain.stdout == result.stdout
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    assert "work" in [row["function"] for row in rows]
    assert any(row["filename"] == tool for row in rows)


def test_module_package_main(tmp_path):
    write(tmp_path / "pkg2" / "__init__.py", "")
    write(tmp_path / "pkg2" / "__main__.py", TOOL)
    result = run(
        "functions", "-m", "pkg2", "y", "z", "--recording", "csv", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    main = str(tmp_path.resolve() / "pkg2" / "__main__.py")
    assert argv_of(result.stdout) == [main, "y", "z"]
    plain = python("-m", "pkg2", "y", "z", cwd=tmp_path)
    assert plain.stdout == result.stdout
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records("functions", header, rows)
    assert "work" in [row["function"] for row in rows]


def test_directory_with_main(tmp_path):
    write(tmp_path / "app" / "__main__.py", TOOL)
    result = run("functions", "app", "q", "--recording", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plain = python("app", "q", cwd=tmp_path)

    def same(stdout):  # sys.path[0]: see test_directory_and_zip_paths
        return [line for line in stdout.splitlines() if not line.startswith("PATH0")]

    assert same(plain.stdout) == same(result.stdout)
    assert argv_of(result.stdout) == ["app", "q"]
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records("functions", header, rows)
    assert "work" in [row["function"] for row in rows]


PATHS = script("paths")


@pytest.mark.parametrize("kind", ["directory", "zip"])
def test_directory_and_zip_paths(tmp_path, kind):
    write(tmp_path / "app" / "__main__.py", PATHS)
    write(tmp_path / "app" / "sibling.py", "VALUE = 42\n")
    target = "app"
    if kind == "zip":
        import zipfile

        target = "app.zip"
        with zipfile.ZipFile(tmp_path / target, "w") as archive:
            archive.write(tmp_path / "app" / "__main__.py", "__main__.py")
            archive.write(tmp_path / "app" / "sibling.py", "sibling.py")
    plain = python(target, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "SIBLING: 42" in plain.stdout
    result = run("functions", target, "--recording", "csv", cwd=tmp_path)
    assert result.stderr == plain.stderr
    assert result.returncode == 0
    assert result.stdout == plain.stdout


# --- 7. --focused-on ---


@pytest.mark.parametrize("monitor", FUNCTION_MONITORS)
@pytest.mark.parametrize(
    "focus, first, inside",
    [
        ("work", "work", {"work"}),
        ("Klass.method", "method", {"method", "work"}),
        ("outer.inner", "inner", {"inner"}),
        ("s.work", "work", {"work"}),
        ("__main__.Klass.method", "method", {"method", "work"}),
    ],
)
def test_focus_in_script(tmp_path, monitor, focus, first, inside):
    write(tmp_path / "s.py", BASIC)
    result = run(
        monitor, "s.py", "--recording", "csv", "--focused-on", focus, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    assert (rows[0]["type"], rows[0]["function"]) == ("call", first)
    python_functions = {
        row["function"] for row in rows if row["type"] in ("call", "return")
    }
    assert python_functions == inside
    assert "before" not in [row["function"] for row in rows]
    assert "<module>" not in [row["function"] for row in rows]


@pytest.mark.parametrize("monitor", LINE_MONITORS)
def test_focus_lines(tmp_path, monitor):
    write(tmp_path / "s.py", BASIC)
    result = run(
        monitor, "s.py", "--recording", "csv", "--focused-on=work", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    assert {row["function"] for row in rows} == {"work"}
    # work runs twice: from the module and from Klass.method.
    assert [row["line"].strip() for row in rows].count("total = 0") == 2


@pytest.mark.parametrize("monitor", FUNCTION_MONITORS)
def test_focus_list(tmp_path, monitor):
    write(tmp_path / "s.py", BASIC)
    result = run(
        monitor,
        "s.py",
        "--recording",
        "csv",
        "--focused-on",
        "work,Klass.method",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    calls = [row["function"] for row in rows if row["type"] == "call"]
    assert calls == ["work", "method", "work"]
    assert "before" not in [row["function"] for row in rows]
    assert "inner" not in [row["function"] for row in rows]


@pytest.mark.parametrize("monitor", MONITORS)
@pytest.mark.parametrize(
    "focus, name",
    [
        ("helper.compute", "compute"),
        ("helper.HKlass.method", "method"),
        ("helper.HKlass.smethod", "smethod"),
    ],
)
def test_focus_helper_module(tmp_path, monitor, focus, name):
    write(tmp_path / "sub" / "prog.py", PROG)
    write(tmp_path / "sub" / "helper.py", HELPER)
    result = run(
        monitor,
        "sub/prog.py",
        "--recording",
        "csv",
        "--focused-on",
        focus,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sub" / "runs.txt").read_text() == "run\n"
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    helper = str(tmp_path.resolve() / "sub" / "helper.py")
    assert rows[0]["function"] == name
    assert rows[0]["filename"] == helper
    functions = {row["function"] for row in rows}
    assert "work" not in functions and "before" not in functions
    if monitor in FUNCTION_MONITORS:
        assert rows[0]["type"] == "call"
        assert rows[-1]["type"] == "return"
    else:
        if name != "method":  # HKlass.method calls compute
            assert functions == {name}


@pytest.mark.parametrize("monitor", MONITORS)
@pytest.mark.parametrize("focus", ["prog.work", "__main__.work", "work"])
def test_focus_script_stem_does_not_rerun(tmp_path, monitor, focus):
    write(tmp_path / "sub" / "prog.py", PROG)
    write(tmp_path / "sub" / "helper.py", HELPER)
    result = run(
        monitor,
        "sub/prog.py",
        "--recording",
        "csv",
        f"--focused-on={focus}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sub" / "runs.txt").read_text() == "run\n"
    assert result.stdout.count("PATH0:") == 1
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    assert rows[0]["function"] == "work"
    assert "before" not in {row["function"] for row in rows}


def test_focus_script_stem_in_cwd_does_not_rerun(tmp_path):
    write(tmp_path / "prog.py", COUNTED)
    result = run(
        "functions",
        "prog.py",
        "--recording",
        "csv",
        "--focused-on=prog.work",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "runs.txt").read_text() == "run\n"
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    assert (rows[0]["type"], rows[0]["function"]) == ("call", "work")
    assert (rows[-1]["type"], rows[-1]["function"]) == ("return", "work")
    assert "before" not in {row["function"] for row in rows}


# --- 8. the script's own output ---

OUTPUT = script("output")


OUTPUT_LINES = script("output_lines")


@pytest.mark.parametrize("monitor", MONITORS)
def test_script_output_unchanged_csv(tmp_path, monitor):
    write(tmp_path / "s.py", OUTPUT)
    plain = python("s.py", cwd=tmp_path, text=False)
    result = run(monitor, "s.py", "--recording", "csv", cwd=tmp_path, text=False)
    assert result.returncode == plain.returncode == 0
    assert result.stdout == plain.stdout
    assert result.stderr == plain.stderr


@pytest.mark.parametrize("monitor", MONITORS)
def test_script_output_unchanged_screen(tmp_path, monitor):
    # Whole lines only: records are written to the same stdout, so a line the
    # script writes in pieces can have a record in its middle.
    write(tmp_path / "s.py", OUTPUT_LINES)
    plain = python("s.py", cwd=tmp_path)
    result = run(monitor, "s.py", cwd=tmp_path)
    assert result.returncode == plain.returncode == 0
    assert result.stderr == plain.stderr
    header, dashes, lines, others = split_screen(result.stdout)
    check_text_header(monitor, header, dashes)
    assert others == plain.stdout.splitlines()
    records = text_records(monitor, lines)
    check_text_records(monitor, records, script_path(tmp_path))
    assert "work" in functions_of(records)


# --- 9. errors ---


ERRORS = [
    ([], ["monitor"]),
    (["nosuch", "s.py"], ["nosuch"]),
    (["functions", "missing.py"], ["missing.py"]),
    (["functions"], ["script"]),
    (["functions", "adir"], ["adir", "__main__"]),
    (["functions", "s.py", "--focused-on", "nosuch"], ["nosuch"]),
    (["functions", "s.py", "--focused-on=nosuchmod.func"], ["nosuchmod.func"]),
    (["functions", "s.py", "--focused-on=helper.nosuch"], ["helper.nosuch", "nosuch"]),
    (["functions", "s.py", "--focused-on=Klass.nosuch"], ["Klass.nosuch"]),
    (["functions", "s.py", "--focused-on=work,nosuch"], ["nosuch"]),
    (["functions", "s.py", "--focused-on=Klass"], ["Klass"]),
    (["functions", "s.py", "--focused-on=helper.HKlass"], ["helper.HKlass"]),
    (["functions", "s.py", "--focused-on="], ["--focused-on"]),
    (["functions", "s.py", "-o", "nodir/out.csv"], ["nodir"]),
    (["functions", "s.py", "--recording", "csv", "-o", "adir"], ["adir"]),
    (["functions", "s.py", "-o", "adir"], ["adir"]),
    (["functions", "s.py", "--recording", "xml"], ["xml"]),
    (["functions", "-m", "nosuchmod"], ["nosuchmod"]),
    (["functions", "-m", "pkg"], ["pkg"]),
    (["--bogus", "functions", "s.py"], ["--bogus"]),
    (["functions", "--bogus", "s.py"], ["--bogus"]),
]
ERROR_IDS = [
    "no-arguments",
    "unknown-monitor",
    "missing-script",
    "no-script",
    "directory-without-main",
    "unknown-focus",
    "unknown-dotted-focus",
    "unknown-helper-attribute-focus",
    "unknown-method-focus",
    "unknown-focus-in-list",
    "class-focus",
    "helper-class-focus",
    "empty-focus",
    "output-in-missing-directory",
    "output-is-directory-csv",
    "output-is-directory-text",
    "unknown-recording",
    "missing-module",
    "package-without-main",
    "unknown-option-before-monitor",
    "unknown-option-before-script",
]

NOT_RUN = script("not_run")


def error_setup(tmp_path):
    write(tmp_path / "s.py", NOT_RUN)
    write(tmp_path / "helper.py", HELPER)
    write(tmp_path / "pkg" / "__init__.py", "")
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "x.py").write_text("print('RAN')\n")


@pytest.mark.parametrize("args, names", ERRORS, ids=ERROR_IDS)
def test_errors(tmp_path, args, names):
    error_setup(tmp_path)
    result = run(*args, cwd=tmp_path)
    assert_error(result, "pikos-run", *names)
    assert result.stdout == ""
    assert not (tmp_path / "monitor_records.csv").exists()


@pytest.mark.parametrize("args, names", ERRORS, ids=ERROR_IDS)
def test_errors_pikos_run(tmp_path, args, names):
    error_setup(tmp_path)
    result = run("run", *args, cwd=tmp_path, command=PIKOS)
    assert_error(result, "pikos run", *names)
    assert result.stdout == ""


def test_error_unknown_command(tmp_path):
    result = run("nosuch", "s.py", cwd=tmp_path, command=PIKOS)
    assert_error(result, "pikos", "nosuch")
    assert result.stdout == ""


def test_error_python_m_pikos_run(tmp_path):
    error_setup(tmp_path)
    result = python("-m", "pikos", "run", "nosuch", "s.py", cwd=tmp_path)
    assert_error(result, "python -m pikos run", "nosuch")


# --- 10. the script's exception ---

RAISES = script("raises")


@pytest.mark.parametrize("monitor", MONITORS)
def test_script_exception(tmp_path, monitor):
    write(tmp_path / "s.py", RAISES)
    plain = python("s.py", cwd=tmp_path)
    result = run(monitor, "s.py", "--recording", "csv", cwd=tmp_path)
    assert plain.returncode == 1
    assert result.returncode == 1
    assert "ValueError: deep 1" in plain.stderr
    assert result.stderr == plain.stderr
    assert result.stdout == plain.stdout == "OUT: before\n"
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    if monitor in FUNCTION_MONITORS:
        tail = [(row["type"], row["function"]) for row in rows[-4:]]
        assert tail == [
            ("return", "c"),
            ("return", "b"),
            ("return", "a"),
            ("return", "<module>"),
        ]
        assert ("call", "work") in [(row["type"], row["function"]) for row in rows]
    else:
        # The raise line calls work(2): its lines come last.
        assert rows[-1]["function"] == "work"
        last_c = [row for row in rows if row["function"] == "c"][-1]
        assert "raise ValueError" in last_c["line"]


EXCEPTIONS = script("exceptions")


@pytest.mark.parametrize("monitor", MONITORS)
@pytest.mark.parametrize("args", [[], ["top"]], ids=["chained", "module-level"])
def test_script_exception_like_python(tmp_path, monitor, args):
    """A thread's exception, a chained one, one raised by the module code
    itself and atexit handlers: output and status as with plain python."""
    write(tmp_path / "s.py", EXCEPTIONS)
    plain = python("s.py", *args, cwd=tmp_path)
    result = run(monitor, "s.py", *args, "--recording", "csv", cwd=tmp_path)
    assert plain.returncode == 1
    assert result.returncode == 1
    assert result.stdout == plain.stdout == "OUT: atexit\n"
    assert "RuntimeError: in a thread" in plain.stderr
    assert result.stderr == plain.stderr
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)


@pytest.mark.parametrize("recording", ["screen", "text"])
def test_script_exception_other_recordings(tmp_path, recording):
    write(tmp_path / "s.py", RAISES)
    plain = python("s.py", cwd=tmp_path)
    result = run("functions", "s.py", "--recording", recording, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == plain.stderr
    if recording == "text":
        header, dashes, lines = read_text_file(tmp_path / "monitor_records.log")
    else:
        header, dashes, lines, others = split_screen(result.stdout)
        assert others == ["OUT: before"]
    records = text_records("functions", lines)
    check_text_records("functions", records, script_path(tmp_path))
    assert (records[-1]["type"], records[-1]["function"]) == ("return", "<module>")


@pytest.mark.parametrize("monitor", MONITORS)
def test_script_syntax_error(tmp_path, monitor):
    write(tmp_path / "s.py", "def work():\n    return 1\nx = (1,\nprint('hi')\n")
    plain = python("s.py", cwd=tmp_path)
    result = run(monitor, "s.py", "--recording", "csv", cwd=tmp_path)
    assert plain.returncode == 1
    assert "SyntaxError" in plain.stderr
    assert result.returncode == 1
    assert result.stderr == plain.stderr
    assert result.stdout == ""


RESTRICTED = script("restricted")


@pytest.mark.parametrize("monitor", MONITORS)
def test_restricted_builtins(tmp_path, monitor):
    """Code the script runs with restricted builtins is recorded like any."""
    write(tmp_path / "s.py", RESTRICTED)
    plain = python("s.py", cwd=tmp_path)
    result = run(monitor, "s.py", "--recording", "csv", cwd=tmp_path)
    assert result.returncode == plain.returncode == 0
    assert result.stdout == plain.stdout
    assert result.stderr == plain.stderr == ""
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    # Recording goes on after the namedtuple and the exec: work runs twice.
    if monitor in FUNCTION_MONITORS:
        calls = [
            row for row in rows if (row["type"], row["function"]) == ("call", "work")
        ]
        assert len(calls) == 2
        assert (rows[-1]["type"], rows[-1]["function"]) == ("return", "<module>")
    else:
        assert [row["line"].strip() for row in rows].count("return 1") == 2


# --- 11. sys.exit and KeyboardInterrupt ---

EXITS = script("exits")


@pytest.mark.parametrize("monitor", MONITORS)
def test_sys_exit_status(tmp_path, monitor):
    write(tmp_path / "s.py", "ARGS = (3,)\n" + EXITS)
    plain = python("s.py", cwd=tmp_path)
    result = run(monitor, "s.py", "--recording", "csv", cwd=tmp_path)
    assert plain.returncode == 3
    assert result.returncode == 3
    assert result.stderr == plain.stderr == ""
    assert result.stdout == plain.stdout
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    if monitor in FUNCTION_MONITORS:
        tail = [(row["type"], row["function"]) for row in rows[-2:]]
        assert tail[-1] == ("return", "<module>")
        assert ("return", "leave") in [(row["type"], row["function"]) for row in rows]
    else:
        assert rows[-1]["function"] == "leave"


@pytest.mark.parametrize("monitor", MONITORS)
def test_sys_exit_message(tmp_path, monitor):
    write(tmp_path / "s.py", 'ARGS = ("leaving: message",)\n' + EXITS)
    plain = python("s.py", cwd=tmp_path)
    result = run(monitor, "s.py", "--recording", "csv", cwd=tmp_path)
    assert plain.returncode == 1
    assert result.returncode == 1
    assert plain.stderr == "leaving: message\n"
    assert result.stderr == plain.stderr
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    if monitor in FUNCTION_MONITORS:
        assert (rows[-1]["type"], rows[-1]["function"]) == ("return", "<module>")


@pytest.mark.parametrize("status", ["0,", "None,", ""])
def test_sys_exit_zero(tmp_path, status):
    write(tmp_path / "s.py", f"ARGS = ({status})\n" + EXITS)
    result = run("functions", "s.py", "--recording", "csv", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == ""


INTERRUPTED = script("interrupted")


@pytest.mark.parametrize("monitor", MONITORS)
def test_keyboard_interrupt(tmp_path, monitor):
    write(tmp_path / "s.py", INTERRUPTED)
    plain = python("s.py", cwd=tmp_path)
    result = run(monitor, "s.py", "--recording", "csv", cwd=tmp_path)
    assert plain.returncode != 0
    assert result.returncode == plain.returncode
    assert "KeyboardInterrupt" in plain.stderr
    assert result.stderr == plain.stderr
    assert result.stdout == plain.stdout
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    if monitor in FUNCTION_MONITORS:
        assert (rows[-1]["type"], rows[-1]["function"]) == ("return", "<module>")
        assert ("call", "work") in [(row["type"], row["function"]) for row in rows]
    else:
        assert rows[-1]["function"] == "stop"


# --- 12. threads ---

THREADED = script("threaded")


@pytest.mark.parametrize("monitor", MONITORS)
def test_threads_waited_for(tmp_path, monitor):
    write(tmp_path / "s.py", THREADED)
    result = run(monitor, "s.py", "--recording", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "OUT: main done\n"
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header, rows)
    functions = [row["function"] for row in rows]
    for name in ("enumerate", "join", "_shutdown", "_wait_for_tstate_lock"):
        assert name not in functions, name
    script = script_path(tmp_path)
    work_rows = [row for row in rows if row["function"] == "work"]
    assert work_rows and all(row["filename"] == script for row in work_rows)
    if monitor in FUNCTION_MONITORS:
        pairs = [(row["type"], row["function"]) for row in rows]
        assert ("call", "work") in pairs and ("return", "work") in pairs
        assert ("c_call", "sum") in pairs
        # The thread's work ends after the main code returned.
        assert pairs.index(("return", "<module>")) < pairs.index(("return", "work"))
    else:
        lines = [row["line"].strip() for row in work_rows]
        assert "return sum(range(5))" in lines


# --- 13. --buffered ---


DETERMINISTIC = script("deterministic")


def masked_records(tmp_path, monitor, recording, result):
    """The records without their memory values, as comparable lists."""
    if recording == "csv":
        header, rows = read_csv(tmp_path / "monitor_records.csv")
        check_csv_records(monitor, header, rows)
        return without_memory(rows)
    if recording == "text":
        header, dashes, lines = read_text_file(tmp_path / "monitor_records.log")
    else:
        header, dashes, lines, others = split_screen(result.stdout)
        assert others == []
    check_text_header(monitor, header, dashes)
    check_text_records(monitor, text_records(monitor, lines), script_path(tmp_path))
    return [re.sub(r"\s*\d{6,}", " N", line) for line in lines]


@pytest.mark.parametrize("recording", RECORDINGS)
@pytest.mark.parametrize("monitor", MONITORS)
def test_buffered(tmp_path, monitor, recording):
    write(tmp_path / "s.py", DETERMINISTIC)
    plain = run(monitor, "s.py", "--recording", recording, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    expected = masked_records(tmp_path, monitor, recording, plain)
    for name in DEFAULT_OUTPUT.values():
        (tmp_path / name).unlink(missing_ok=True)
    buffered = run(
        monitor, "s.py", "--buffered", "--recording", recording, cwd=tmp_path
    )
    assert buffered.returncode == 0, buffered.stderr
    assert buffered.stderr == ""
    got = masked_records(tmp_path, monitor, recording, buffered)
    assert len(got) > 100
    assert got == expected


@pytest.mark.parametrize("monitor", MONITORS)
def test_buffered_output_dash(tmp_path, monitor):
    write(tmp_path / "s.py", DETERMINISTIC)
    result = run(
        "--buffered", monitor, "s.py", "-o", "-", "--recording", "csv", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    header, rows = parse_csv(result.stdout)
    check_csv_records(monitor, header, rows)


# --- 14. live file output ---

SLEEPER = script("sleeper")


def _live_ready(path, monitor, recording):
    """Whether ``path`` already holds the header and the work done."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return False
    if recording == "csv":
        lines = text.splitlines()
        if not lines or lines[0].split(",") != FIELDS[monitor]:
            return False
        rows = list(csv.reader(lines[1:]))
        if monitor in FUNCTION_MONITORS:
            return [r[1:3] for r in rows].count(["return", "work"]) == 5
        return [r[1] for r in rows].count("work") >= 5
    lines = text.splitlines()
    if len(lines) < 2 or lines[1] != "-" * len(lines[0]):
        return False
    records = text_records(monitor, [line for line in lines[2:] if line.strip()])
    if monitor in FUNCTION_MONITORS:
        pairs = [(r.get("type"), r.get("function")) for r in records]
        return pairs.count(("return", "work")) == 5
    return functions_of(records).count("work") >= 5


@pytest.mark.parametrize("recording", ["csv", "text"])
@pytest.mark.parametrize("monitor", MONITORS)
def test_live_file_output(tmp_path, monitor, recording):
    write(tmp_path / "s.py", SLEEPER)
    output = tmp_path / DEFAULT_OUTPUT[recording]
    process = subprocess.Popen(
        [PIKOS_RUN, monitor, "s.py", "--recording", recording],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=command_env(),
    )
    try:
        assert process.stdout.readline() == "SLEEPING\n"
        deadline = time.monotonic() + 1.2
        ready = _live_ready(output, monitor, recording)
        while not ready and time.monotonic() < deadline:
            time.sleep(0.05)
            ready = _live_ready(output, monitor, recording)
        still_running = process.poll() is None
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert still_running, "the script ended before the file was checked"
    assert ready, Path(output).read_text() if output.exists() else "no file"


# --- 15. pikos run, python -m pikos run ---


@pytest.mark.parametrize(
    "command, prefix",
    [(PIKOS, ["run"]), (sys.executable, ["-m", "pikos", "run"])],
    ids=["pikos-run-command", "python-m-pikos-run"],
)
@pytest.mark.parametrize("monitor", MONITORS)
def test_umbrella_command_same(tmp_path, command, prefix, monitor):
    write(tmp_path / "s.py", DETERMINISTIC)
    direct = run(monitor, "s.py", "--recording", "csv", cwd=tmp_path)
    assert direct.returncode == 0, direct.stderr
    header, expected = read_csv(tmp_path / "monitor_records.csv")
    (tmp_path / "monitor_records.csv").unlink()
    result = run(
        *prefix, monitor, "s.py", "--recording", "csv", cwd=tmp_path, command=command
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == direct.stdout
    assert result.stderr == ""
    header2, rows = read_csv(tmp_path / "monitor_records.csv")
    check_csv_records(monitor, header2, rows)
    assert without_memory(rows) == without_memory(expected)


@pytest.mark.parametrize(
    "command, prefix",
    [(PIKOS, ["run"]), (sys.executable, ["-m", "pikos", "run"])],
    ids=["pikos-run-command", "python-m-pikos-run"],
)
def test_umbrella_command_argv_and_exit(tmp_path, command, prefix):
    write(tmp_path / "s.py", ARGV + "raise SystemExit(4)\n")
    result = run(
        *prefix,
        "functions",
        "s.py",
        "a",
        "-h",
        "--recording",
        "csv",
        cwd=tmp_path,
        command=command,
    )
    assert result.returncode == 4, result.stderr
    assert argv_of(result.stdout) == ["s.py", "a", "-h"]


@pytest.mark.parametrize(
    "command", [[PIKOS], [sys.executable, "-m", "pikos"]], ids=["pikos", "python-m"]
)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_pikos_help(tmp_path, command, flag):
    result = run(*command[1:], flag, cwd=tmp_path, command=command[0])
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("usage: ")
    commands = [
        line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")
    ]
    assert "run" in commands and "plot" in commands


# --- 16. pikos-run -h ---


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help(tmp_path, flag):
    result = run(flag, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("usage: pikos-run")
    for word in ("functions", "line_memory", "--recording", "--focused-on", "-m"):
        assert word in result.stdout


@pytest.mark.parametrize(
    "command, prefix, usage",
    [
        (PIKOS, ["run"], "usage: pikos run"),
        (sys.executable, ["-m", "pikos", "run"], "usage: python -m pikos run"),
    ],
    ids=["pikos", "python-m"],
)
def test_help_umbrella(tmp_path, command, prefix, usage):
    result = run(*prefix, "-h", cwd=tmp_path, command=command)
    assert result.returncode == 0
    assert result.stdout.startswith(usage)


def test_help_before_script_is_pikos(tmp_path):
    write(tmp_path / "s.py", ARGV)
    result = run("-h", "functions", "s.py", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: pikos-run")
    assert "ARGV:" not in result.stdout
