"""What pikos' commands say to their user, wherever the work runs (cli/,
runner/, viewer/, reports/): the one-line errors that end a command, and
counts in words."""


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


def counted(number, noun, grouped=False):
    """``1 thread``, ``2 threads``, ``0 threads``: English plurals of the
    nouns the commands count (each takes an ``s``); ``grouped`` writes the
    number with thousands separators (``1,234 calls``)."""
    shown = f"{number:,}" if grouped else f"{number}"
    return f"{shown} {noun}{'' if number == 1 else 's'}"
