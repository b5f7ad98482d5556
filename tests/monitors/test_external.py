"""pikos.external: cProfile, line_profiler and yappi as re-entrant monitors,
and the decorator factories of pikos.external.api (with the real packages)."""

import cProfile
import inspect
import io
import json
import os
import pstats
import subprocess
import sys
import textwrap

import line_profiler
import pytest
import yappi
from pikos.external import LineProfiler, PythonCProfiler, YappiProfiler
from pikos.external.api import cprofile, line_profile, yappi_profile
from pikos.monitors.monitor import Monitor

# ---------------------------------------------------------------- workloads


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


#: fib(n) makes FIB_CALLS[n] calls of fib (one of them primitive).
FIB_CALLS = {5: 15, 6: 25, 7: 41, 10: 177}


def helper(x):
    return x + 1


def accumulate(n):
    total = 0
    for _ in range(n):
        received = yield total
        total += helper(received)
    return total


def loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


def other_loop(n):
    total = 1
    for i in range(n):
        total *= i + 1
    return total


def squares(n):
    for i in range(n):
        value = i * i
        yield value


def single():
    return sorted([3, 1, 2])


def fails():
    raise KeyError("the original")


def pstats_counts(stats, function):
    """(primitive calls, calls) of ``function`` in a pstats.Stats (0, 0 if
    absent)."""
    code = function.__code__
    key = (code.co_filename, code.co_firstlineno, function.__name__)
    entry = stats.stats.get(key)
    return (0, 0) if entry is None else entry[:2]


def line_hits(stats, function):
    """{line offset from the def line: hits} of ``function`` in a
    line_profiler LineStats."""
    code = function.__code__
    for (filename, first, name), entries in stats.timings.items():
        if (
            filename == code.co_filename
            and first == code.co_firstlineno
            and name.split(".")[-1] == function.__name__
        ):
            return {lineno - first: hits for lineno, hits, _ in entries}
    return {}


def yappi_stat(stats, function):
    code = function.__code__
    for stat in stats:
        if (
            stat.name == function.__name__
            and stat.module == code.co_filename
            and stat.lineno == code.co_firstlineno
        ):
            return stat
    return None


# ---------------------------------------------------------------- PythonCProfiler


def test_cprofiler_is_a_profile_and_a_monitor():
    profiler = PythonCProfiler()
    assert isinstance(profiler, cProfile.Profile)
    assert isinstance(profiler, Monitor)
    with profiler as entered:
        assert entered is profiler


def test_cprofiler_counts_calls():
    profiler = PythonCProfiler()
    with profiler:
        assert fib(10) == 55
    assert pstats_counts(pstats.Stats(profiler), fib) == (1, FIB_CALLS[10])


def test_cprofiler_takes_cprofile_arguments():
    profiler = PythonCProfiler(builtins=False)
    with profiler:
        single()
    names = [name for _, _, name in pstats.Stats(profiler).stats]
    assert "single" in names
    assert not any(name.startswith("<built-in") for name in names)


def test_cprofiler_is_reentrant():
    profiler = PythonCProfiler()
    with profiler:
        with profiler:
            fib(5)
        fib(6)  # still profiled: only the outermost exit stops
    fib(7)
    assert pstats_counts(pstats.Stats(profiler), fib)[1] == (
        FIB_CALLS[5] + FIB_CALLS[6]
    )
    profiler.disable()  # an extra disable is harmless
    profiler.enable()
    profiler.enable()
    fib(5)
    profiler.disable()
    fib(5)
    profiler.disable()
    fib(5)
    assert pstats_counts(pstats.Stats(profiler), fib)[1] == (
        3 * FIB_CALLS[5] + FIB_CALLS[6]
    )


def test_cprofiler_stats_read_inside_a_block_keep_it_running():
    profiler = PythonCProfiler()
    with profiler:
        fib(5)
        assert pstats_counts(pstats.Stats(profiler), fib)[1] == FIB_CALLS[5]
        fib(6)
    assert pstats_counts(pstats.Stats(profiler), fib)[1] == (
        FIB_CALLS[5] + FIB_CALLS[6]
    )


def test_cprofiler_attach_function():
    profiler = PythonCProfiler()
    attached = profiler.attach(fib)
    assert attached.__name__ == "fib"
    assert attached(10) == 55
    fib(5)  # not attached: not profiled
    assert pstats_counts(pstats.Stats(profiler), fib) == (1, FIB_CALLS[10])


