"""A citizen reports a missing or wrong record; province operators answer and close it."""

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry import relay

from api.connections import build_connection
from api.errors import not_visible
from api.nodes import keep_order, own_citizen, parse_node_ids, parse_typed_node_id
from api.pagination import decode_cursor, page_size
from api.reconciliation import STORE_OF, RecordKind, province_of
from api.user_errors import UserError, user_error
from auth.permissions import IsCitizen, Reconciles
from auth.scopes import Section
from models.audit import Actor, AuditAction, record
from models.base import PageKey
from models.citizen import citizens_by_ids
from models.link import RecordStore
from models.record_issue import (
    IssueKind,
    IssueStatus,
    NewIssue,
    answer_issue,
    file_issue,
    issues_by_ids,
    issues_page,
    province_issues,
)
from models.stores import Store, fetching, reading
from models.vaccination import all_vaccines

strawberry.enum(IssueKind, name="RecordIssueKind")
strawberry.enum(IssueStatus, name="RecordIssueStatus")
ISSUE_CURSOR = "issue"
PROVINCE_ISSUE_CURSOR = "province-issue"
_PROVINCE_CODE = re.compile(r"\d{2}")
_NODE_TYPES = {RecordStore.IMMUNIZATION: "Vaccination", RecordStore.TESTING: "TestResult"}


@strawberry.type
class RecordIssue(relay.Node):
    id: relay.NodeID[str]
    record_kind: RecordKind
    kind: IssueKind
    record_id: strawberry.ID | None = strawberry.field(
        description="The Vaccination or TestResult the report is about, if one shows."
    )
    province_code: str
    site: str | None
    occurred_on: dt.date | None
    vaccine_code: str | None
    dose_number: int | None
    description: str
    status: IssueStatus
    answer: str | None = strawberry.field(description="The province office's answer.")
    answered_at: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["RecordIssue | None"]:
        """The reporting citizen sees their report (like their recordIssues), and the
        operators of its province (like recordIssues, in the citizen's access log)."""
        node_ids = list(node_ids)
        wanted = [i for i in parse_node_ids(node_ids) if i is not None]
        citizen_id = own_citizen(info)
        operator = Reconciles().allows(info.context.principal)
        if not wanted or (citizen_id is None and not operator):
            return [None for _ in node_ids]
        async with reading(info.context.services.engines, Store.CORE) as core:
            rows = await issues_by_ids(core, wanted)
            if citizen_id is not None:
                found = {row.id: row for row in rows if row.citizen_id == citizen_id}
            else:
                province = province_of(info)
                found = {row.id: row for row in rows if row.province_code == province}
                entries = [
                    (reporter, [Section.RECORD_ISSUES.value])
                    for reporter in dict.fromkeys(row.citizen_id for row in found.values())
                ]
                if entries:
                    await record(
                        core, _actor(info), AuditAction.READ, entries, info.context.request_id
                    )
                    await core.commit()
        return keep_order(node_ids, found, record_issue_from_row)


@strawberry.type
class RecordIssueConnection(relay.Connection[RecordIssue]):  # type: ignore[type-var]
    pass


def record_issue_from_row(row: Row[Any]) -> RecordIssue:
    store = RecordStore(row.store)
    return RecordIssue(
        id=str(row.id),
        record_kind=RecordKind.VACCINATION
        if store is RecordStore.IMMUNIZATION
        else RecordKind.TEST_RESULT,
        kind=IssueKind(row.kind),
        record_id=strawberry.ID(relay.to_base64(_NODE_TYPES[store], str(row.record_id)))
        if row.record_id
        else None,
        province_code=row.province_code,
        site=row.site,
        occurred_on=row.occurred_on,
        vaccine_code=row.vaccine_code,
        dose_number=row.dose_number,
        description=row.description,
        status=IssueStatus(row.status),
        answer=row.answer,
        answered_at=row.answered_at,
        created_at=row.created_at,
    )


