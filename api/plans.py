"""Compiled plans: a known document over the signed-in citizen, planned once, then
answered by filling in rows.

A document becomes known once the generic executor has answered it without an
error, so every validation rule of the schema has passed it. If it asks only for
fields a plan knows (`me`, its lists with literal arguments, and their leaf
fields; aliases and `__typename` too), it is compiled once into a plan: which
lists to read with which pages, and one function per object of the answer that
builds it from rows. A plan answers only a citizen reading their own data, with
every store it needs answering and every value of the kind the schema promises;
in any other case (another principal, a citizen that is gone, a store that fails,
a field some plan does not know) the generic executor answers, and it stays the
reference: tests/test_plans.py checks that both give the same answer.
"""

import asyncio
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import orjson
import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    parse,
)
from strawberry.relay import to_base64
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from api.context import Context
from api.health_pass import evaluate_passes, health_pass_from
from api.pagination import decode_cursor, encode_cursor, page_size
from api.rate_limits import settle_count
from auth.principal import CitizenPrincipal
from models.checkin import CheckInMethod
from models.dashboard import (
    CHECK_IN_ALWAYS,
    DOSE_ALWAYS,
    SAMPLE_ALWAYS,
    CoreAnswer,
    Page,
    Record,
    Row,
    Wanted,
    read_core,
    read_doses,
    read_samples,
    shape_of,
)
from models.health_status import Dose, PassRules, fully_vaccinated_from
from models.identifiers import mask_phone
from models.ratelimit import Counting, ToWrite
from models.retention import deletes_at
from models.stores import Engines, Store
from models.testing import TestOutcome, TestType
from models.vaccination import SeriesRole, SeriesSummary, same_dose, summarise_series
from models.venue import VenueKind

# Most documents a process keeps plans (or the verdict "no plan") for.
MAX_DOCUMENTS = 256

TEST_CURSOR = "test"
CHECK_IN_CURSOR = "checkin"

Build = Callable[[Any], Any]


class Unsupported(Exception):
    """The document asks for something no plan knows: the generic executor answers it."""


class Decline(Exception):
    """This request's rows are not what a plan can answer for: the generic executor does."""


# Values, as the generic executor serialises them.


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def _enum_names(enum: type[Enum]) -> dict[Any, str]:
    return {member.value: member.name for member in enum}


def _enum(enum: type[Enum], column: str) -> Build:
    names = _enum_names(enum)

    def get(row: Any) -> str:
        name = names.get(row[column])
        if name is None:
            raise Decline(column)
        return name

    return get


def _column(column: str) -> Build:
    return lambda row: row[column]


def _time(column: str) -> Build:
    return lambda row: _iso(row[column])


def _global_id(type_name: str, column: str) -> Build:
    return lambda row: to_base64(type_name, str(row[column]))


def _answer(name: str, kind: type) -> Build:
    """One answer of a health declaration, checked to be of its kind (or absent)."""

    def get(answers: dict[str, Any]) -> Any:
        value = answers.get(name)
        if value is not None and type(value) is not kind:
            raise Decline(name)
        return value

    return get


# What a plan builds from: the rows of one request.


@dataclass(frozen=True)
class PageView:
    rows: Sequence[Row]
    cursors: list[str]
    has_next: bool
    has_previous: bool


@dataclass(frozen=True)
class CitizenView:
    citizen: Record
    doses: list[tuple[Row, SeriesRole]]
    summary: SeriesSummary
    # The pass rules (their calendar is the one in which a citizen's dates are days).
    rules: PassRules
    tests: PageView | None
    check_ins: PageView | None
    # The citizen's health pass (api.health_pass.HealthPass), when the document asks.
    health_pass: Any = None


# Compiling a selection set into a function that builds an object.


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


Nested = Callable[[FieldNode], Build]


