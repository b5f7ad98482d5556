"""Type stubs for the Rust extension.  Private: use the public modules."""

from os import PathLike
from types import CodeType
from typing import Any, final

from pikos._specs import CsvEncoding, FilterSpec, PublisherSpec, TextEncoding

# Checked against the built module by `make lint` (mypy's stubtest).

__all__ = [
    "Hook",
    "ThreadHook",
    "Sink",
    "Stats",
    "Subscriber",
    "WIRE_VERSION",
    "DEFAULT_LIVE_ADDRESS",
    "LIVE_TCP_HOST",
    "LIVE_TCP_PORT",
    "LIVE_MAX_MESSAGE_BYTES",
    "set_own_prefix",
    "export_trace",
    "template_supported",
    "report_unraisable",
    "monitoring_noop",
    "empty_hook_enable",
    "empty_hook_disable",
    "NO_SOURCE",
    "INTEGER_FIELDS",
    "TEXT_FIELDS",
    "RECORD_KINDS",
    "check_memory_interval",
    "memory_info",
]

NO_SOURCE: str
WIRE_VERSION: int
#: where the live stream is published and read by default (computed at import)
DEFAULT_LIVE_ADDRESS: str
#: the host and port of a TCP live address when only one of them is named
LIVE_TCP_HOST: str
LIVE_TCP_PORT: int
#: the largest frame a live subscriber takes in
LIVE_MAX_MESSAGE_BYTES: int
INTEGER_FIELDS: list[str]
TEXT_FIELDS: list[str]
#: one dict per record kind of the core: name, fields, timed, function,
#: memory (read by pikos.kinds)
RECORD_KINDS: tuple[dict[str, Any], ...]

def check_memory_interval(value: object) -> float | None: ...
def memory_info() -> tuple[int, int]: ...
def set_own_prefix(prefix: str) -> None: ...
def template_supported(template: str) -> bool: ...
def report_unraisable(error: BaseException, object: object) -> None: ...
def export_trace(
    input: str | bytes | PathLike[str] | PathLike[bytes],
    output: str | bytes | PathLike[str] | PathLike[bytes] | None,
    format: str,
    name: str = ...,
    pid: int = 0,
    thread_names: dict[int, str] = ...,
) -> dict[str, int]: ...

# The benchmarks' floors: only in builds with the `floors` feature (the
# development environments of tools/dev-env.sh), not in `pip install .`.
def empty_hook_enable(trace: bool, memory: bool = False) -> None: ...
def empty_hook_disable() -> None: ...
def monitoring_noop(
    _code: Any, _offset: Any, _a: Any | None = None, _b: Any | None = None
) -> None: ...

@final
class Hook:
    # kind: function, line, function_memory, line_memory, timed_function,
    # timed_function_memory
    def __new__(cls, kind: str, memory_interval: object = None) -> Hook: ...
    def set_focus(self, codes: list[CodeType]) -> None: ...
    def install_thread(self) -> None: ...
    def install(
        self,
        sink: Sink | None = None,
        recorder: Any = None,
        record_type: type | None = None,
        stats: Stats | None = None,
        all_threads: bool = False,
    ) -> None: ...
    def uninstall(self) -> None: ...
    def leave_thread(self) -> None: ...
    def take_error(self) -> BaseException | None: ...
    def set_label(self, label: str) -> None: ...
    # backend: "auto", "legacy", "monitoring"; None reads PIKOS_HOOK.
    def set_backend(self, backend: str | None = None) -> None: ...
    def takes_thread_hook(
        self, statistics: bool = False, all_threads: bool = False
    ) -> bool: ...
    def _inject_panic(self, index: int | None) -> None: ...
    @property
    def installed(self) -> bool: ...
    @property
    def index(self) -> int: ...
    @index.setter
    def index(self, value: int) -> None: ...
    # "monitoring" or "legacy": the mechanism of the running or last session
    @property
    def backend(self) -> str: ...
    @property
    def tool_id(self) -> int | None: ...

@final
class Sink:
    @staticmethod
    def file(flush_every: float | None = None) -> Sink: ...
    @staticmethod
    def stream(stream: Any, auto_flush: bool) -> Sink: ...
    @staticmethod
    def memory() -> Sink: ...
    def forget_after_fork(self) -> None: ...
    def pause_for_fork(self) -> None: ...
    def resume_after_fork(self) -> None: ...
    @staticmethod
    def discard() -> Sink: ...
    @property
    def discarded(self) -> int: ...
    def prepare(
        self,
        kind: str | None,
        encoder: CsvEncoding | TextEncoding | None,
        filters: list[FilterSpec],
        header: list[str] | None,
        path: str | bytes | None = None,
        append: bool = False,
        private: bool = False,
    ) -> None: ...
    def write_row(self, row: tuple[Any, ...]) -> None: ...
    def write_text(self, text: str) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def take_rows(self) -> list[tuple[Any, ...]]: ...
    @staticmethod
    def publisher(flush_every: float) -> Sink: ...
    def prepare_publisher(
        self,
        kind: str | None,
        filters: list[FilterSpec],
        publisher: PublisherSpec,
    ) -> str: ...

_Key = tuple[str, int, str]

@final
class Stats:
    def __new__(cls) -> Stats: ...
    def rows(
        self,
    ) -> list[
        tuple[_Key, int, int, float, float, list[tuple[_Key, int, int, float, float]]]
    ]: ...
    def close_all(self) -> None: ...
    def clear(self) -> None: ...
    def forget_after_fork(self) -> None: ...
    def start_publishing(self, sink: Sink, every: float) -> None: ...
    def stop_publishing(self, sink: Sink | None = None) -> None: ...

@final
class Subscriber:
    def __new__(
        cls, address: str, bind: bool = False, topics: list[str] = ...
    ) -> Subscriber: ...
    @property
    def endpoint(self) -> str: ...
    def recv(self, timeout: float | None = None) -> list[bytes] | None: ...

@final
class ThreadHook:
    """What a covered thread's hook slot holds; made by Hook, not by users."""

    # Called as a Python-level hook once handed back to sys.setprofile or
    # sys.settrace: reinstalls the native hook and records the event.
    def __call__(self, frame: Any, event: str, arg: Any) -> ThreadHook | None: ...
