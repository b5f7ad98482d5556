import gc
import os
import sys
import threading

import pytest

# pytester drives the pytest plugin of pikos in tests/integrations.
pytest_plugins = ["pytester"]

SCRIPTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
if SCRIPTS_DIR not in sys.path:
    # Target programs (workload.py, targets.py) are imported by name.
    sys.path.insert(0, SCRIPTS_DIR)


@pytest.fixture(autouse=True)
def _isolate_interpreter_hooks():
    """Keep tests deterministic and independent.

    The cyclic garbage collector is paused during each test, so that no
    finalizer (e.g. of an abandoned generator) runs Python code while a
    monitor is recording. Afterwards the profile/trace hooks are put back if
    a test leaked them: the tests that check restoration assert it
    themselves; this only keeps one failure from cascading.
    """
    profile, trace, gc_enabled = sys.getprofile(), sys.gettrace(), gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if sys.getprofile() is not profile:
            sys.setprofile(profile)
        if sys.gettrace() is not trace:
            sys.settrace(trace)
        if gc_enabled:
            gc.enable()


@pytest.fixture(autouse=True)
def _restore_threading_hooks():
    """The hooks ``threading`` gives new threads, put back after each test
    (monitors set them while enabled; the tests of that check it
    themselves)."""
    profile, trace = threading.getprofile(), threading.gettrace()
    try:
        yield
    finally:
        threading.setprofile(profile)
        threading.settrace(trace)