def _object(
    selection_set: SelectionSetNode | None,
    type_name: str,
    leaves: dict[str, Build],
    nested: dict[str, Nested] | None = None,
) -> Build:
    if selection_set is None:
        raise Unsupported(type_name)
    parts: list[tuple[str, Build]] = []
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise Unsupported(type_name)
        key, name = _key(selection), selection.name.value
        if key in (k for k, _ in parts):
            raise Unsupported(key)
        if name == "__typename":
            parts.append((key, lambda _source, t=type_name: t))  # type: ignore[misc]
        elif name in leaves and not selection.arguments and selection.selection_set is None:
            parts.append((key, leaves[name]))
        elif nested is not None and name in nested:
            parts.append((key, nested[name](selection)))
        else:
            raise Unsupported(f"{type_name}.{name}")
    fields = tuple(parts)

    def build(source: Any) -> dict[str, Any]:
        return {key: get(source) for key, get in fields}

    return build


def _no_arguments(node: FieldNode) -> None:
    if node.arguments:
        raise Unsupported(node.name.value)


_VACCINE = {
    "code": _column("vaccine_code"),
    "name": _column("vaccine_name"),
    "brandNames": _column("vaccine_brand_names"),
    "manufacturer": _column("vaccine_manufacturer"),
    "primarySeriesDoses": _column("vaccine_primary_series_doses"),
}


def _of_row(get: Build) -> Build:
    """A builder of a (row, something) pair, from one of the row."""
    return lambda pair: get(pair[0])


def _vaccination(node: FieldNode) -> Build:
    """Each dose is built from (row, its role in the series)."""
    _no_arguments(node)
    leaves = {
        "id": _of_row(_global_id("Vaccination", "id")),
        "doseNumber": _of_row(_column("dose_number")),
        "seriesRole": lambda pair: pair[1].name,
        "administeredAt": _of_row(_time("administered_at")),
        "lotNumber": _of_row(_column("lot_number")),
        "siteName": _of_row(_column("site_name")),
        "provinceCode": _of_row(_column("province_code")),
    }

    def vaccine(field: FieldNode) -> Build:
        _no_arguments(field)
        return _of_row(_object(field.selection_set, "Vaccine", _VACCINE))

    dose = _object(node.selection_set, "Vaccination", leaves, {"vaccine": vaccine})
    return lambda view: [dose(pair) for pair in view.doses]


def _vaccination_status(node: FieldNode) -> Build:
    _no_arguments(node)
    status = _object(
        node.selection_set,
        "VaccinationStatus",
        {
            "dosesReceived": lambda v: v.summary.doses,
            "primarySeriesComplete": lambda v: v.summary.primary_complete,
            "primarySeriesCompletedOn": lambda v: _iso(v.summary.completed_on(v.rules.time_zone)),
            "fullyVaccinatedFrom": lambda v: _iso(
                fully_vaccinated_from(
                    [
                        Dose(
                            row["administered_at"],
                            row["vaccine_primary_series_doses"],
                            row["vaccine_name"],
                        )
                        for row, _role in v.doses
                    ],
                    v.rules,
                )
            ),
            "boosterDoses": lambda v: v.summary.boosters,
        },
    )
    return status


def _literal(value: ValueNode) -> Any:
    if isinstance(value, NullValueNode):
        return None
    if isinstance(value, IntValueNode):
        return int(value.value)
    if isinstance(value, StringValueNode):
        return value.value
    raise Unsupported("argument")


def _page(node: FieldNode, kind: str) -> Page:
    arguments = {argument.name.value: _literal(argument.value) for argument in node.arguments or ()}
    if set(arguments) - {"first", "after"}:
        raise Unsupported(node.name.value)
    try:
        size = page_size(arguments.get("first", 20))
        position = decode_cursor(kind, arguments.get("after"))
    except GraphQLError as error:
        raise Unsupported(node.name.value) from error
    return Page(
        limit=size + 1,
        after_at=position.at if position else None,
        after_id=position.id if position else None,
    )


