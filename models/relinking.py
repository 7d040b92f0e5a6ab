"""Records that now match a citizen link by themselves.

A record links only through what a citizen holds verified (models.matching).
Whenever that changes, `relink` matches again every record that carries one
of the citizen's verified identifiers, or their phone with their verified
birth date, or is linked to them now; a person's decision on a record stands
(models.link). It runs after:

- a verifier (identity partner, province office) confirms claims: `verify`;
- a record confirms the citizen's claims, when the claim is made
  (`confirm_from_records`) or when the record arrives (the record writer
  calls `confirm_claims_by_arrivals` with the records it just wrote);
- the citizen changes the name that a match by phone needs (auth.identity);
- a province office registers a citizen, or gives one a phone
  (auth.registration), or corrects the details it typed: records that no
  longer match leave them, as they do whenever what a citizen holds
  verified changes (auth.correction).

A first sign-in verifies only the phone, which links nothing without a
verified birth date; an operator's decision links one record and verifies
nothing.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from models.audit import Actor, AuditAction, record
from models.base import utcnow
from models.health_pass import revoke_outdated_passes
from models.health_status import PassRules
from models.identifiers import IdentifierKind
from models.link import RecordStore, linked_record_ids, owner_of
from models.matching import link_records
from models.profile import (
    AlreadyVerifiedElsewhere,
    Identifier,
    claimants_by_phone,
    mark_verified,
    profile_of,
    profiles,
)
from models.stores import Engines, Store, StoreUnavailable, reading
from models.verification import CarriedIdentity, confirmation, records_carrying

log = logging.getLogger("healthgraph.relinking")
# The part of the citizen's data a verification is audited under (auth.scopes.Section).
_IDENTITY = "identity"


async def relink(engines: Engines, citizen_id: uuid.UUID) -> None:
    """Match again the records that carry what the citizen holds verified, and those linked
    to them; a store that is down is skipped (its records match when they next arrive)."""
    await relink_many(engines, [citizen_id])


async def relink_many(engines: Engines, citizen_ids: Sequence[uuid.UUID]) -> None:
    """relink for several citizens at once: their records are matched together, once per
    store, against what they all hold verified now."""
    if not citizen_ids:
        return
    async with reading(engines, Store.CORE) as core:
        found = await profiles(core, citizen_ids)
        linked = await linked_record_ids(core, list(found))
    # Whoever a re-matched record belonged to before, or belongs to now, may show another colour.
    holders: set[uuid.UUID] = set(found)
    for record_store in RecordStore:
        try:
            records: dict[uuid.UUID, CarriedIdentity] = {}
            async with reading(engines, Store(record_store.value)) as connection:
                for citizen_id, profile in found.items():
                    verified = [
                        (i.kind, i.value)
                        for i in profile.identifiers
                        if i.verified and i.kind is not IdentifierKind.PHONE
                    ]
                    carried = await records_carrying(
                        connection,
                        record_store,
                        verified,
                        profile.phone,
                        profile.date_of_birth,
                        linked[citizen_id][record_store],
                    )
                    records.update((r.record_id, r) for r in carried)
            async with reading(engines, Store.CORE) as core:
                holders.update((await owner_of(core, record_store, list(records))).values())
                outcomes = await link_records(
                    core, record_store, [r.to_link() for r in records.values()]
                )
                await core.commit()
            holders.update(o.citizen_id for o in outcomes if o.citizen_id is not None)
        except StoreUnavailable:
            log.warning("records of the %s store not re-matched: unavailable", record_store)
    await _recheck_passes(engines, holders)


async def _recheck_passes(engines: Engines, holders: set[uuid.UUID]) -> None:
    """A live pass that no longer shows its holder's colour after the re-match is revoked,
    as after any write of records (models.records)."""
    try:
        await revoke_outdated_passes(
            engines, sorted(holders), PassRules.from_settings(engines.settings), utcnow()
        )
    except StoreUnavailable:
        log.warning("live passes not re-checked after re-matching: a store is unavailable")


async def verify(
    engines: Engines,
    citizen_id: uuid.UUID,
    identifiers: Sequence[Identifier],
    date_of_birth: date | None,
    verified_by: str,
    audit: tuple[Actor, str] | None = None,
) -> None:
    """Make the claims verified, then relink; AlreadyVerifiedElsewhere changes nothing."""
    async with reading(engines, Store.CORE) as core:
        await mark_verified(core, citizen_id, identifiers, date_of_birth, verified_by)
        if audit is not None:
            actor, request_id = audit
            await record(core, actor, AuditAction.VERIFY, [(citizen_id, [_IDENTITY])], request_id)
        await core.commit()
    await relink(engines, citizen_id)


async def confirm_from_records(engines: Engines, citizen_id: uuid.UUID) -> bool:
    """Verify the claims that one of the citizen's records confirms (models.verification),
    then relink; True if any were verified."""
    async with reading(engines, Store.CORE) as core:
        profile = await profile_of(core, citizen_id)
    if profile is None or not profile.claimed():
        return False
    records = []
    for record_store in RecordStore:
        try:
            async with reading(engines, Store(record_store.value)) as connection:
                records += await records_carrying(connection, record_store, profile.claimed())
        except StoreUnavailable:
            log.warning("claims not checked against the %s store: unavailable", record_store)
    found = confirmation(profile, records)
    if found is None:
        return False
    try:
        await verify(engines, citizen_id, found.identifiers, found.date_of_birth, found.source)
    except AlreadyVerifiedElsewhere:
        # Someone else holds it verified: the claim stays a claim, for a person to look at.
        log.warning("a record confirms a claim that is verified for another citizen")
        return False
    return True


async def confirm_claims_by_arrivals(engines: Engines, arrived: Sequence[CarriedIdentity]) -> int:
    """After records arrive: the citizens signed in with a phone they carry, whose claims one
    of them confirms, have those claims verified (in one transaction), then their records are
    matched again together. Two queries find them whatever the number of records (records
    that arrived earlier were looked at when they, or the claims, came); returns how many
    citizens had claims verified."""
    by_phone: dict[str, list[CarriedIdentity]] = defaultdict(list)
    for carried in arrived:
        if carried.identity.phone is not None:
            by_phone[carried.identity.phone].append(carried)
    if not by_phone:
        return 0
    async with reading(engines, Store.CORE) as core:
        claimants = await claimants_by_phone(core, sorted(by_phone))
        found = await profiles(core, claimants) if claimants else {}
    confirmed: list[uuid.UUID] = []
    async with reading(engines, Store.CORE) as core:
        for citizen_id, profile in sorted(found.items()):
            confirms = confirmation(profile, by_phone.get(profile.phone or "", []))
            if confirms is None:
                continue
            try:
                async with core.begin_nested():
                    await mark_verified(
                        core,
                        citizen_id,
                        confirms.identifiers,
                        confirms.date_of_birth,
                        confirms.source,
                    )
            except AlreadyVerifiedElsewhere:
                log.warning("a record confirms a claim that is verified for another citizen")
                continue
            confirmed.append(citizen_id)
        await core.commit()
    await relink_many(engines, confirmed)
    return len(confirmed)
