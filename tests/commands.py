"""Running pikos' commands in tests: ``pikos-run`` and ``pikos`` from the
test's own environment, plain Python beside them, scripts written to
files, CSV read back, the shape of a one-line command error, and what a
viewer receives of a live stream."""

import csv
import io
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

BIN = Path(sys.executable).parent
PIKOS_RUN = str(BIN / "pikos-run")
PIKOS = str(BIN / "pikos")
TIMEOUT = 60


def command_env():
    """The environment commands run in: no user start-up behaviour, no colour."""
    env = dict(os.environ)
    for name in ("PYTHONSAFEPATH", "PYTHONSTARTUP", "PYTHONINSPECT"):
        env.pop(name, None)
    env["PYTHON_COLORS"] = "0"
    env["NO_COLOR"] = "1"
    env.pop("FORCE_COLOR", None)
    return env


def run(*args, cwd, command=PIKOS_RUN, text=True):
    """``command args...`` in ``cwd``, its outputs captured."""
    return subprocess.run(
        [str(command), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=text,
        timeout=TIMEOUT,
        env=command_env(),
    )


def python(*args, cwd, text=True):
    """The same script run by plain Python."""
    return run(*args, cwd=cwd, command=sys.executable, text=text)


SCRIPTS = Path(__file__).resolve().parent / "scripts"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (for a live
    stream's address)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def streamed(work):
    """The messages a viewer (``pikos.live.subscribe``, bound on a free
    port) receives while ``work(recorder)`` records to a ``ZeroMQRecorder``
    connected to it, up to the session's end marker."""
    from pikos.live import subscribe
    from pikos.recorders.api import ZeroMQRecorder

    received = []
    address = f"tcp://127.0.0.1:{free_port()}"

    def listen():
        for message in subscribe(address, bind=True, timeout=10):
            received.append(message)
            if message.kind == "end":
                return

    listener = threading.Thread(target=listen)
    listener.start()
    work(
        ZeroMQRecorder(
            address=address, connect=True, wait_for_ready=True, ready_timeout=10
        )
    )
    listener.join(TIMEOUT)
    return received


def script(name):
    """The text of the target program ``tests/scripts/cli/NAME.py``, for a
    test to write where it runs it (beside the files the program makes)."""
    return (SCRIPTS / "cli" / f"{name}.py").read_text()


def write(path, source):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def parse_csv(text):
    """Header and rows (dicts) of CSV text."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows, "no CSV at all"
    header, body = rows[0], rows[1:]
    return header, [dict(zip(header, row, strict=True)) for row in body]


def read_csv(path):
    return parse_csv(Path(path).read_text())


def assert_error(result, prefix, *names):
    """Status 2; stderr is one ``prefix: error:`` line naming ``names``."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    err = result.stderr
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"{prefix}: error:"), err
    assert "Traceback" not in err and "Traceback" not in result.stdout
    for name in names:
        assert name in err, (name, err)
