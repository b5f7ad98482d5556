"""The built-in recorders."""

from pikos.recorders.abstract_recorder import AbstractRecorder, RecorderError
from pikos.recorders.csv_file_recorder import CSVFileRecorder
from pikos.recorders.csv_recorder import CSVRecorder
from pikos.recorders.discarding_recorder import DiscardingRecorder
from pikos.recorders.list_recorder import ListRecorder
from pikos.recorders.text_file_recorder import TextFileRecorder
from pikos.recorders.text_stream_recorder import TextStreamRecorder
from pikos.recorders.trace_recorders import (
    CallgrindRecorder,
    ChromeTraceRecorder,
    CollapsedStackRecorder,
    PprofRecorder,
    SpeedscopeRecorder,
)
from pikos.recorders.zeromq_recorder import ZeroMQRecorder

__all__ = [
    "AbstractRecorder",
    "RecorderError",
    "ListRecorder",
    "TextStreamRecorder",
    "TextFileRecorder",
    "CSVRecorder",
    "CSVFileRecorder",
    "DiscardingRecorder",
    "ZeroMQRecorder",
    "SpeedscopeRecorder",
    "ChromeTraceRecorder",
    "CollapsedStackRecorder",
    "PprofRecorder",
    "CallgrindRecorder",
]
