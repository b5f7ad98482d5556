"""What pikos' commands say to their user, wherever the work runs (cli/,
runner/, viewer/, reports/): the one-line errors that end a command, the
check that an output can be written before long work, and counts in
words."""

import os


class CommandError(Exception):
    """A problem a command reports as one line on stderr, then exits with
    ``status`` (2: the command line is wrong, as argparse does; 1: the input
    or the run failed)."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


class UsageError(CommandError):
    """The command line names something that cannot be used."""

    def __init__(self, message):
        super().__init__(message, status=2)


#: A mebibyte: every size pikos shows is in MiB.
MIB = 2**20


def mib(size):
    """``size`` bytes as pikos shows them: ``12.3 MiB``."""
    return f"{size / MIB:.1f} MiB"


def counted(number, noun, grouped=False):
    """``1 thread``, ``2 threads``, ``0 threads``: English plurals of the
    nouns the commands count (each takes an ``s``); ``grouped`` writes the
    number with thousands separators (``1,234 calls``)."""
    shown = f"{number:,}" if grouped else f"{number}"
    return f"{shown} {noun}{'' if number == 1 else 's'}"


def check_writable(path, create=False):
    """Raise UsageError, naming ``path`` and the reason, unless a file can
    be written there; with ``create`` the (empty) file is created, which
    proves it.  Called before long work, so nothing is lost to a typo.

    A FIFO or a device (or a link to one) is never opened here: opening
    and closing a FIFO would hand its reader an end of file.  Its
    permission is checked instead, and the write itself reports the rest."""
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path}: it is a directory")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write {path}: no such directory {directory}")
    special = os.path.exists(path) and not os.path.isfile(path)
    if special:
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {path}: permission denied")
        return
    if not create:
        if not os.access(directory, os.W_OK):
            raise UsageError(f"cannot write {path}: permission denied")
        return
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
