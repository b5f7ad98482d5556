"""Write records as CSV rows to a file."""

from pikos.recorders.csv_recorder import CSVRecorder
from pikos.recorders.sink_recorder import OwnFileRecorder


class CSVFileRecorder(OwnFileRecorder, CSVRecorder):
    """A :class:`~pikos.recorders.csv_recorder.CSVRecorder` that writes to
    ``filename`` (UTF-8) from a writer thread of its own, so the profiled
    program never waits for formatting or the disk.

    The file is created by the first ``prepare``; after ``finalize`` it can
    be prepared again (a decorated function called twice), and the new
    session appends without a second header.

    With ``auto_flush=True`` the file stays current while the program runs
    (for ``tail -f``, or a crash): records reach it within about 0.1 s,
    idle or not, at no cost per event.  Other keyword arguments are
    ``csv.writer``'s.
    """

    def __init__(self, filename, filter_=None, auto_flush=False, **csv_kwargs):
        self._init_file(filename, auto_flush)
        super().__init__(None, filter_, auto_flush, **csv_kwargs)
