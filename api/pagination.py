"""Keyset cursors for Relay connections: opaque, typed, and checked on the way in."""

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from api.errors import BadUserInput

DEFAULT_PAGE = 20
MAX_PAGE = 100


@dataclass(frozen=True)
class Position:
    """Where a page starts: after this (time, id) in newest-first order."""

    at: datetime
    id: uuid.UUID


def encode_cursor(kind: str, at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{kind}|{at.isoformat()}|{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found_kind, at, row_id = base64.urlsafe_b64decode(padded).decode().split("|")
        if found_kind != kind:
            raise ValueError(found_kind)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(at)
        # In UTC, as the stores compare it: a time at the edge of the calendar with a far
        # offset does not exist there (OverflowError).
        return Position(moment.astimezone(UTC), uuid.UUID(row_id))
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as error:
        raise BadUserInput("`after` is not a cursor from this list", argument="after") from error


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 0 <= first <= MAX_PAGE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE}", argument="first")
    return first
