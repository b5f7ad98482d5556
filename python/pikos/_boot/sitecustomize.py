"""Loaded by Python at startup in the processes that ``pikos-run
--subprocesses`` starts (its directory is put first on ``PYTHONPATH``):
the process records into its own output too, then the ``sitecustomize``
this module hides, if any, runs as it would have.  A Python that cannot
import pikos (another interpreter) runs as if pikos were not there."""

import importlib.machinery
import importlib.util
import os
import sys


def _hidden_sitecustomize(here):
    """Run the ``sitecustomize`` module that this one shadows, if any."""
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def _boot():
    here = os.path.dirname(os.path.abspath(__file__))
    # The program sees the sys.path it would have had; PYTHONPATH keeps the
    # directory for its own children.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        from pikos.runner import children
    except ImportError:
        children = None
    if children is not None:
        children.start_from_environment()
    _hidden_sitecustomize(here)


_boot()
