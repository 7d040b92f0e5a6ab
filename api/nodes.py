"""Turning Relay node IDs into the UUIDs behind them."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from strawberry import relay

from auth.principal import CitizenPrincipal


def parse_node_ids(node_ids: Iterable[str]) -> list[uuid.UUID | None]:
    parsed: list[uuid.UUID | None] = []
    for node_id in node_ids:
        try:
            parsed.append(uuid.UUID(node_id))
        except ValueError:
            parsed.append(None)
    return parsed


async def load_nodes(
    load: Callable[[uuid.UUID], Awaitable[Any]], node_ids: Iterable[str]
) -> list[Any]:
    """Load each node by its UUID (through a DataLoader, so they are fetched together);
    malformed IDs resolve to nothing."""
    parsed = parse_node_ids(node_ids)
    wanted = [i for i in parsed if i is not None]
    rows = dict(zip(wanted, await asyncio.gather(*map(load, wanted)), strict=True))
    return [rows.get(i) if i is not None else None for i in parsed]


def parse_typed_node_id(raw: str, type_name: str) -> uuid.UUID | None:
    """The UUID behind a node ID of that type, or a bare UUID; None for anything else."""
    try:
        global_id = relay.GlobalID.from_id(raw)
    except ValueError:
        global_id = None
    candidate = raw
    if global_id is not None:
        if global_id.type_name != type_name:
            return None
        candidate = global_id.node_id
    try:
        return uuid.UUID(candidate)
    except ValueError:
        return None


def own_citizen(info: Any) -> uuid.UUID | None:
    """The signed-in citizen, for the objects only their owner ever sees."""
    principal = info.context.principal
    return principal.citizen_id if isinstance(principal, CitizenPrincipal) else None


def keep_order(
    node_ids: Iterable[str], found: dict[uuid.UUID, Any], build: Callable[[Any], Any]
) -> list[Any]:
    """The objects found, in the order asked for; None for the others."""
    rows = [found.get(i) if i is not None else None for i in parse_node_ids(node_ids)]
    return [build(row) if row is not None else None for row in rows]