def test_cprofiler_attach_generator_profiles_only_its_body():
    profiler = PythonCProfiler()
    attached = profiler.attach(accumulate)
    generator = attached(3)
    assert next(generator) == 0
    helper(100)  # between the steps: not profiled
    assert generator.send(1) == 2
    helper(100)
    assert generator.send(2) == 5
    with pytest.raises(StopIteration) as stop:
        generator.send(3)
    assert stop.value.value == 9
    helper(100)
    stats = pstats.Stats(profiler)
    assert pstats_counts(stats, helper)[1] == 3
    # Each resumption of the generator counts as a call for cProfile.
    assert pstats_counts(stats, accumulate)[1] == 4


def test_cprofiler_dump_and_print_stats(tmp_path, capsys):
    profiler = PythonCProfiler()
    with profiler:
        fib(10)
    path = tmp_path / "fib.pstats"
    profiler.dump_stats(str(path))
    assert pstats_counts(pstats.Stats(str(path)), fib) == (1, FIB_CALLS[10])
    profiler.print_stats()
    assert "(fib)" in capsys.readouterr().out


def test_cprofiler_getstats():
    profiler = PythonCProfiler()
    with profiler:
        fib(5)
    entries = [
        e for e in profiler.getstats() if getattr(e.code, "co_name", "") == "fib"
    ]
    assert [e.callcount for e in entries] == [FIB_CALLS[5]]


@pytest.mark.skipif(
    sys.version_info < (3, 12), reason="cProfile uses sys.monitoring on 3.12+"
)
def test_cprofiler_failed_enable_leaves_it_usable():
    other = cProfile.Profile()
    profiler = PythonCProfiler()
    other.enable()
    try:
        with pytest.raises(ValueError):
            profiler.enable()
        with pytest.raises(ValueError):
            with profiler:
                pass
    finally:
        other.disable()
    profiler.disable()  # nothing to undo
    with profiler:
        fib(5)
    fib(6)
    assert pstats_counts(pstats.Stats(profiler), fib)[1] == FIB_CALLS[5]


# ---------------------------------------------------------------- LineProfiler


def loop_lines(n):
    """The hits line_profiler reports for loop(n), by offset from `def`."""
    return {1: 1, 2: n + 1, 3: n, 4: 1}


def test_line_profiler_function_from_the_constructor():
    profiler = LineProfiler(loop)
    assert isinstance(profiler, Monitor)
    assert isinstance(profiler.profiler, line_profiler.LineProfiler)
    assert loop in profiler.functions
    with profiler as entered:
        assert entered is profiler
        assert loop(5) == 10
    loop(3)  # disabled: not counted
    hits = line_hits(profiler.get_stats(), loop)
    assert hits[1] == 1 and hits[3] == 5 and hits[4] == 1
    assert hits[2] >= 5  # the `for` line: once per iteration and at the end
    assert hits == loop_lines(5)


def test_line_profiler_attach_and_add_function():
    profiler = LineProfiler()
    attached = profiler.attach(loop)
    assert loop in profiler.functions
    assert attached.__name__ == "loop"
    assert attached(7) == 21
    loop(3)  # the plain function: the monitor is not enabled
    profiler.add_function(other_loop)
    with profiler:
        other_loop(4)
    stats = profiler.get_stats()
    assert line_hits(stats, loop)[3] == 7
    assert line_hits(stats, other_loop)[3] == 4


def test_line_profiler_print_stats_shows_the_source(tmp_path):
    profiler = LineProfiler(loop)
    with profiler:
        loop(3)
    stream = io.StringIO()
    profiler.print_stats(stream=stream)
    text = stream.getvalue()
    assert "total += i" in text
    assert "for i in range(n):" in text
    assert "def loop(n):" in text
    stream = io.StringIO()
    profiler.print_stats(stream, output_unit=1e-3, stripzeros=True)
    assert "total += i" in stream.getvalue()


def test_line_profiler_dump_stats(tmp_path):
    profiler = LineProfiler(loop)
    with profiler:
        loop(6)
    path = tmp_path / "loop.lprof"
    profiler.dump_stats(str(path))
    assert line_hits(line_profiler.load_stats(str(path)), loop)[3] == 6