def _connection(
    node: FieldNode, node_type: str, node_leaves: dict[str, Build], **nested: Nested
) -> Build:
    def edges(field: FieldNode) -> Build:
        _no_arguments(field)

        def node_of(inner: FieldNode) -> Build:
            _no_arguments(inner)
            return _object(inner.selection_set, node_type, node_leaves, nested)

        edge = _object(
            field.selection_set,
            f"{node_type}Edge",
            {"cursor": lambda pair: pair[1]},
            {"node": lambda inner: _first_of(node_of(inner))},
        )
        return lambda page: [edge(pair) for pair in zip(page.rows, page.cursors, strict=True)]

    def page_info(field: FieldNode) -> Build:
        _no_arguments(field)
        return _object(
            field.selection_set,
            "PageInfo",
            {
                "hasNextPage": lambda page: page.has_next,
                "hasPreviousPage": lambda page: page.has_previous,
                "startCursor": lambda page: page.cursors[0] if page.cursors else None,
                "endCursor": lambda page: page.cursors[-1] if page.cursors else None,
            },
        )

    return _object(
        node.selection_set, f"{node_type}Connection", {}, {"edges": edges, "pageInfo": page_info}
    )


def _first_of(build: Build) -> Build:
    """A builder of an edge's node, given (row, cursor)."""
    return lambda pair: build(pair[0])


_TEST_RESULT = {
    "id": _global_id("TestResult", "id"),
    "sampleCode": _column("sample_code"),
    "testType": _enum(TestType, "test_type"),
    "pooled": _column("pooled"),
    "poolCode": _column("pool_code"),
    "collectedAt": _time("collected_at"),
    "collectionSite": _column("collection_site"),
    "labName": _column("lab_name"),
    "result": _enum(TestOutcome, "result"),
    "resultedAt": _time("resulted_at"),
    "retestRequired": lambda row: bool(row["pooled"]) and row["result"] == TestOutcome.POSITIVE,
}

_CHECK_IN = {
    "id": _global_id("CheckIn", "check_in_id"),
    "checkedInAt": _time("checked_in_at"),
    "method": _enum(CheckInMethod, "method"),
    "deletesAt": _time("deletes_at"),
}

_VENUE = {
    "code": _column("venue_code"),
    "name": _column("venue_name"),
    "kind": _enum(VenueKind, "venue_kind"),
    "provinceCode": _column("venue_province_code"),
    "address": _column("venue_address"),
    "district": _column("venue_district"),
    "closedAt": _time("venue_closed_at"),
}

_DECLARATION = {
    "fever": _answer("fever", bool),
    "cough": _answer("cough", bool),
    "shortnessOfBreath": _answer("shortnessOfBreath", bool),
    "lossOfTasteOrSmell": _answer("lossOfTasteOrSmell", bool),
    "contactWithCase": _answer("contactWithCase", bool),
    "travelledLast14Days": _answer("travelledLast14Days", bool),
    "travelledFrom": _answer("travelledFrom", str),
}


_HEALTH_PASS = {
    "passId": lambda p: p.pass_id,
    "colour": lambda p: p.colour.name,
    "reasons": lambda p: list(p.reasons),
    "validUntil": lambda p: _iso(p.valid_until),
    "issuedAt": lambda p: _iso(p.issued_at),
    "showsFullName": lambda p: p.shows_full_name,
    "credential": lambda p: p.credential,
    "qrSvg": lambda p: p.qr_svg,
}


def _health_pass(node: FieldNode) -> Build:
    _no_arguments(node)
    build = _object(node.selection_set, "HealthPass", _HEALTH_PASS)
    return lambda view: None if view.health_pass is None else build(view.health_pass)


def _venue(node: FieldNode) -> Build:
    _no_arguments(node)
    return _object(node.selection_set, "Venue", _VENUE)


def _declaration(node: FieldNode) -> Build:
    _no_arguments(node)
    build = _object(node.selection_set, "HealthDeclaration", _DECLARATION)

    def get(row: Row) -> dict[str, Any] | None:
        answers = row["declaration"]
        if isinstance(answers, (str, bytes)):
            answers = orjson.loads(answers)
        if answers is None:  # SQL or JSON null
            return None
        if not isinstance(answers, dict):
            raise Decline("declaration")
        return build(answers)

    return get


