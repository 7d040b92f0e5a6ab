"""The province operators' reconciliation queue: list unmatched records, link or dismiss them."""

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.connections import build_connection
from api.errors import BadUserInput
from api.nodes import parse_typed_node_id
from api.pagination import decode_cursor, page_size
from api.user_errors import UserError, user_error
from auth.permissions import Reconciles
from auth.principal import PartnerPrincipal
from models.audit import Actor
from models.link import LinkStatus, RecordStore, UnmatchedReason
from models.reconciliation import (
    Decision,
    DecisionOutcome,
    DecisionProblem,
    Operator,
    QueueFilter,
    QueuePosition,
    decide,
    queue_page,
    record_details,
    records_matching,
)
from models.stores import Store, fetching, reading
from models.testing import TestType

strawberry.enum(UnmatchedReason, name="UnmatchedReason")
strawberry.enum(LinkStatus, name="LinkStatus")
QUEUE_CURSOR = "queue"
_NODE_TYPE = "UnmatchedRecord"


@strawberry.enum
class RecordKind(StrEnum):
    VACCINATION = "VACCINATION"
    TEST_RESULT = "TEST_RESULT"


STORE_OF = {
    RecordKind.VACCINATION: RecordStore.IMMUNIZATION,
    RecordKind.TEST_RESULT: RecordStore.TESTING,
}
KIND_OF = {store: kind for kind, store in STORE_OF.items()}


@strawberry.type
class TypedIdentity:
    """The person as typed at the site: what matching could not place."""

    full_name: str
    date_of_birth: dt.date | None
    national_id: str | None
    insurance_number: str | None
    phone: str | None


@strawberry.type
class UnmatchedRecord(relay.Node):
    id: relay.NodeID[str]
    kind: RecordKind
    reason: UnmatchedReason | None
    queued_at: dt.datetime = strawberry.field(description="When it was last matched, in vain.")
    province_code: str
    source_system: str | None
    source_record_id: str | None
    typed: TypedIdentity | None = strawberry.field(
        description="Null when the record is no longer in its store."
    )
    site: str | None
    occurred_at: dt.datetime | None = strawberry.field(
        description="When the dose was given or the sample taken."
    )
    vaccine_code: str | None
    dose_number: int | None
    test_type: TestType | None
    sample_code: str | None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["UnmatchedRecord | None"]:
        """Only the operators of the record's province see it (like unmatchedRecords)."""
        node_ids = list(node_ids)
        wanted = [_parse_record_key(node_id) for node_id in node_ids]
        found: dict[tuple[RecordStore, uuid.UUID], UnmatchedRecord] = {}
        only: dict[RecordStore, list[uuid.UUID]] = {}
        for key in wanted:
            if key is not None:
                only.setdefault(key[0], []).append(key[1])
        if only and Reconciles().allows(info.context.principal):
            queue = QueueFilter(province_code=province_of(info))
            async with fetching(info.context.services.engines, Store.CORE) as core:
                links = await queue_page(core, queue, len(node_ids), only=only)
            details = await _details(info, links) if links else {}
            for link in links:
                record = _unmatched_from(link, details.get(link.record_id))
                found[(RecordStore(link.store), link.record_id)] = record
        return [found.get(key) if key is not None else None for key in wanted]


@strawberry.type
class UnmatchedRecordConnection(relay.Connection[UnmatchedRecord]):  # type: ignore[type-var]
    pass