def test_line_profiler_is_reentrant():
    profiler = LineProfiler(loop)
    with profiler:
        with profiler:
            # Only the outermost enable reached line_profiler.
            assert profiler.profiler.enable_count == 1
            loop(2)
        loop(3)  # still profiled
    assert profiler.profiler.enable_count == 0
    loop(4)
    assert line_hits(profiler.get_stats(), loop)[3] == 5
    profiler.disable()  # an extra disable is harmless
    assert profiler.profiler.enable_count == 0
    with profiler:
        loop(1)
    assert line_hits(profiler.get_stats(), loop)[3] == 6


def test_line_profiler_attach_generator_profiles_only_its_body():
    profiler = LineProfiler(loop)
    attached = profiler.attach(squares)
    assert inspect.isgeneratorfunction(attached)
    generator = attached(4)
    assert next(generator) == 0
    loop(2)  # between the steps: the monitor is disabled
    assert generator.send("ignored") == 1
    assert list(generator) == [4, 9]
    stats = profiler.get_stats()
    hits = line_hits(stats, squares)
    assert hits[2] == 4 and hits[3] == 4
    assert line_hits(stats, loop).get(3, 0) == 0


# ---------------------------------------------------------------- YappiProfiler


@pytest.fixture
def clean_yappi():
    """yappi is process-global: every yappi test starts and ends with yappi
    stopped, without statistics, on the CPU clock."""

    def reset():
        if yappi.is_running():
            yappi.stop()
        yappi.clear_stats()
        yappi.set_clock_type("cpu")

    reset()
    yield
    reset()


def test_yappi_counts_calls(clean_yappi):
    profiler = YappiProfiler()
    assert isinstance(profiler, Monitor)
    with profiler as entered:
        assert entered is profiler
        assert fib(10) == 55
    fib(5)  # stopped: not counted
    stat = yappi_stat(profiler.get_func_stats(), fib)
    assert stat.ncall == FIB_CALLS[10]
    assert stat.nactualcall == 1


def test_yappi_attach(clean_yappi):
    profiler = YappiProfiler()
    attached = profiler.attach(fib)
    assert attached(7) == 13
    fib(5)
    assert yappi_stat(profiler.get_func_stats(), fib).ncall == FIB_CALLS[7]
    generator = profiler.attach(accumulate)(2)
    next(generator)
    helper(0)  # between the steps: not profiled
    generator.send(1)
    with pytest.raises(StopIteration):
        generator.send(1)
    assert yappi_stat(profiler.get_func_stats(), helper).ncall == 2


@pytest.mark.parametrize("clock_type", ["wall", "cpu"])
def test_yappi_clock_type(clean_yappi, clock_type):
    other = "cpu" if clock_type == "wall" else "wall"
    yappi.set_clock_type(other)
    profiler = YappiProfiler(clock_type=clock_type)
    with profiler:
        assert yappi.get_clock_type() == clock_type
        assert profiler.clock_type() == clock_type
        single()
    assert yappi.get_clock_type() == clock_type
    assert yappi_stat(profiler.get_func_stats(), single).ncall == 1


def test_yappi_clock_type_needs_cleared_stats(clean_yappi):
    with YappiProfiler(clock_type="cpu"):
        single()
    wall = YappiProfiler(clock_type="wall")
    with pytest.raises(RuntimeError, match="clear_stats"):
        wall.start()
    assert not wall.is_running() and not yappi.is_running()
    wall.clear_stats()
    with wall:
        assert yappi.get_clock_type() == "wall"


def test_yappi_clear_stats(clean_yappi):
    profiler = YappiProfiler()
    with profiler:
        single()
    assert len(profiler.get_func_stats()) > 0
    profiler.clear_stats()
    assert len(profiler.get_func_stats()) == 0
    assert profiler.get_func_stats().empty()


def test_yappi_builtins(clean_yappi):
    with YappiProfiler() as profiler:
        single()
    names = {stat.name for stat in profiler.get_func_stats()}
    assert "single" in names and "sorted" not in names
    profiler.clear_stats()
    with YappiProfiler(builtins=True) as profiler:
        single()
    names = {stat.name for stat in profiler.get_func_stats()}
    assert "single" in names and "sorted" in names


def test_yappi_rejects_bad_arguments(clean_yappi):
    with pytest.raises(ValueError, match="clock_type"):
        YappiProfiler(clock_type="process")
    with pytest.raises(ValueError, match="clock_type"):
        YappiProfiler(clock_type=None)
    with pytest.raises(ValueError, match="get_func_stats"):
        YappiProfiler(recorder=[])
    with pytest.raises(ValueError, match="get_func_stats"):
        YappiProfiler(object())