@dataclass(frozen=True)
class Plan:
    operation_name: str | None
    wanted: Wanted
    build: Build
    # The check-ins' nodes ask when retention deletes them.
    deletes_at: bool = False
    # The document asks for the citizen's health pass.
    health_pass: bool = False

    async def answer(self, context: Any) -> dict[str, Any] | None:
        """The answer for this request, or None when the generic executor must give it."""
        principal = getattr(context, "principal", None)
        if type(principal) is not CitizenPrincipal:
            return None
        try:
            services = context.services
            # Hits to be written before the request is decided go in the plan's statement.
            counting: Counting | None = getattr(context, "counting", None)
            if counting is not None and counting.hits is not None:
                counting = None
            count = counting.to_write if counting is not None else None
            view, counted = await _read(
                services.engines,
                principal.citizen_id,
                self.wanted,
                services.passes.rules,
                services.settings.check_in_retention_days if self.deletes_at else None,
                count,
            )
            if counting is not None and counted is not None:
                counting.hits = services.request_counts.written(counted)
            if view is None:
                return None
            if self.health_pass:
                passes = await evaluate_passes(
                    services.engines, services.passes, [principal.citizen_id]
                )
                evaluated = passes.get(principal.citizen_id)
                view = replace(view, health_pass=health_pass_from(evaluated) if evaluated else None)
            data = dict(self.build(view))
        except Exception:  # the generic executor answers, and reports the error
            return None
        observed = getattr(context, "observed", None)
        if observed is not None:  # the request's log line and metrics name it
            observed.operation, observed.operation_type = self.operation_name, "query"
        return data


async def _fetched(engines: Engines, store: Store, read: Callable[[Any], Any]) -> Any:
    """read(connection) on the store's plain pool, timed as a store read."""
    with engines.observer.read(store):
        async with engines.plain(store) as connection:
            return await read(connection)


async def _doses(engines: Engines, found: CoreAnswer) -> list[Row]:
    if found.doses is not None:
        return found.doses
    if not found.dose_ids:
        return []
    return list(
        await _fetched(engines, Store.IMMUNIZATION, lambda c: read_doses(c, found.dose_ids))
    )


async def _samples(engines: Engines, found: CoreAnswer) -> list[Row]:
    if found.samples is not None:
        return found.samples
    if not found.test_ids:
        return []
    return list(await _fetched(engines, Store.TESTING, lambda c: read_samples(c, found.test_ids)))


def _page_view(rows: Sequence[Row], page: Page, kind: str, time: str, id_: str) -> PageView:
    shown = rows[: page.limit - 1]
    return PageView(
        rows=shown,
        cursors=[encode_cursor(kind, row[time], row[id_]) for row in shown],
        has_next=len(rows) > page.limit - 1,
        has_previous=page.after_at is not None,
    )


def _by_name(row: Row, name: str) -> Any:
    return row[name]


def _with_deletes_at(rows: Sequence[Row], retention_days: int | None) -> Sequence[Row]:
    if retention_days is None:
        return rows
    return [{**row, "deletes_at": deletes_at(row["checked_in_at"], retention_days)} for row in rows]


async def _read(
    engines: Engines,
    citizen_id: uuid.UUID,
    wanted: Wanted,
    rules: PassRules,
    retention_days: int | None,
    count: ToWrite | None = None,
) -> tuple[CitizenView | None, list[Record] | None]:
    """The citizen's view (None for no such citizen) and the rows count's write
    returned, when there is one."""
    shape = shape_of(
        wanted,
        doses_here=engines.shares_database(Store.CORE, Store.IMMUNIZATION),
        samples_here=engines.shares_database(Store.CORE, Store.TESTING),
    )
    async with asyncio.timeout(engines.read_timeout):
        found, counted = await _fetched(
            engines, Store.CORE, lambda c: read_core(c, citizen_id, wanted, shape, count)
        )
        if found is None:
            return None, counted
        if found.doses is None and found.dose_ids and found.samples is None and found.test_ids:
            records, samples = await asyncio.gather(
                _doses(engines, found), _samples(engines, found)
            )
        else:
            records, samples = await _doses(engines, found), await _samples(engines, found)
    # One dose recorded by two systems is one dose (the rule of the generic resolvers).
    doses = [same[0] for same in same_dose(records, field=_by_name)]
    summary = summarise_series(
        [(row["administered_at"], row["vaccine_primary_series_doses"]) for row in doses]
    )
    view = CitizenView(
        citizen=found.citizen,
        doses=list(zip(doses, summary.roles, strict=True)),
        summary=summary,
        rules=rules,
        tests=_page_view(samples, wanted.tests, TEST_CURSOR, "collected_at", "id")
        if wanted.tests
        else None,
        check_ins=_page_view(
            _with_deletes_at(found.check_ins, retention_days),
            wanted.check_ins,
            CHECK_IN_CURSOR,
            "checked_in_at",
            "check_in_id",
        )
        if wanted.check_ins
        else None,
    )
    return view, counted


