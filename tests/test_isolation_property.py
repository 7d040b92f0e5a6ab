"""No data crosses between citizens, whatever path a query takes.

Hypothesis builds small worlds of citizens with doses, samples and check-ins
(and a parent's dose typed under a citizen's phone, which is nobody's here),
then asks, as one citizen or as a partner holding one citizen's consent, a
document of aliased probes: `me`, `citizen(id)`, `node(id)` and connections
resumed from cursors taken from another citizen. Every ID, cursor and name in
the answer must belong to what the caller may see; and what the caller may
see must all be there.
"""

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry import relay

from models.venue import VenueKind

SECTIONS = ("vaccinations", "tests", "checkins")
SCOPE_OF = {
    "vaccinations": "citizen:read:vaccinations",
    "tests": "citizen:read:tests",
    "checkins": "citizen:read:checkins",
}
TYPE_OF = {"vaccinations": "Vaccination", "tests": "TestResult", "checkins": "CheckIn"}
FIELDS = """id fullName
  vaccinations { id }
  testResults(first: 100) { edges { cursor node { id } } }
  checkIns(first: 100) { edges { cursor node { id } } }"""


@dataclass(frozen=True)
class CitizenPlan:
    doses: int
    samples: int
    check_ins: int
    linked_by: str
    parents_dose: bool


@dataclass(frozen=True)
class Probe:
    kind: str  # me | citizen | node | cursor
    target: int
    section: str


@dataclass
class World:
    ids: list[uuid.UUID] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    # Global IDs of each citizen's objects, by section.
    objects: list[dict[str, set[str]]] = field(default_factory=list)
    cursors: list[dict[str, list[str]]] = field(default_factory=list)
    nobodys: set[str] = field(default_factory=set)


def gid(type_name: str, value: uuid.UUID) -> str:
    return str(relay.GlobalID(type_name, str(value)))


citizen_plans = st.builds(
    CitizenPlan,
    doses=st.integers(0, 2),
    samples=st.integers(0, 2),
    check_ins=st.integers(0, 3),
    linked_by=st.sampled_from(["national_id", "insurance_number", "phone"]),
    parents_dose=st.booleans(),
)
probes = st.builds(
    Probe,
    kind=st.sampled_from(["me", "citizen", "node", "cursor"]),
    target=st.integers(0, 2),
    section=st.sampled_from(SECTIONS),
)
no_sections: st.SearchStrategy[frozenset[str]] = st.just(frozenset())
some_sections = st.frozensets(st.sampled_from(SECTIONS))
# (who calls, sections the citizen consented to, sections the partner's token holds)
callers = st.one_of(
    st.tuples(st.just("citizen"), no_sections, no_sections),
    st.tuples(st.just("partner"), some_sections, some_sections),
)


async def build(given_, plans: list[CitizenPlan], serial: int) -> World:
    world = World()
    venue = await given_.venue(VenueKind.GROCERY, f"Tạp hoá {serial}")
    for index, plan in enumerate(plans):
        number = serial * 10 + index
        phone, birth = f"09{number:08d}", date(1970, 1, 1) + timedelta(days=number)
        name = f"Công dân {number}"
        identity = {
            "national_id": {"national_id": f"0240{number:08d}"},
            "insurance_number": {"insurance_number": f"HS424{number:010d}"},
            "phone": {"phone": phone, "date_of_birth": birth, "full_name": name},
        }[plan.linked_by]
        citizen = await given_.citizen(
            phone=phone,
            date_of_birth=birth,
            full_name=name,
            national_id=f"0240{number:08d}",
            insurance_number=f"HS424{number:010d}",
        )
        doses = [await given_.vaccination(dose_number=n + 1, **identity) for n in range(plan.doses)]
        samples = [await given_.sample(**identity) for _ in range(plan.samples)]
        start = datetime.now(UTC) - timedelta(days=3, minutes=number)
        visits = await given_.check_ins(citizen, venue, plan.check_ins, start=start)
        if plan.parents_dose:
            parent = await given_.vaccination(
                phone=phone, date_of_birth=date(1950, 1, 1), full_name="Cha mẹ"
            )
            world.nobodys.add(gid("Vaccination", parent))
        world.ids.append(citizen)
        world.names.append(name)
        world.objects.append(
            {
                "vaccinations": {gid("Vaccination", d) for d in doses},
                "tests": {gid("TestResult", s) for s in samples},
                "checkins": {gid("CheckIn", c) for c in visits},
            }
        )
    return world


