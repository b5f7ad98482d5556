"""docs/compatibility.md is honest: every status is one of the page's three
words (nothing documented is "missing"), and every name marked *same* or
*improved* imports (a module, or an attribute of one)."""

import importlib
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "compatibility.md"
STATUSES = {"same", "improved", "different"}
ROW = re.compile(r"^\|(?P<name>[^|]*)\|(?P<status>[^|]*)\|(?P<notes>.*)\|\s*$")
NAME = re.compile(r"`(pikos(?:\.\w+)*)`")


def rows():
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if not match or set(match["status"].strip()) <= set("-: "):
            continue
        status = match["status"].strip()
        if status in ("status",):  # a table's header
            continue
        yield match["name"].strip(), status, match["notes"]


def resolve(dotted):
    """The module or attribute ``dotted`` names (ImportError/AttributeError
    when there is none)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ImportError(dotted)


ROWS = list(rows())
CHECKED = [
    pytest.param(match, notes, id=match)
    for name, status, notes in ROWS
    if status in ("same", "improved")
    for match in NAME.findall(name)
]


def test_the_page_lists_the_original_surface():
    assert len(ROWS) > 100
    assert len(CHECKED) > 80


def test_every_status_is_same_improved_or_different():
    assert {status for _, status, _ in ROWS} <= STATUSES


@pytest.mark.parametrize(("dotted", "notes"), CHECKED)
def test_every_name_marked_same_or_improved_imports(dotted, notes):
    resolve(dotted)
