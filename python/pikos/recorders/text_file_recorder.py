"""Write records as text lines to a file."""

from pikos import _native
from pikos.recorders.sink_recorder import check_output_path
from pikos.recorders.text_stream_recorder import TextStreamRecorder


class TextFileRecorder(TextStreamRecorder):
    """A :class:`~pikos.recorders.text_stream_recorder.TextStreamRecorder`
    that writes to ``filename`` (UTF-8) from a writer thread of its own.

    The file is created by the first ``prepare``; after ``finalize`` it can
    be prepared again, and the new session appends without a second header.
    """

    def __init__(self, filename, filter_=None, formatted=False, auto_flush=False):
        self._filename = check_output_path(filename)
        self._sessions = 0
        super().__init__(None, filter_, formatted, auto_flush)

    @property
    def filename(self):
        """The output file."""
        return self._filename

    def _make_sink(self, text_stream, auto_flush):
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
