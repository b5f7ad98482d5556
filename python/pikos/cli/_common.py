"""What pikos' commands share: an argument parser that raises one-line
errors instead of printing its usage and exiting, and the running of a
command that turns them into a line on stderr and an exit status; the
checks of the files they write."""

import argparse
import os
import sys

# The errors, counts and the output check live below cli/ (pikos.messages),
# where the runner, the viewer and the reports reach them without importing
# a command; the commands keep importing them from here.
from pikos.messages import CommandError as CommandError
from pikos.messages import UsageError as UsageError
from pikos.messages import check_writable as check_writable
from pikos.messages import counted as counted


class ParserExit(Exception):
    """The parser is done before the command starts (``-h`` printed the
    help): :func:`run_command` returns ``status``."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are :class:`UsageError` and whose help
    ends the command with :class:`ParserExit`, never ``sys.exit``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(message)

    def exit(self, status=0, message=None):
        if message:
            sys.stderr.write(message)
        raise ParserExit(status)


def report(prog, error):
    """Print ``error`` as ``prog: error: ...`` on stderr; return its status."""
    sys.stderr.write(f"{prog}: error: {error}\n")
    sys.stderr.flush()
    return error.status


def run_command(prog, body, argv):
    """Call ``body(argv, prog)`` (``argv`` None: ``sys.argv[1:]``); a
    CommandError becomes one line on stderr and the exit status, never a
    traceback, and ``-h`` the status of the help."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return body(argv, prog)
    except ParserExit as done:
        return done.status
    except CommandError as error:
        return report(prog, error)


def say(text, stream=None):
    """Print the line ``text``, which may name a path as the OS gave it: a
    name that is not UTF-8 (surrogate escapes) goes out as its bytes, as
    ``ls`` prints it, even where the stream's errors are strict (a UTF-8
    locale's stdout), instead of a traceback."""
    stream = sys.stdout if stream is None else stream
    line = text + "\n"
    try:
        stream.write(line)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            data = line.encode(encoding, "surrogateescape")
        except UnicodeEncodeError:
            data = line.encode(encoding, "backslashreplace")
        stream.flush()
        stream.buffer.write(data)
        stream.flush()


def output_beside(path, output, extension):
    """The output of a command that reads the CSV at ``path``: ``output``,
    or ``path`` with ``extension`` instead of its own; never the CSV."""
    output = output or os.path.splitext(path)[0] + extension
    if os.path.abspath(output) == os.path.abspath(path):
        raise UsageError(f"{output}: would overwrite the CSV; give -o OUTPUT")
    return output
