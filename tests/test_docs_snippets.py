"""The README's and docs' Python examples run as written (issue 17).

Every ```python block of README.md and docs/*.md is run on its own, as a
file in an empty temporary directory, by this interpreter in a subprocess:
it must exit 0.  A block that cannot run on its own (it needs a program
publishing on the live stream, or it lists signatures) carries a marker on
the line just above its fence, with the reason:

    <!-- docs-test: not standalone (needs a publisher on the live stream) -->

Such a block is still compiled (a syntax error fails), and is reported as
skipped with its reason (``pytest -ra`` lists them), never dropped
silently.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A fence may be indented (a block inside a list item): its lines are.
FENCE = re.compile(
    r"^(?P<indent> *)```python\n(?P<code>.*?)^(?P=indent)```", re.M | re.S
)
MARKER = re.compile(r"<!-- docs-test: not standalone \((?P<reason>[^)]*)\) -->\n$")
TIMEOUT = 120


def blocks():
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()]
            marker = MARKER.search(before[before.rfind("\n", 0, len(before) - 1) + 1 :])
            reason = marker.group("reason").strip() if marker else None
            code = textwrap.dedent(match.group("code"))
            where = f"{path.relative_to(ROOT)}:{line}"
            yield pytest.param(code, reason, where, id=where)


SNIPPETS = list(blocks())


def test_the_docs_have_python_examples():
    assert len(SNIPPETS) >= 10


@pytest.mark.parametrize("code, reason, where", SNIPPETS)
def test_snippet_runs_as_written(tmp_path, code, reason, where):
    compile(code, "<snippet>", "exec")
    if reason is not None:
        assert reason, "a docs-test marker needs its reason"
        pytest.skip(f"{where} not standalone: {reason}")
    before = sorted(os.listdir(ROOT))
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr
    # Examples write their files where they run, never into the repository
    # (a `calls.csv` once got committed that way).
    assert sorted(os.listdir(ROOT)) == before


# --- what the docs cite ----------------------------------------------------------

PATH_BASES = [ROOT, ROOT / "python", ROOT / "python" / "pikos"]


def test_architecture_names_only_files_in_the_repository():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    tree = text.split("```\n", 2)[1]  # the map of the repository
    missing, directory = [], ROOT
    for line in tree.splitlines():
        if line and not line.startswith(" "):
            name = line.split()[0]
            if not (ROOT / name).exists():
                missing.append(name)
            if name.endswith("/"):
                directory = ROOT / name
                if (directory / "Cargo.toml").exists():
                    directory = directory / "src"  # a crate: its sources
        elif line.startswith("  ") and line[2] != " ":
            names = re.match(r"[\w./-]+(?:, [\w./-]+)*", line.strip()).group()
            for name in names.split(", "):
                if not (directory / name).exists():
                    missing.append(str((directory / name).relative_to(ROOT)))
    # Paths in the prose: `dir/file.ext`, from the root or the package.
    for name in re.findall(r"`([\w./-]+/[\w.-]+\.(?:py|rs|md|sh))`", text):
        found = [(base / name).resolve() for base in PATH_BASES]
        if not any(p.exists() and p.is_relative_to(ROOT) for p in found):
            missing.append(name)
    assert missing == []


def test_no_doc_promises_an_install_from_a_package_index():
    # No registry serves pikos: the docs say to install from a checkout.
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"pip install '?pikos\b", text), path.name