async def own_cursors(graphql, world: World) -> None:
    for citizen in world.ids:
        me = (await graphql.query(f"{{ me {{ {FIELDS} }} }}", as_citizen=citizen))["data"]["me"]
        world.cursors.append(
            {
                "tests": [e["cursor"] for e in me["testResults"]["edges"]],
                "checkins": [e["cursor"] for e in me["checkIns"]["edges"]],
            }
        )


def _document(probes_: list[Probe], world: World, subject: int, caller: str) -> str:
    own = f'citizen(id: "{gid("Citizen", world.ids[subject])}")'
    parts = []
    for n, probe in enumerate(probes_):
        target = probe.target % len(world.ids)
        if probe.kind == "me":
            parts.append(f"p{n}: me {{ {FIELDS} }}")
        elif probe.kind == "citizen":
            parts.append(f'p{n}: citizen(id: "{gid("Citizen", world.ids[target])}") {{ {FIELDS} }}')
        elif probe.kind == "node":
            candidates = sorted(world.objects[target][probe.section]) or [
                gid("Citizen", world.ids[target])
            ]
            parts.append(
                f'p{n}: node(id: "{candidates[0]}") {{ id ... on Citizen {{ fullName }} }}'
            )
        else:
            connection = "checkIns" if probe.section == "checkins" else "testResults"
            taken = world.cursors[target]["checkins" if connection == "checkIns" else "tests"]
            if not taken:
                continue
            root = "me" if caller == "citizen" else own
            parts.append(
                f'p{n}: {root} {{ id {connection}(first: 100, after: "{taken[0]}") '
                "{ edges { cursor node { id } } } }"
            )
    return "query {\n" + "\n".join(parts or ["p: me { id }"]) + "\n}"


def _walk(value: Any, found: dict[str, set[str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                found["ids"].add(item)
            elif key in ("cursor", "startCursor", "endCursor") and isinstance(item, str):
                found["cursors"].add(item)
            elif key == "fullName" and isinstance(item, str):
                found["names"].add(item)
            else:
                _walk(item, found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, found)


def _cursor_row(cursor: str) -> str:
    kind, _, row_id = (
        base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
    )
    return gid("CheckIn" if kind == "checkin" else "TestResult", uuid.UUID(row_id))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plans=st.lists(citizen_plans, min_size=2, max_size=3),
    subject=st.integers(0, 2),
    caller=callers,
    probes_=st.lists(probes, min_size=1, max_size=5),
)
async def test_no_data_crosses_between_citizens(
    graphql, given, partners, plans, subject, caller, probes_
):
    serial = given._next()
    world = await build(given, plans, serial)
    await own_cursors(graphql, world)
    subject %= len(world.ids)
    kind, consented, held = caller
    if kind == "citizen":
        visible_sections = set(SECTIONS)
        auth: dict[str, Any] = {"as_citizen": world.ids[subject]}
    else:
        partner = await partners.create(*(SCOPE_OF[s] for s in held))
        if consented:
            scopes = [SCOPE_OF[s] for s in consented]
            await partners.consent(world.ids[subject], partner.partner_id, *scopes)
        visible_sections = set(consented & held)
        auth = {"token": partner.token}

    body = await graphql.query(_document(probes_, world, subject, kind), **auth)

    may_see = {gid("Citizen", world.ids[subject])} if visible_sections else set()
    for section in visible_sections:
        may_see |= world.objects[subject][section]
    found: dict[str, set[str]] = {"ids": set(), "cursors": set(), "names": set()}
    _walk(body.get("data"), found)
    assert found["ids"] <= may_see, body
    assert {_cursor_row(c) for c in found["cursors"]} <= may_see, body
    allowed_names = {world.names[subject]} if may_see else set()
    assert found["names"] <= allowed_names, body
    assert not (world.nobodys & found["ids"])
    for error in body.get("errors", []):
        assert error["extensions"]["code"] in {"FORBIDDEN", "UNAUTHENTICATED"}, body
    # Not vacuous: the caller's whole view of the subject comes through `me` (a citizen)
    # or `citizen(id)` (a partner).
    for n, probe in enumerate(probes_):
        whole_view = (kind == "citizen" and probe.kind == "me") or (
            kind == "partner" and probe.kind == "citizen" and probe.target % len(plans) == subject
        )
        if whole_view:
            seen: dict[str, set[str]] = {"ids": set(), "cursors": set(), "names": set()}
            _walk(body["data"][f"p{n}"], seen)
            assert seen["ids"] == may_see, body
