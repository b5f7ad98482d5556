"""The recorder protocol."""

import abc

from pikos.errors import RecorderError

__all__ = ["AbstractRecorder", "RecorderError"]


class AbstractRecorder(abc.ABC):
    """Base class of recorders.

    A recorder stores or streams the records a monitor emits.  Any object
    with these three methods is a recorder; subclassing is optional.
    """

    @abc.abstractmethod
    def prepare(self, record):
        """Get ready to receive records of class ``record``."""

    @abc.abstractmethod
    def finalize(self):
        """Recording has ended: flush and release what was opened."""

    @abc.abstractmethod
    def record(self, data):
        """Store one record (an instance of the prepared record class)."""