async def my_record_issues(
    info: strawberry.Info, citizen_id: uuid.UUID, first: int | None, after: str | None
) -> RecordIssueConnection:
    """The citizen's own reports, newest first (no one else reads them through here)."""
    if not await info.context.loaders.access.may_read(citizen_id, Section.RECORD_ISSUES):
        raise not_visible()
    size = page_size(first)
    position = decode_cursor(ISSUE_CURSOR, after)
    key = PageKey(
        citizen_id,
        size + 1,
        position.at if position else None,
        position.id if position else None,
    )
    async with fetching(info.context.services.engines, Store.CORE) as core:
        rows = await issues_page(core, key)
    return build_connection(
        RecordIssueConnection,
        ISSUE_CURSOR,
        rows,
        size,
        "created_at",
        record_issue_from_row,
        has_previous=position is not None,
    )


@strawberry.input
class RecordIssueInput:
    record_kind: RecordKind
    kind: IssueKind
    description: str = strawberry.field(description="What is wrong, in your words.")
    record_id: strawberry.ID | None = strawberry.field(
        default=None, description="Which of your Vaccinations or TestResults (for a wrong one)."
    )
    province_code: str | None = strawberry.field(
        default=None, description="Where it happened, when no record shows it (2 digits)."
    )
    site: str | None = None
    occurred_on: dt.date | None = None
    vaccine_code: str | None = None
    dose_number: int | None = None


@strawberry.type
class RecordIssuePayload:
    issue: RecordIssue | None
    user_errors: list[UserError]


def _refused(code: str, field: str, message: str) -> RecordIssuePayload:
    return RecordIssuePayload(issue=None, user_errors=[user_error(code, message, field)])


async def _own_record(
    info: strawberry.Info, store: RecordStore, raw: str
) -> tuple[uuid.UUID, str] | None:
    """The record's ID and province, if it is one of the caller's own."""
    record_id = parse_typed_node_id(raw, _NODE_TYPES[store])
    if record_id is None:
        return None
    loaders = info.context.loaders
    loader = (
        loaders.vaccination_node if store is RecordStore.IMMUNIZATION else loaders.test_result_node
    )
    row = await loader.load(record_id)
    if row is None:
        return None
    return record_id, row.province_code


async def _problem(info: strawberry.Info, input: RecordIssueInput) -> RecordIssuePayload | None:
    if not input.description.strip() or len(input.description) > 1000:
        return _refused("INVALID_VALUE", "description", "say what is wrong in 1 to 1000 characters")
    if input.occurred_on and input.occurred_on > dt.date.today():
        return _refused("INVALID_VALUE", "occurredOn", "this day has not come yet")
    if input.dose_number is not None and not 1 <= input.dose_number <= 10:
        return _refused("INVALID_VALUE", "doseNumber", "a dose number is between 1 and 10")
    if input.site and len(input.site) > 200:
        return _refused("INVALID_VALUE", "site", "a site's name has at most 200 characters")
    if input.vaccine_code:
        async with fetching(info.context.services.engines, Store.IMMUNIZATION) as immunization:
            known = {row.code for row in await all_vaccines(immunization)}
        if input.vaccine_code not in known:
            return _refused("INVALID_VALUE", "vaccineCode", "not a vaccine of the catalog")
    return None


@strawberry.mutation(
    permission_classes=[IsCitizen],
    description="Tell the province office that a record is missing or wrong; follow its "
    "answer in me.recordIssues.",
)
async def report_record_issue(info: strawberry.Info, input: RecordIssueInput) -> RecordIssuePayload:
    problem = await _problem(info, input)
    if problem is not None:
        return problem
    store = STORE_OF[input.record_kind]
    citizen_id = info.context.principal.citizen_id
    record_id: uuid.UUID | None = None
    province = input.province_code.strip() if input.province_code else None
    if input.record_id is not None:
        own = await _own_record(info, store, input.record_id)
        if own is None:
            return _refused("NOT_FOUND", "recordId", "none of your records has this ID")
        record_id, province = own
    elif input.kind is not IssueKind.MISSING:
        return _refused("INVALID_VALUE", "recordId", "say which of your records is concerned")
    if province is None:
        citizen = await info.context.loaders.citizen.load(citizen_id)
        province = citizen.province_code if citizen is not None else None
    if province is None or not _PROVINCE_CODE.fullmatch(province):
        return _refused("INVALID_VALUE", "provinceCode", "say in which province (2 digits)")
    issue = NewIssue(
        citizen_id=citizen_id,
        store=store,
        kind=input.kind,
        province_code=province,
        description=input.description.strip(),
        record_id=record_id,
        site=input.site.strip() if input.site and input.site.strip() else None,
        occurred_on=input.occurred_on,
        vaccine_code=input.vaccine_code,
        dose_number=input.dose_number,
    )
    async with reading(info.context.services.engines, Store.CORE) as core:
        row = await file_issue(core, issue)
        await core.commit()
    return RecordIssuePayload(issue=record_issue_from_row(row), user_errors=[])