def record_node_id(store: RecordStore, record_id: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(relay.to_base64(_NODE_TYPE, f"{store.value}:{record_id}"))


def _parse_record_key(node_id: str) -> tuple[RecordStore, uuid.UUID] | None:
    store, _, record_id = node_id.partition(":")
    try:
        return RecordStore(store), uuid.UUID(record_id)
    except ValueError:
        return None


def parse_record_node_id(raw: str) -> tuple[RecordStore, uuid.UUID] | None:
    try:
        type_name, node_id = relay.from_base64(raw)
    except ValueError:
        return None
    return _parse_record_key(node_id) if type_name == _NODE_TYPE else None


def _unmatched_from(link: Row[Any], details: Row[Any] | None) -> UnmatchedRecord:
    store = RecordStore(link.store)
    content = details._mapping if details is not None else {}
    return UnmatchedRecord(
        id=f"{store.value}:{link.record_id}",
        kind=KIND_OF[store],
        reason=UnmatchedReason(link.reason) if link.reason else None,
        queued_at=link.matched_at,
        province_code=link.province_code,
        source_system=content.get("source_system"),
        source_record_id=content.get("source_record_id"),
        typed=TypedIdentity(
            full_name=details.full_name,
            date_of_birth=details.date_of_birth,
            national_id=details.national_id,
            insurance_number=details.insurance_number,
            phone=details.phone,
        )
        if details is not None
        else None,
        site=content.get("site"),
        occurred_at=content.get("occurred_at"),
        vaccine_code=content.get("vaccine_code"),
        dose_number=content.get("dose_number"),
        test_type=TestType(content["test_type"]) if content.get("test_type") else None,
        sample_code=content.get("sample_code"),
    )


def province_of(info: strawberry.Info) -> str:
    principal = info.context.principal
    assert isinstance(principal, PartnerPrincipal) and principal.province_code is not None
    return principal.province_code


async def _only(
    info: strawberry.Info, wanted: QueueFilter
) -> dict[RecordStore, list[uuid.UUID]] | None:
    """The records at that site and in those days, when the filter asks for them."""
    if not wanted.looks_into_records:
        return None
    stores = [wanted.store] if wanted.store else list(RecordStore)

    async def ids_in(store: RecordStore) -> list[uuid.UUID]:
        async with fetching(info.context.services.engines, Store(store.value)) as connection:
            return await records_matching(connection, store, wanted)

    return dict(zip(stores, await asyncio.gather(*map(ids_in, stores)), strict=True))


async def _details(info: strawberry.Info, links: list[Row[Any]]) -> dict[uuid.UUID, Row[Any]]:
    wanted: dict[RecordStore, list[uuid.UUID]] = {}
    for link in links:
        wanted.setdefault(RecordStore(link.store), []).append(link.record_id)

    async def details_in(store: RecordStore, ids: list[uuid.UUID]) -> dict[uuid.UUID, Row[Any]]:
        async with fetching(info.context.services.engines, Store(store.value)) as connection:
            return await record_details(connection, store, ids)

    found: dict[uuid.UUID, Row[Any]] = {}
    for part in await asyncio.gather(*(details_in(s, ids) for s, ids in wanted.items())):
        found.update(part)
    return found


@strawberry.field(
    permission_classes=[Reconciles],
    description="Your province's records that match no one, several people, or conflict; "
    "oldest first. `site` matches part of the site's name; `from`/`to` are local days.",
)
async def unmatched_records(
    info: strawberry.Info,
    first: int | None = 20,
    after: str | None = None,
    reason: UnmatchedReason | None = None,
    kind: RecordKind | None = None,
    site: str | None = None,
    from_day: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
    to_day: Annotated[dt.date | None, strawberry.argument(name="to")] = None,
) -> UnmatchedRecordConnection:
    size = page_size(first)
    position = decode_cursor(QUEUE_CURSOR, after)
    if from_day and to_day and from_day > to_day:
        raise BadUserInput("`from` is after `to`", argument="from")
    wanted = QueueFilter(
        province_code=province_of(info),
        reason=reason,
        store=STORE_OF[kind] if kind else None,
        site=site.strip() if site and site.strip() else None,
        from_day=from_day,
        to_day=to_day,
    )
    only = await _only(info, wanted)
    async with fetching(info.context.services.engines, Store.CORE) as core:
        links = await queue_page(
            core,
            wanted,
            size + 1,
            QueuePosition(position.at, position.id) if position else None,
            only,
        )
    page = links[:size]
    details = await _details(info, page) if page else {}
    return build_connection(
        UnmatchedRecordConnection,
        QUEUE_CURSOR,
        links,
        size,
        "matched_at",
        lambda link: _unmatched_from(link, details.get(link.record_id)),
        has_previous=position is not None,
        id_of="record_id",
    )


@strawberry.input
class ResolveUnmatchedInput:
    record_id: strawberry.ID = strawberry.field(description="An UnmatchedRecord's ID.")
    citizen_id: strawberry.ID | None = strawberry.field(
        default=None, description="Link the record to this citizen…"
    )
    dismiss: bool = strawberry.field(
        default=False, description="…or dismiss it: it belongs to no one with an account."
    )
    note: str | None = strawberry.field(default=None, description="Why, for the record.")


@strawberry.type
class ResolvedRecord:
    id: strawberry.ID = strawberry.field(description="The UnmatchedRecord's global ID.")
    kind: RecordKind
    status: LinkStatus
    citizen_id: strawberry.ID | None


@strawberry.type
class ResolveUnmatchedPayload:
    record: ResolvedRecord | None
    changed: bool = strawberry.field(description="False when the same decision stood already.")
    user_errors: list[UserError]


def _refused(field: str, message: str) -> ResolveUnmatchedPayload:
    return ResolveUnmatchedPayload(
        record=None, changed=False, user_errors=[user_error("NOT_FOUND", message, field)]
    )


def _invalid(field: str, message: str) -> ResolveUnmatchedPayload:
    return ResolveUnmatchedPayload(
        record=None, changed=False, user_errors=[user_error("INVALID_VALUE", message, field)]
    )


def _resolved(outcome: DecisionOutcome) -> ResolveUnmatchedPayload:
    citizen = (
        strawberry.ID(relay.to_base64("Citizen", str(outcome.citizen_id)))
        if outcome.citizen_id
        else None
    )
    return ResolveUnmatchedPayload(
        record=ResolvedRecord(
            id=record_node_id(outcome.store, outcome.record_id),
            kind=KIND_OF[outcome.store],
            status=outcome.status,
            citizen_id=citizen,
        ),
        changed=outcome.changed,
        user_errors=[],
    )


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="Link a record of your province to a citizen (automatic matching never "
    "moves it again) or dismiss it. Each decision is audited in the citizen's access log.",
)
async def resolve_unmatched(
    info: strawberry.Info, input: ResolveUnmatchedInput
) -> ResolveUnmatchedPayload:
    record = parse_record_node_id(input.record_id)
    if record is None:
        return _refused("recordId", "no record of your province has this ID")
    if input.dismiss == (input.citizen_id is not None):
        return _invalid("citizenId", "give either a citizen to link the record to, or dismiss")
    citizen_id = None
    if input.citizen_id is not None:
        citizen_id = parse_typed_node_id(input.citizen_id, "Citizen")
        if citizen_id is None:
            return _refused("citizenId", "no citizen has this ID")
    note = input.note.strip()[:500] if input.note and input.note.strip() else None
    principal = info.context.principal
    operator = Operator(
        Actor("PARTNER", str(principal.partner_id), principal.name),
        province_of(info),
        info.context.request_id,
    )
    store, record_id = record
    decision = Decision.LINK if citizen_id else Decision.DISMISS
    async with reading(info.context.services.engines, Store.CORE) as core:
        outcome = await decide(core, operator, store, record_id, decision, citizen_id, note)
        if isinstance(outcome, DecisionProblem):
            await core.rollback()
            if outcome is DecisionProblem.CITIZEN_NOT_FOUND:
                return _refused("citizenId", "no citizen has this ID")
            return _refused("recordId", "no record of your province has this ID")
        await core.commit()
    return _resolved(outcome)
