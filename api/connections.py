"""Building Relay connections from rows that are already in newest-first order."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Row
from strawberry import relay

from api.pagination import encode_cursor

ConnectionT = TypeVar("ConnectionT", bound=relay.Connection[Any])


def build_connection(
    connection_type: type[ConnectionT],
    kind: str,
    rows: Sequence[Row[Any]],
    size: int,
    time_of: str,
    to_node: Callable[[Row[Any]], Any],
    has_previous: bool,
    id_of: str = "id",
) -> ConnectionT:
    """rows holds up to size + 1 rows; the extra one only says there is a next page. Each
    edge's cursor is the row's (time_of, id_of) columns."""
    page = rows[:size]
    edges = [
        relay.Edge(
            cursor=encode_cursor(kind, getattr(row, time_of), getattr(row, id_of)),
            node=to_node(row),
        )
        for row in page
    ]
    return connection_type(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