# ---- the province office's side ----------------------------------------------------------


@strawberry.type
class ReportingCitizen:
    id: strawberry.ID = strawberry.field(description="The Citizen's global ID.")
    full_name: str
    date_of_birth: dt.date | None


@strawberry.type
class ProvinceRecordIssue:
    issue: RecordIssue
    citizen: ReportingCitizen | None = strawberry.field(
        description="Who reported it: link their record with resolveUnmatched."
    )


@strawberry.type
class ProvinceRecordIssueConnection(relay.Connection[ProvinceRecordIssue]):  # type: ignore[type-var]
    pass


def _actor(info: strawberry.Info) -> Actor:
    principal = info.context.principal
    return Actor("PARTNER", str(principal.partner_id), principal.name)


@strawberry.field(
    permission_classes=[Reconciles],
    description="Citizens' reports of missing or wrong records in your province, oldest "
    "first (open and answered ones unless `status` says otherwise). Each read is in the "
    "reporting citizen's access log.",
)
async def record_issues(
    info: strawberry.Info,
    status: list[IssueStatus] | None = None,
    first: int | None = 20,
    after: str | None = None,
) -> ProvinceRecordIssueConnection:
    size = page_size(first)
    position = decode_cursor(PROVINCE_ISSUE_CURSOR, after)
    statuses = status or [IssueStatus.OPEN, IssueStatus.ANSWERED]
    engines = info.context.services.engines
    async with reading(engines, Store.CORE) as core:
        rows = await province_issues(
            core,
            province_of(info),
            statuses,
            size + 1,
            (position.at, position.id) if position else None,
        )
        page = rows[:size]
        citizens = {
            row.id: row for row in await citizens_by_ids(core, [r.citizen_id for r in page])
        }
        entries = [(citizen_id, [Section.RECORD_ISSUES.value]) for citizen_id in citizens]
        await record(core, _actor(info), AuditAction.READ, entries, info.context.request_id)
        await core.commit()
    return build_connection(
        ProvinceRecordIssueConnection,
        PROVINCE_ISSUE_CURSOR,
        rows,
        size,
        "created_at",
        lambda row: ProvinceRecordIssue(
            issue=record_issue_from_row(row), citizen=_reporter(citizens.get(row.citizen_id))
        ),
        has_previous=position is not None,
    )


def _reporter(row: Row[Any] | None) -> ReportingCitizen | None:
    if row is None:
        return None
    return ReportingCitizen(
        id=strawberry.ID(relay.to_base64("Citizen", str(row.id))),
        full_name=row.full_name,
        date_of_birth=row.date_of_birth,
    )


@strawberry.input
class AnswerRecordIssueInput:
    id: strawberry.ID
    answer: str
    close: bool = strawberry.field(
        default=False, description="Closed: nothing more will be done. Otherwise ANSWERED."
    )


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="Answer a report of your province (the citizen reads it in me.recordIssues).",
)
async def answer_record_issue(
    info: strawberry.Info, input: AnswerRecordIssueInput
) -> RecordIssuePayload:
    issue_id = parse_typed_node_id(input.id, "RecordIssue")
    if issue_id is None:
        return _refused("NOT_FOUND", "id", "no report of your province has this ID")
    answer = input.answer.strip()
    if not answer or len(answer) > 1000:
        return _refused("INVALID_VALUE", "answer", "answer in 1 to 1000 characters")
    actor = _actor(info)
    status = IssueStatus.CLOSED if input.close else IssueStatus.ANSWERED
    async with reading(info.context.services.engines, Store.CORE) as core:
        row = await answer_issue(core, issue_id, province_of(info), answer, status, actor.name)
        if row is None:
            await core.rollback()
            return _refused("NOT_FOUND", "id", "no report of your province has this ID")
        entry = (row.citizen_id, [Section.RECORD_ISSUES.value])
        await record(core, actor, AuditAction.ANSWER, [entry], info.context.request_id)
        await core.commit()
    return RecordIssuePayload(issue=record_issue_from_row(row), user_errors=[])
