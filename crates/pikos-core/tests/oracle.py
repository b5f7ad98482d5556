"""The Python oracle of encoder_fuzz.rs.

One process serves a whole test run: one JSON request per line on stdin,
one JSON answer per line on stdout (ASCII only), until stdin closes.
Answers are {"ok": result} or {"error": traceback}.

Values travel tagged: ["i", int], ["s", str], ["n", text of a float, which
must be that float's repr], ["z"] (None).

Requests:
  {"op": "hello"}
      -> {"version", "quote_line_breaks", "reads_nul"}
  {"op": "csv", "dialect": {...csv.writer kwargs...}, "rows": [[value]],
   "data": str or null}
      -> {"written": [str or null per row: csv.writer's bytes of the row,
                      null when csv.writer raised csv.Error],
          "read": [[str]] or null: csv.reader's rows of data}
  {"op": "text", "header": template or null, "line": template or null,
   "fields": [str], "rows": [[value]]}
      -> {"lines": [the header, a newline and its line of dashes, then each row's
                    line; null where str.format raised IndexError]}
"""

import csv
import io
import json
import sys
import traceback

csv.field_size_limit(sys.maxsize)


def quotes_line_breaks():
    """As pikos.recorders.csv_recorder: whether this csv quotes \\r/\\n
    that the line terminator does not hold (3.13 does)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="!").writerow(["a\rb"])
    return out.getvalue().startswith('"')


def reads_nul():
    """Whether csv writes NUL and reads it back (3.11 and later)."""
    out = io.StringIO()
    try:
        csv.writer(out).writerow(["a\0b"])
        return list(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [["a\0b"]]
    except csv.Error:
        return False


class FormattedNone:
    """None in a formatted template.  format(None, "<5") raises TypeError;
    the native encoder writes "None" padded like a string instead (a line
    number can be None), which is what this stands for."""

    def __format__(self, spec):
        return format("None", spec)


def value(tagged):
    tag = tagged[0]
    if tag == "i":
        return int(tagged[1])
    if tag == "s":
        return tagged[1]
    if tag == "n":
        number = float(tagged[1])
        if repr(number) != tagged[1]:
            raise ValueError(
                f"test generator bug: repr(float({tagged[1]!r})) is {number!r}"
            )
        return number
    if tag == "z":
        return None
    raise ValueError(f"bad tagged value {tagged!r}")


def escape(text):
    """The text encoder's escaping: line breaks only."""
    return text.replace("\n", "\\n").replace("\r", "\\r")


def op_hello(_request):
    return {
        "version": sys.version,
        "quote_line_breaks": quotes_line_breaks(),
        "reads_nul": reads_nul(),
    }


def op_csv(request):
    dialect = request["dialect"]
    written = []
    for row in request["rows"]:
        out = io.StringIO(newline="")
        writer = csv.writer(out, **dialect)
        try:
            writer.writerow([value(v) for v in row])
        except csv.Error:
            written.append(None)
        else:
            written.append(out.getvalue())
    read = None
    if request.get("data") is not None:
        reading = dict(dialect)
        # The reader ignores the line terminator, and QUOTE_NONNUMERIC
        # would turn unquoted fields into floats: read back as text.
        reading.pop("lineterminator", None)
        reading["quoting"] = csv.QUOTE_MINIMAL
        stream = io.StringIO(request["data"], newline="")
        read = [list(row) for row in csv.reader(stream, **reading)]
    return {"written": written, "read": read}


def formatted(v):
    if v is None:
        return FormattedNone()
    if isinstance(v, str):
        return escape(v)
    return v


def op_text(request):
    header, line = request["header"], request["line"]
    fields = [escape(f) for f in request["fields"]]
    lines = []
    try:
        head = " ".join(fields) if header is None else header.format(*fields)
    except IndexError:
        lines.append(None)
    else:
        lines.append(head + "\n" + "-" * len(head))
    for row in request["rows"]:
        values = [value(v) for v in row]
        if line is None:
            lines.append(" ".join(escape(str(v)) for v in values))
        else:
            try:
                lines.append(line.format(*[formatted(v) for v in values]))
            except IndexError:
                lines.append(None)
    return {"lines": lines}


OPS = {"hello": op_hello, "csv": op_csv, "text": op_text}


def main():
    out = sys.stdout.buffer
    for raw in sys.stdin.buffer:
        try:
            request = json.loads(raw)
            answer = {"ok": OPS[request["op"]](request)}
        except Exception:
            answer = {"error": traceback.format_exc()}
        out.write(json.dumps(answer, ensure_ascii=True).encode("ascii") + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
