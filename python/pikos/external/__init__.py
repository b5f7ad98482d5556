"""External profilers as pikos monitors.

- :class:`PythonCProfiler`: the standard library's ``cProfile``;
- :class:`LineProfiler`: ``line_profiler`` (``pip install 'pikos[line_profiler]'``);
- :class:`YappiProfiler`: ``yappi`` (``pip install 'pikos[yappi]'``).

Each is a re-entrant monitor (``with``, ``enable``/``disable``, ``attach``).
The optional packages are imported when a profiler is made, so this package
imports without them; making a profiler whose package is missing raises
:class:`ImportError`.  :mod:`pikos.external.api` has decorator factories.
"""

from pikos.external.line_profiler import LineProfiler
from pikos.external.python_cprofiler import PythonCProfiler
from pikos.external.yappi_profiler import YappiProfiler

__all__ = ["PythonCProfiler", "LineProfiler", "YappiProfiler"]
