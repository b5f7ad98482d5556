"""Write records as CSV rows to a file."""

from pikos import _native
from pikos.recorders.csv_recorder import CSVRecorder
from pikos.recorders.sink_recorder import check_output_path


class CSVFileRecorder(CSVRecorder):
    """A :class:`~pikos.recorders.csv_recorder.CSVRecorder` that writes to
    ``filename`` (UTF-8) from a writer thread of its own, so the profiled
    program never waits for formatting or the disk.

    The file is created by the first ``prepare``; after ``finalize`` it can
    be prepared again (a decorated function called twice), and the new
    session appends without a second header.
    """

    def __init__(self, filename, filter_=None, **csv_kwargs):
        self._filename = check_output_path(filename)
        self._sessions = 0
        super().__init__(None, filter_, **csv_kwargs)

    @property
    def filename(self):
        """The output file."""
        return self._filename

    def _make_sink(self, stream):
        return _native.Sink.file()

    def _prepare_sink(self, kind, encoder, filters, header):
        first = self._sessions == 0
        self._sink.prepare(
            kind,
            encoder,
            filters,
            header if first else None,
            path=self._filename,
            append=not first,
        )

    def _write_header_text(self, header):
        if self._sessions == 0:
            super()._write_header_text(header)

    def finalize(self):
        """Write everything out and close the file."""
        self._check_ready("finalize")
        self._ready = False
        self._sessions += 1
        self._sink.close()
