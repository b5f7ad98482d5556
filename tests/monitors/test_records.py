"""Record classes: namedtuple layouts, templates, pickling (SPEC section 3)."""

import pickle

import harness
import pytest
from pikos.monitors.records import (
    NO_SOURCE,
    FunctionMemoryRecord,
    FunctionRecord,
    LineMemoryRecord,
    LineRecord,
)

RECORDS = [
    (FunctionRecord, harness.FUNCTION_FIELDS),
    (LineRecord, harness.LINE_FIELDS),
    (FunctionMemoryRecord, harness.FUNCTION_MEMORY_FIELDS),
    (LineMemoryRecord, harness.LINE_MEMORY_FIELDS),
]

SAMPLES = {
    FunctionRecord: (3, "c_call", "len", 12, "/tmp/x.py"),
    LineRecord: (4, "f", 7, '    x = "a, \\"b\\""', "/tmp/x.py"),
    FunctionMemoryRecord: (5, "return", "g", 1024, 4096, 9, "/tmp/y.py"),
    LineMemoryRecord: (6, "g", 10, 2048, 8192, "    return y", "/tmp/y.py"),
}


@pytest.mark.parametrize(
    ("record_type", "fields"), RECORDS, ids=[r[0].__name__ for r in RECORDS]
)
def test_record_fields_in_documented_order(record_type, fields):
    assert record_type._fields == fields


@pytest.mark.parametrize("record_type", list(SAMPLES), ids=lambda t: t.__name__)
def test_record_is_a_namedtuple_with_attribute_access(record_type):
    values = SAMPLES[record_type]
    record = record_type(*values)
    assert isinstance(record, tuple)
    assert tuple(record) == values
    assert record == values
    assert record_type._make(values) == record
    assert record._asdict() == dict(zip(record_type._fields, values, strict=True))
    for field, value in zip(record_type._fields, values, strict=True):
        assert getattr(record, field) == value
    assert record._replace(index=99).index == 99


@pytest.mark.parametrize("record_type", list(SAMPLES), ids=lambda t: t.__name__)
def test_record_pickles_round_trip(record_type):
    record = record_type(*SAMPLES[record_type])
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(record, protocol=protocol))
        assert copy == record
        assert type(copy) is record_type


@pytest.mark.parametrize(
    ("record_type", "header", "line"),
    [
        (FunctionRecord, harness.FUNCTION_TEMPLATE, harness.FUNCTION_TEMPLATE),
        (LineRecord, harness.LINE_TEMPLATE, harness.LINE_TEMPLATE),
        (
            FunctionMemoryRecord,
            harness.FUNCTION_MEMORY_HEADER,
            harness.FUNCTION_MEMORY_LINE,
        ),
        (LineMemoryRecord, harness.LINE_MEMORY_HEADER, harness.LINE_MEMORY_LINE),
    ],
    ids=["FunctionRecord", "LineRecord", "FunctionMemoryRecord", "LineMemoryRecord"],
)
def test_class_templates_match_spec(record_type, header, line):
    assert isinstance(record_type.header, str)
    assert isinstance(record_type.line, str)
    assert record_type.header == header
    assert record_type.line == line


def test_line_record_instance_line_is_the_source_text_not_the_template():
    record = LineRecord(0, "f", 3, "    return x", "m.py")
    assert record.line == "    return x"
    assert LineRecord.line == harness.LINE_TEMPLATE
    assert record[3] == "    return x"


def test_line_memory_record_instance_line_is_the_source_text():
    record = LineMemoryRecord(0, "f", 3, 1, 2, "    pass", "m.py")
    assert record.line == "    pass"
    assert LineMemoryRecord.line == harness.LINE_MEMORY_LINE


def test_templates_format_records_as_documented():
    record = FunctionRecord(12, "call", "work", 40, "t.py")
    expected = f"{12:<8} {'call':<11} {'work':<30} {40:<5} t.py"
    assert FunctionRecord.line.format(*record) == expected
    header = FunctionRecord.header.format(*FunctionRecord._fields)
    assert header.startswith("index    type        function ")


def test_no_source_placeholder_value():
    assert NO_SOURCE == "<source unavailable>"
    assert NO_SOURCE == harness.NO_SOURCE


def test_record_fields_are_read_only():
    record = FunctionRecord(*SAMPLES[FunctionRecord])
    with pytest.raises(AttributeError):
        record.index = 5
