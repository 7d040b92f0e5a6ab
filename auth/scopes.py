"""What a partner token may do, and which part of a citizen's data each read scope opens."""

from collections.abc import Iterable
from enum import StrEnum


class Scope(StrEnum):
    CITIZEN_READ_VACCINATIONS = "citizen:read:vaccinations"
    CITIZEN_READ_TESTS = "citizen:read:tests"
    CITIZEN_READ_CHECKINS = "citizen:read:checkins"
    IMMUNIZATION_WRITE = "immunization:write"
    TESTING_WRITE = "testing:write"
    CHECKINS_STAFF = "checkins:staff"
    RECONCILE = "reconcile"
    EXPOSURES_READ = "exposures:read"
    # The health authority of a province: marks cases and reads contacts' full phones.
    EXPOSURES_AUTHORITY = "exposures:authority"
    IDENTITY_VERIFY = "identity:verify"
    # Scanners at checkpoints: verifyHealthPass.
    PASS_VERIFY = "pass:verify"
    # Operators: revoke any citizen's health pass.
    PASS_REVOKE = "pass:revoke"


class Section(StrEnum):
    """The parts of a citizen's data that are granted separately."""

    PROFILE = "profile"
    VACCINATIONS = "vaccinations"
    TESTS = "tests"
    CHECKINS = "checkins"
    # Only ever the citizen's own: no scope opens these.
    IDENTITY = "identity"
    CONSENTS = "consents"
    ACCESS_LOG = "accessLog"
    RECORD_ISSUES = "recordIssues"
    HEALTH_PASS = "healthPass"


# Scopes a citizen can consent to: each opens one section of their data to a partner.
READ_SCOPES: dict[Scope, Section] = {
    Scope.CITIZEN_READ_VACCINATIONS: Section.VACCINATIONS,
    Scope.CITIZEN_READ_TESTS: Section.TESTS,
    Scope.CITIZEN_READ_CHECKINS: Section.CHECKINS,
}


def sections_opened_by(scopes: Iterable[str]) -> frozenset[Section]:
    """Consented read scopes open their sections, and any of them the profile (name, birth date)."""
    sections = {READ_SCOPES[Scope(s)] for s in scopes if s in READ_SCOPES}
    if sections:
        sections.add(Section.PROFILE)
    return frozenset(sections)


class UnknownScope(ValueError):
    pass


def parse_scopes(raw: Iterable[str]) -> frozenset[Scope]:
    scopes: set[Scope] = set()
    for item in raw:
        name = item.strip()
        if not name:
            continue
        try:
            scopes.add(Scope(name))
        except ValueError as error:
            known = ", ".join(s.value for s in Scope)
            raise UnknownScope(f"unknown scope {name!r} (known: {known})") from error
    return frozenset(scopes)
