import gc
import os
import sys

import pytest

SCRIPTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
if SCRIPTS_DIR not in sys.path:
    # Target programs (workload.py, targets.py) are imported by name.
    sys.path.insert(0, SCRIPTS_DIR)


@pytest.fixture(autouse=True)
def _isolate_interpreter_hooks():
    """Put back the profile/trace hooks and gc state if a test leaked them.

    The tests that check restoration assert it themselves; this only keeps
    one failure from cascading into unrelated tests.
    """
    profile, trace, gc_enabled = sys.getprofile(), sys.gettrace(), gc.isenabled()
    yield
    if sys.getprofile() is not profile:
        sys.setprofile(profile)
    if sys.gettrace() is not trace:
        sys.settrace(trace)
    if gc_enabled and not gc.isenabled():
        gc.enable()