_CITIZEN = {
    "id": lambda view: to_base64("Citizen", str(view.citizen["id"])),
    "fullName": lambda view: view.citizen["full_name"],
    "dateOfBirth": lambda view: _iso(view.citizen["date_of_birth"]),
    "phoneMasked": lambda view: mask_phone(view.citizen["phone"]),
    "provinceCode": lambda view: view.citizen["province_code"],
}


def _fields_named(selection_set: SelectionSetNode | None, name: str) -> list[FieldNode]:
    if selection_set is None:
        return []
    return [
        s for s in selection_set.selections if isinstance(s, FieldNode) and s.name.value == name
    ]


def _citizen(node: FieldNode) -> tuple[Build, Wanted]:
    _no_arguments(node)
    selection_set = node.selection_set
    pages: dict[str, Page] = {}
    for name, kind in (("testResults", TEST_CURSOR), ("checkIns", CHECK_IN_CURSOR)):
        found = _fields_named(selection_set, name)
        if len(found) > 1:
            raise Unsupported(name)
        if found:
            pages[name] = _page(found[0], kind)

    def tests(field: FieldNode) -> Build:
        build = _connection(field, "TestResult", _TEST_RESULT)
        return lambda view: build(view.tests)

    def check_ins(field: FieldNode) -> Build:
        build = _connection(
            field, "CheckIn", _CHECK_IN, venue=_venue, healthDeclaration=_declaration
        )
        return lambda view: build(view.check_ins)

    build = _object(
        selection_set,
        "Citizen",
        _CITIZEN,
        {
            "vaccinations": _vaccination,
            "vaccinationStatus": _vaccination_status,
            "testResults": tests,
            "checkIns": check_ins,
            "healthPass": _health_pass,
        },
    )
    doses = bool(
        _fields_named(selection_set, "vaccinations")
        or _fields_named(selection_set, "vaccinationStatus")
    )
    wanted = Wanted(
        doses=doses,
        tests=pages.get("testResults"),
        check_ins=pages.get("checkIns"),
        **_columns(selection_set),
    )
    return build, wanted


def _names(selection_set: SelectionSetNode | None, *path: str) -> set[str]:
    """The names of the fields selected at the end of path (through every field on it)."""
    levels = [selection_set]
    for name in path:
        levels = [f.selection_set for level in levels for f in _fields_named(level, name)]
    return {
        s.name.value
        for level in levels
        if level is not None
        for s in level.selections
        if isinstance(s, FieldNode)
    }


def _needed(always: frozenset[str], asked: set[str], columns: dict[str, str]) -> frozenset[str]:
    """always, and the column each asked field (columns: field name → column) reads."""
    return always | {column for field, column in columns.items() if field in asked}


