"""The pytest plugin, driven by pytest's own pytester in a subprocess:
outputs per test, the session summary, the pikos_limit marker's budgets,
and a suite left alone when neither option nor marker asks for pikos."""

import csv
import json
import pstats

import pytest

WORK = """
def work(n):
    out = []
    for i in range(n):
        out.append(leaf(i))
    return out

def leaf(i):
    return len([i])
"""


@pytest.fixture
def suite(pytester):
    pytester.makepyfile(mymod=WORK)
    return pytester


def test_idle_plugin_leaves_the_suite_alone(suite):
    suite.makepyfile(
        test_plain="""
        import sys
        import mymod

        def test_no_hook():
            assert sys.getprofile() is None and sys.gettrace() is None
            assert mymod.work(3) == [1, 1, 1]
        """
    )
    result = suite.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert not (suite.path / ".pikos").exists()
    lines = result.stdout.str().splitlines()
    assert [
        line for line in lines if "pikos" in line and not line.startswith("plugins:")
    ] == []


def test_pikos_writes_one_pstats_per_test_and_a_summary(suite):
    suite.makepyfile(
        test_two="""
        import pytest
        import mymod

        def test_small():
            mymod.work(5)

        @pytest.mark.parametrize("n", [7, 11])
        def test_param(n):
            mymod.work(n)
        """
    )
    result = suite.runpytest_subprocess("--pikos")
    result.assert_outcomes(passed=3)
    files = sorted(p.name for p in (suite.path / ".pikos").iterdir())
    assert files == [
        "test_two.py__test_param_11_.pstats",
        "test_two.py__test_param_7_.pstats",
        "test_two.py__test_small.pstats",
    ]
    stats = pstats.Stats(str(suite.path / ".pikos" / files[0])).stats
    calls = {name: numbers[1] for (_, _, name), numbers in stats.items()}
    # The test function and what it calls; none of pytest's machinery.
    assert calls["test_param"] == 1
    assert calls["work"] == 1
    assert calls["leaf"] == 11
    assert calls["<built-in method builtins.len>"] == 11
    assert not [name for (f, _, name) in stats if "_pytest" in f or "pluggy" in f]
    out = result.stdout.str()
    assert "3 tests recorded (stats) in .pikos/" in out
    assert "top functions by own time across the session" in out
    leaf_line = next(line for line in out.splitlines() if line.endswith("mymod.py:7)"))
    assert leaf_line.split()[0] == "23"  # 5 + 7 + 11 calls, summed


def test_pikos_functions_writes_csv_per_test_into_pikos_dir(suite):
    suite.makepyfile(
        test_csv="""
        import mymod

        def test_one():
            mymod.work(2)
        """
    )
    result = suite.runpytest_subprocess("--pikos=functions", "--pikos-dir", "out")
    result.assert_outcomes(passed=1)
    with open(suite.path / "out" / "test_csv.py__test_one.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["index", "type", "function", "lineNo", "filename"]
    events = [(r[1], r[2]) for r in rows[1:]]
    assert events[0] == ("call", "test_one")
    assert events[-1] == ("return", "test_one")
    assert events.count(("call", "leaf")) == 2


def test_an_unknown_kind_is_a_usage_error(suite):
    result = suite.runpytest_subprocess("--pikos=everything")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--pikos=everything: no such kind; choose one of" in result.stderr.str()


def test_limits_are_inclusive_and_name_the_function_limit_and_count(suite):
    suite.makepyfile(
        test_limits="""
        import pytest
        import mymod

        @pytest.mark.pikos_limit(calls={"mymod.leaf": 10, "builtins.len": 10})
        def test_at_the_limit():
            mymod.work(10)

        @pytest.mark.pikos_limit(calls={"mymod.leaf": 10})
        def test_over_the_limit():
            mymod.work(11)

        @pytest.mark.pikos_limit(total_calls=5)
        def test_total():
            mymod.work(3)
        """
    )
    result = suite.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "pikos_limit: mymod.leaf was called 11 times, limit 10" in out
    # test_total, mymod.work, 3 x (leaf, len, list.append)
    assert "pikos_limit: 11 calls in all, limit total_calls=5" in out
    assert not (suite.path / ".pikos").exists()


def test_rss_growth_is_the_peak_over_the_start(suite):
    suite.makepyfile(
        test_rss="""
        import pytest

        def grow():
            block = bytearray(64 * 1024 * 1024)
            block[::4096] = b"x" * len(block[::4096])  # touch every page
            del block  # gone again before the test ends: the peak counts

        @pytest.mark.pikos_limit(rss_growth="16 MiB")
        def test_too_much():
            grow()

        @pytest.mark.pikos_limit(rss_growth="1 GiB")
        def test_within():
            grow()

        @pytest.mark.pikos_limit(rss_growth="lots")
        def test_bad_budget():
            pass
        """
    )
    result = suite.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1, errors=1)
    out = result.stdout.str()
    assert "pikos_limit: RSS grew by 6" in out  # 64.x MiB
    assert "limit rss_growth='16 MiB'" in out
    assert "pikos_limit: rss_growth must be a size such as '50 MiB'" in out