def test_yappi_is_reentrant(clean_yappi):
    profiler = YappiProfiler()
    assert not profiler.is_running()
    with profiler:
        with profiler:
            assert profiler.is_running()
            fib(5)
        assert profiler.is_running()  # only the outermost exit stops
        fib(6)
    assert not profiler.is_running() and not yappi.is_running()
    fib(7)
    profiler.stop()  # an extra stop is harmless
    profiler.disable()
    profiler.start()
    profiler.enable()
    fib(5)
    profiler.stop()
    assert yappi.is_running()
    profiler.stop()
    assert not yappi.is_running()
    stat = yappi_stat(profiler.get_func_stats(), fib)
    assert stat.ncall == 2 * FIB_CALLS[5] + FIB_CALLS[6]


def test_yappi_started_elsewhere_is_refused(clean_yappi):
    profiler = YappiProfiler()
    yappi.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            profiler.start()
        with pytest.raises(RuntimeError, match="already running"):
            with profiler:
                pass
        assert not profiler.is_running()
    finally:
        yappi.stop()
    with profiler:
        assert profiler.is_running()
    assert not yappi.is_running()


def test_yappi_print_and_thread_stats(clean_yappi, capsys):
    profiler = YappiProfiler()
    with profiler:
        fib(5)
    stream = io.StringIO()
    profiler.print_stats(stream=stream, sort_type="ncall")
    assert "fib" in stream.getvalue()
    profiler.print_stats()
    assert "fib" in capsys.readouterr().out
    assert len(profiler.get_thread_stats()) >= 1


# ---------------------------------------------------------------- api


def test_cprofile_decorator(tmp_path):
    path = tmp_path / "fib.pstats"

    @cprofile(output=path)
    def run(n):
        return fib(n)

    assert isinstance(run.profiler, PythonCProfiler)
    assert run.__name__ == "run"
    assert run(10) == 55
    assert pstats_counts(pstats.Stats(str(path)), fib) == (1, FIB_CALLS[10])
    run.profiler.print_stats()


def test_cprofile_decorator_options_and_shared_profiler():
    @cprofile(builtins=False)
    def run():
        return single()

    assert run() == [1, 2, 3]
    names = [name for _, _, name in pstats.Stats(run.profiler).stats]
    assert "single" in names and not any(n.startswith("<built-in") for n in names)

    shared = PythonCProfiler()
    first, second = cprofile(shared)(fib), cprofile(shared)(loop)
    assert first.profiler is second.profiler is shared
    first(5)
    second(3)
    stats = pstats.Stats(shared)
    assert pstats_counts(stats, fib)[1] == FIB_CALLS[5]
    assert pstats_counts(stats, loop)[1] == 1
    with pytest.raises(TypeError):
        cprofile(shared, builtins=False)
    with pytest.raises(TypeError, match="parentheses"):
        cprofile(fib)


def test_decorators_write_after_each_outermost_call(tmp_path):
    profiler = PythonCProfiler()
    writes = []
    dump = profiler.dump_stats
    profiler.dump_stats = lambda path: (writes.append(path), dump(path))

    path = tmp_path / "out.pstats"

    @cprofile(profiler, output=str(path))
    def recursive(n):
        return 0 if n == 0 else 1 + recursive(n - 1)

    assert recursive(4) == 4
    assert writes == [str(path)]
    with profiler:  # an enclosing block: the calls inside are not outermost
        recursive(2)
        assert len(writes) == 1
    recursive(1)
    assert len(writes) == 2


def test_decorated_generator_writes_when_it_finishes(tmp_path):
    path = tmp_path / "squares.pstats"
    attached = cprofile(output=path)(squares)
    generator = attached(3)
    assert next(generator) == 0
    assert not path.exists()
    assert list(generator) == [1, 4]
    assert pstats_counts(pstats.Stats(str(path)), squares)[1] == 4


