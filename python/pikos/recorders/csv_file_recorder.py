"""Write records as CSV rows to a file."""

from pikos.recorders.csv_recorder import CSVRecorder
from pikos.recorders.sink_recorder import FileOutput


class CSVFileRecorder(FileOutput, CSVRecorder):
    """A :class:`~pikos.recorders.csv_recorder.CSVRecorder` that writes to
    ``filename`` (UTF-8) from a writer thread of its own, so the profiled
    program never waits for formatting or the disk.

    The file is created by the first ``prepare``; after ``finalize`` it can
    be prepared again (a decorated function called twice), and the new
    session appends without a second header.
    """

    def __init__(self, filename, filter_=None, **csv_kwargs):
        self._init_file(filename)
        super().__init__(None, filter_, **csv_kwargs)