def _columns(me: SelectionSetNode | None) -> dict[str, frozenset[str]]:
    """The columns of each list that the fields the document selects read."""
    dose = _names(me, "vaccinations")
    vaccine = {f"vaccine.{name}" for name in _names(me, "vaccinations", "vaccine")}
    status = {f"status.{name}" for name in _names(me, "vaccinationStatus")}
    test = _names(me, "testResults", "edges", "node")
    check_in = _names(me, "checkIns", "edges", "node")
    venue = {f"venue.{name}" for name in _names(me, "checkIns", "edges", "node", "venue")}
    return {
        "dose_columns": _needed(
            DOSE_ALWAYS,
            dose | vaccine | status,
            {
                "lotNumber": "lot_number",
                "siteName": "site_name",
                "provinceCode": "province_code",
                "vaccine.name": "vaccine_name",
                # A dose of the health pass rules carries its vaccine's name.
                "status.fullyVaccinatedFrom": "vaccine_name",
                "vaccine.brandNames": "vaccine_brand_names",
                "vaccine.manufacturer": "vaccine_manufacturer",
            },
        ),
        "sample_columns": _needed(
            SAMPLE_ALWAYS,
            test,
            {
                "sampleCode": "sample_code",
                "testType": "test_type",
                "poolCode": "pool_code",
                "collectionSite": "collection_site",
                "resultedAt": "resulted_at",
                "labName": "lab_name",
            },
        ),
        "check_in_columns": _needed(
            CHECK_IN_ALWAYS,
            check_in | venue,
            {
                "method": "method",
                "healthDeclaration": "declaration",
                "venue.code": "venue_code",
                "venue.name": "venue_name",
                "venue.kind": "venue_kind",
                "venue.provinceCode": "venue_province_code",
                "venue.address": "venue_address",
                "venue.district": "venue_district",
                "venue.closedAt": "venue_closed_at",
            },
        ),
    }


def _asks_for(selection_set: SelectionSetNode | None, name: str) -> bool:
    """Some field of the selection set, at any depth, is called name."""
    if selection_set is None:
        return False
    return any(
        isinstance(s, FieldNode) and (s.name.value == name or _asks_for(s.selection_set, name))
        for s in selection_set.selections
    )


def compile_plan(document: DocumentNode) -> Plan:
    """The plan of a document, or Unsupported."""
    if len(document.definitions) != 1:
        raise Unsupported("one operation")
    operation = document.definitions[0]
    if (
        not isinstance(operation, OperationDefinitionNode)
        or operation.operation is not OperationType.QUERY
        or operation.variable_definitions
        or operation.directives
    ):
        raise Unsupported("a query without variables")
    citizen: tuple[Build, Wanted] | None = None
    parts: list[tuple[str, Build]] = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise Unsupported("Query")
        key, name = _key(selection), selection.name.value
        if key in (k for k, _ in parts):
            raise Unsupported(key)
        if name == "__typename":
            parts.append((key, lambda _view: "Query"))
        elif name == "me" and citizen is None:
            citizen = _citizen(selection)
            parts.append((key, citizen[0]))
        else:
            raise Unsupported(f"Query.{name}")
    if citizen is None:
        raise Unsupported("me")
    fields = tuple(parts)
    return Plan(
        operation_name=operation.name.value if operation.name else None,
        wanted=citizen[1],
        build=lambda view: {key: get(view) for key, get in fields},
        deletes_at=_asks_for(operation.selection_set, "deletesAt"),
        health_pass=_asks_for(operation.selection_set, "healthPass"),
    )


class Plans:
    """The plans of the documents this process has answered, by document text."""

    def __init__(self) -> None:
        self._by_text: dict[str, Plan | None] = {}

    def known(self, text: str) -> Plan | None:
        return self._by_text.get(text)

    def learn(self, text: str) -> None:
        """Called once the generic executor has answered text without an error."""
        if text in self._by_text or len(self._by_text) >= MAX_DOCUMENTS:
            return
        try:
            self._by_text[text] = compile_plan(parse(text))
        except (Unsupported, GraphQLError):
            self._by_text[text] = None


class PlannedSchema(strawberry.Schema):
    """The schema, answering known documents from their plans when it can."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = Plans()

    async def execute(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[StrawberryOperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        plan = self.plans.known(query) if query else None
        if (
            plan is not None
            and not variable_values
            and operation_name in (None, plan.operation_name)
            and (
                allowed_operation_types is None
                or StrawberryOperationType.QUERY in allowed_operation_types
            )
        ):
            data = await plan.answer(context_value)
            # The request is decided (and refused when over a limit) before it is answered.
            if isinstance(context_value, Context):
                await settle_count(context_value)
            if data is not None:
                return ExecutionResult(data=data, errors=None)
        if isinstance(context_value, Context):
            await settle_count(context_value)
        result = await super().execute(
            query,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            allowed_operation_types=allowed_operation_types,
            operation_extensions=operation_extensions,
        )
        if query and plan is None and not result.errors and result.data is not None:
            self.plans.learn(query)
        return result