def test_decorators_pass_exceptions_through(tmp_path, clean_yappi):
    cases = [
        cprofile(output=tmp_path / "c.pstats"),
        line_profile(output=tmp_path / "l.lprof"),
        yappi_profile(output=tmp_path / "y.pstats"),
    ]
    for decorator in cases:
        decorated = decorator(fails)
        with pytest.raises(KeyError) as info:
            decorated()
        assert info.value.args == ("the original",)
        assert info.traceback[-1].name == "fails"
        assert decorator(fib)(6) == 8
    # The statistics were written, on the way out of the failed calls too.
    assert pstats_counts(pstats.Stats(str(tmp_path / "c.pstats")), fails)[1] == 1
    assert line_hits(line_profiler.load_stats(str(tmp_path / "l.lprof")), fails)
    assert pstats_counts(pstats.Stats(str(tmp_path / "y.pstats")), fails)[1] == 1


def test_line_profile_decorator(tmp_path):
    path = tmp_path / "loop.lprof"
    decorated = line_profile(output=path)(loop)
    assert isinstance(decorated.profiler, LineProfiler)
    assert loop in decorated.profiler.functions
    assert decorated(5) == 10
    assert line_hits(line_profiler.load_stats(str(path)), loop) == loop_lines(5)

    shared = LineProfiler()
    first = line_profile(shared)(loop)
    second = line_profile(shared)(other_loop)
    assert first.profiler is second.profiler is shared
    first(2)
    second(3)
    stats = shared.get_stats()
    assert line_hits(stats, loop)[3] == 2
    assert line_hits(stats, other_loop)[3] == 3
    with pytest.raises(TypeError):
        line_profile(PythonCProfiler())


def test_yappi_profile_decorator(tmp_path, clean_yappi):
    path = tmp_path / "single.pstats"
    decorated = yappi_profile(output=path, clock_type="wall")(single)
    assert isinstance(decorated.profiler, YappiProfiler)
    assert decorated() == [1, 2, 3]
    assert yappi.get_clock_type() == "wall"
    assert not yappi.is_running()
    assert pstats_counts(pstats.Stats(str(path)), single) == (1, 1)
    assert yappi_stat(decorated.profiler.get_func_stats(), single).ncall == 1

    yappi.clear_stats()
    shared = YappiProfiler(clock_type="wall")
    first, second = yappi_profile(shared)(single), yappi_profile(shared)(fib)
    assert first.profiler is second.profiler is shared
    first()
    second(5)
    stats = shared.get_func_stats()
    assert yappi_stat(stats, single).ncall == 1
    assert yappi_stat(stats, fib).ncall == FIB_CALLS[5]


# ---------------------------------------------------------------- without the packages

WITHOUT_PACKAGES = textwrap.dedent(
    """
    import json
    import sys

    sys.modules["line_profiler"] = None  # `import line_profiler` fails
    sys.modules["yappi"] = None
    import pikos
    import pikos.external
    import pikos.external.api
    import pikos.external.line_profiler
    import pikos.external.yappi_profiler
    import pikos.monitors.api
    from pikos.external import LineProfiler, PythonCProfiler, YappiProfiler
    from pikos.external.api import cprofile, line_profile, yappi_profile

    errors = {}
    for name, make in [
        ("LineProfiler", LineProfiler),
        ("YappiProfiler", YappiProfiler),
        ("line_profile", line_profile),
        ("yappi_profile", yappi_profile),
    ]:
        try:
            make()
        except ImportError as exc:
            errors[name] = [str(exc), exc.name]
        else:
            errors[name] = None

    @cprofile()
    def work():
        return sum(range(10))

    assert work() == 45
    print(json.dumps(errors))
    """
)


def test_imports_and_errors_without_the_optional_packages():
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PACKAGES],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    errors = json.loads(done.stdout)
    line_message, line_name = errors["LineProfiler"]
    assert "line_profiler" in line_message
    assert "pip install line_profiler" in line_message
    assert "pikos[line_profiler]" in line_message
    assert line_name == "line_profiler"
    yappi_message, yappi_name = errors["YappiProfiler"]
    assert "pip install yappi" in yappi_message
    assert "pikos[yappi]" in yappi_message
    assert yappi_name == "yappi"
    assert errors["line_profile"] == errors["LineProfiler"]
    assert errors["yappi_profile"] == errors["YappiProfiler"]


def test_the_documented_surface():
    import pikos.external
    import pikos.external.api

    assert set(pikos.external.__all__) == {
        "PythonCProfiler",
        "LineProfiler",
        "YappiProfiler",
    }
    assert set(pikos.external.api.__all__) == {
        "cprofile",
        "line_profile",
        "yappi_profile",
    }
    assert os.path.basename(pikos.external.api.__file__) == "api.py"
