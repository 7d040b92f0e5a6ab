"""Consents: a citizen lets a partner read parts of their data until a date."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

import strawberry
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from strawberry import relay

from api.errors import ApiError, ErrorCode
from api.nodes import keep_order, own_citizen, parse_node_ids, parse_typed_node_id
from api.user_errors import UserError, UserErrorCode, user_error
from auth.permissions import IsCitizen
from auth.principal import PartnerPrincipal
from auth.scopes import READ_SCOPES
from auth.scopes import Scope as ScopeEnum
from models import consent as consents
from models.partner import partners_by_ids
from models.stores import Store, reading, sqlstate

strawberry.enum(ScopeEnum, name="Scope")
LONGEST_CONSENT = dt.timedelta(days=366)
FOREIGN_KEY_VIOLATION = "23503"


@strawberry.type(description="A partner app: a citizen sees those named in their consents.")
class Partner(relay.Node):
    id: relay.NodeID[str]
    name: str

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Partner | None"]:
        """A partner sees itself; a citizen the partners their consents name."""
        node_ids = list(node_ids)
        principal = info.context.principal
        found: dict[Any, Partner] = {}
        if isinstance(principal, PartnerPrincipal):
            found[principal.partner_id] = Partner(id=str(principal.partner_id), name=principal.name)
        citizen_id = own_citizen(info)
        if citizen_id is not None:
            for row in await info.context.loaders.consents.load(citizen_id):
                found[row.partner_id] = Partner(id=str(row.partner_id), name=row.partner_name)
        return keep_order(node_ids, found, lambda partner: partner)


@strawberry.type
class Consent(relay.Node):
    id: relay.NodeID[str]
    partner: Partner
    scopes: list[ScopeEnum]
    granted_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    live: bool = strawberry.field(description="Neither revoked nor expired.")

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list["Consent | None"]:
        """Only the citizen who gave a consent sees it (like their consents)."""
        node_ids = list(node_ids)
        citizen_id = own_citizen(info)
        found = {}
        if citizen_id is not None and any(parse_node_ids(node_ids)):
            found = {row.id: row for row in await info.context.loaders.consents.load(citizen_id)}
        return keep_order(node_ids, found, consent_from_row)


@strawberry.type
class ConsentPayload:
    consent: Consent | None
    user_errors: list[UserError]


@strawberry.input
class GrantConsentInput:
    partner_id: strawberry.ID
    scopes: list[ScopeEnum]
    expires_at: dt.datetime


def consent_from_row(row: Row[Any]) -> Consent:
    now = dt.datetime.now(dt.UTC)
    return Consent(
        id=str(row.id),
        partner=Partner(id=str(row.partner_id), name=row.partner_name),
        scopes=[ScopeEnum(s) for s in row.scopes],
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        live=row.revoked_at is None and row.expires_at > now,
    )


def _refused(code: UserErrorCode, message: str, field: str) -> ConsentPayload:
    return ConsentPayload(consent=None, user_errors=[user_error(code, message, field)])


def _check_grant(input: GrantConsentInput, partner: Row[Any] | None) -> ConsentPayload | None:
    if partner is None or partner.revoked_at is not None:
        return _refused(UserErrorCode.NOT_FOUND, "no such partner", "partnerId")
    scopes = set(input.scopes)
    if not scopes:
        return _refused(UserErrorCode.INVALID_VALUE, "grant at least one scope", "scopes")
    not_readable = sorted(s.value for s in scopes if s not in READ_SCOPES)
    if not_readable:
        return _refused(
            UserErrorCode.SCOPE_NOT_GRANTABLE,
            f"a citizen can only grant read scopes, not {', '.join(not_readable)}",
            "scopes",
        )
    not_held = sorted(s.value for s in scopes if s.value not in partner.scopes)
    if not_held:
        return _refused(
            UserErrorCode.SCOPE_NOT_GRANTABLE,
            f"{partner.name} is not allowed to use {', '.join(not_held)}",
            "scopes",
        )
    now = dt.datetime.now(dt.UTC)
    expires_at = input.expires_at
    if expires_at.tzinfo is None or not now < expires_at <= now + LONGEST_CONSENT:
        return _refused(
            UserErrorCode.INVALID_VALUE,
            "expiresAt must be a time with a zone, in the future and within a year",
            "expiresAt",
        )
    return None


@strawberry.mutation(
    permission_classes=[IsCitizen],
    description="Let a partner read these parts of your data until expiresAt.",
)
async def grant_consent(info: strawberry.Info, input: GrantConsentInput) -> ConsentPayload:
    citizen_id = info.context.principal.citizen_id
    partner_id = parse_typed_node_id(input.partner_id, "Partner")
    engines = info.context.services.engines
    async with reading(engines, Store.CORE) as core:
        found = await partners_by_ids(core, [partner_id]) if partner_id else []
        refusal = _check_grant(input, found[0] if found else None)
        if refusal is not None:
            return refusal
        assert partner_id is not None
        try:
            consent_id = await consents.insert_consent(
                core, citizen_id, partner_id, [s.value for s in input.scopes], input.expires_at
            )
        except IntegrityError as error:
            if sqlstate(error) != FOREIGN_KEY_VIOLATION:
                raise
            # The partner was read just above: the signed-in citizen no longer exists.
            raise ApiError(
                ErrorCode.UNAUTHENTICATED, "the signed-in account no longer exists"
            ) from None
        row = await consents.consent_by_id(core, consent_id)
        await core.commit()
    assert row is not None
    return ConsentPayload(consent=consent_from_row(row), user_errors=[])


@strawberry.mutation(
    permission_classes=[IsCitizen], description="Stop a partner reading under this consent."
)
async def revoke_consent(info: strawberry.Info, id: strawberry.ID) -> ConsentPayload:
    citizen_id = info.context.principal.citizen_id
    consent_id = parse_typed_node_id(id, "Consent")
    async with reading(info.context.services.engines, Store.CORE) as core:
        revoked = consent_id is not None and await consents.revoke_consent(
            core, citizen_id, consent_id
        )
        if not revoked:
            return _refused(UserErrorCode.NOT_FOUND, "you have no such consent", "id")
        assert consent_id is not None
        row = await consents.consent_by_id(core, consent_id)
        await core.commit()
    assert row is not None
    return ConsentPayload(consent=consent_from_row(row), user_errors=[])
