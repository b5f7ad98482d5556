"""Write records as text lines to a file."""

from pikos.recorders.sink_recorder import OwnFileRecorder
from pikos.recorders.text_stream_recorder import TextStreamRecorder


class TextFileRecorder(OwnFileRecorder, TextStreamRecorder):
    """A :class:`~pikos.recorders.text_stream_recorder.TextStreamRecorder`
    that writes to ``filename`` (UTF-8) from a writer thread of its own.

    The file is created by the first ``prepare``; after ``finalize`` it can
    be prepared again, and the new session appends without a second header.
    With ``auto_flush`` the file stays current while the program runs:
    records reach it within about 0.1 s (not one write per record).
    """

    def __init__(self, filename, filter_=None, formatted=False, auto_flush=False):
        self._init_file(filename, auto_flush)
        super().__init__(None, filter_, formatted, auto_flush)