def test_an_unknown_function_name_fails_the_test_naming_it(suite):
    suite.makepyfile(
        test_unknown="""
        import pytest

        @pytest.mark.pikos_limit(calls={"mymod.nothing": 1})
        def test_it():
            pass
        """
    )
    result = suite.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    assert (
        "pikos_limit: calls['mymod.nothing']: module 'mymod' has no attribute "
        "'nothing'" in result.stdout.str()
    )


def test_under_xdist_each_test_has_its_file_and_the_summary_sees_them_all(suite):
    suite.makepyfile(
        test_spread="""
        import pytest
        import mymod

        @pytest.mark.parametrize("n", range(6))
        def test_n(n):
            mymod.work(n)
        """
    )
    result = suite.runpytest_subprocess("-n", "2", "--pikos")
    result.assert_outcomes(passed=6)
    assert len(list((suite.path / ".pikos").glob("*.pstats"))) == 6
    out = result.stdout.str()
    assert "6 tests recorded (stats) in .pikos/" in out
    leaf_line = next(line for line in out.splitlines() if line.endswith("mymod.py:7)"))
    assert leaf_line.split()[0] == "15"  # 0 + 1 + ... + 5


def test_pikos_line_stats_writes_json_per_test_and_the_top_lines(suite):
    suite.makepyfile(
        test_lines="""
        import mymod

        def test_lines():
            mymod.work(4)
        """
    )
    result = suite.runpytest_subprocess("--pikos=line_stats")
    result.assert_outcomes(passed=1)
    document = json.loads(
        (suite.path / ".pikos" / "test_lines.py__test_lines.json").read_text()
    )
    hits = {
        (f["function"], line[0]): line[1]
        for f in document["functions"]
        for line in f["lines"]
    }
    assert hits[("leaf", 8)] == 4  # return len([i])
    assert hits[("work", 4)] == 4  # out.append(leaf(i))
    out = result.stdout.str()
    assert "top lines by time across the session" in out
    assert "mymod.py:8 (leaf)  return len([i])" in out


def test_methods_chdir_and_look_alike_ids_each_keep_their_own_file(suite):
    suite.makepyfile(
        test_edges="""
        import pytest
        import mymod

        class TestInClass:
            @pytest.mark.pikos_limit(total_calls=9)  # the method alone: 8 calls
            def test_method(self):
                mymod.work(2)

        @pytest.mark.parametrize("s", ["a b", "a_b"])
        def test_ids(s, monkeypatch, tmp_path):
            monkeypatch.chdir(tmp_path)  # the outputs stay in .pikos/
            mymod.work(1)
        """
    )
    result = suite.runpytest_subprocess("--pikos")
    result.assert_outcomes(passed=3)
    names = sorted(p.name for p in (suite.path / ".pikos").iterdir())
    assert names == [
        "test_edges.py__TestInClass__test_method.pstats",
        "test_edges.py__test_ids_a-20b_.pstats",
        "test_edges.py__test_ids_a_b_.pstats",
    ]
    assert "3 tests recorded (stats) in .pikos/" in result.stdout.str()
