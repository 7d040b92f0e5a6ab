"""The health pass: the citizen's colour and its signed QR code; scanners verify it."""

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import segno
import strawberry
from sqlalchemy import Row

from api.errors import ApiError, not_visible
from api.user_errors import UserError, UserErrorCode, user_error
from auth.health_pass import IssuedPass, NoSuchPass, PassCheck, PassIssuer, revoke_pass
from auth.permissions import IsCitizen, RevokesPasses, VerifiesPasses
from auth.principal import PartnerPrincipal
from auth.scopes import Section
from models.audit import Actor, AuditAction, record
from models.health_pass import records_for_rules, set_shows_full_name
from models.health_status import Colour, HealthStatus, evaluate
from models.stores import Engines, Store, reading

if TYPE_CHECKING:
    from api.loaders import Loaders

strawberry.enum(Colour, name="PassColour", description="GREEN passes, YELLOW with care, RED not.")
strawberry.enum(PassCheck, name="PassCheckResult")


@strawberry.type
class HealthPass:
    pass_id: str = strawberry.field(
        description="The identifier the signed credential carries (revokeHealthPass takes it)."
    )
    colour: Colour
    reasons: list[str] = strawberry.field(description="Why the colour is what it is.")
    valid_until: dt.datetime = strawberry.field(
        description="When this pass ends: when the colour would change by itself, or at the "
        "latest the longest a pass lasts (a new one is then issued on request)."
    )
    issued_at: dt.datetime
    shows_full_name: bool = strawberry.field(
        description="Whether the pass shows your full name (else only your initials)."
    )
    credential: str = strawberry.field(
        description="The signed pass (compact JWS, typ hg-pass+jwt) the QR code carries."
    )
    qr_svg: str = strawberry.field(description="The QR code of the credential, as an SVG.")


@strawberry.type
class HealthPassVerification:
    result: PassCheck
    pass_id: str | None = strawberry.field(description="Set unless the pass is FORGED.")
    colour: Colour | None = strawberry.field(description="Only for a VALID pass.")
    initials: str | None
    year_of_birth: int | None
    full_name: str | None = strawberry.field(description="Only if the holder shows it.")
    issued_at: dt.datetime | None
    valid_until: dt.datetime | None


@strawberry.type
class RevokedHealthPass:
    pass_id: str
    revoked_at: dt.datetime


@strawberry.type
class RevokeHealthPassPayload:
    revoked: RevokedHealthPass | None
    user_errors: list[UserError]


@strawberry.type
class HealthPassSettingsPayload:
    shows_full_name: bool
    user_errors: list[UserError]


@dataclass(frozen=True)
class EvaluatedPass:
    status: HealthStatus
    issued: IssuedPass


def qr_svg(credential: str) -> str:
    code = segno.make(credential, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=4, border=4, xmldecl=False)
    return out.getvalue().decode()


def health_pass_from(evaluated: EvaluatedPass) -> HealthPass:
    content = evaluated.issued.content
    return HealthPass(
        pass_id=str(content.pass_id),
        colour=content.colour,
        reasons=evaluated.status.reasons,
        valid_until=content.valid_until,
        issued_at=content.issued_at,
        shows_full_name=content.full_name is not None,
        credential=evaluated.issued.credential,
        qr_svg=qr_svg(evaluated.issued.credential),
    )


async def load_health_passes(
    loaders: "Loaders", issuer: PassIssuer, ids: list[uuid.UUID]
) -> list[EvaluatedPass | ApiError | None]:
    """Each citizen's colour from their records, and their pass: the live one while it is
    still right, else a new one (checked on every read; see README, Health pass)."""
    allowed = await loaders.access.readable(ids, Section.HEALTH_PASS)
    found = await evaluate_passes(loaders.engines, issuer, allowed) if allowed else {}
    return [found.get(i) if i in allowed else not_visible() for i in ids]


async def evaluate_passes(
    engines: Engines, issuer: PassIssuer, citizen_ids: list[uuid.UUID]
) -> dict[uuid.UUID, EvaluatedPass]:
    """The passes of citizens the caller may see (the caller decides who)."""
    found: dict[uuid.UUID, EvaluatedPass] = {}
    # A store that does not answer raises StoreUnavailable naming it.
    records = await records_for_rules(engines, citizen_ids)
    now = dt.datetime.now(dt.UTC)
    async with reading(engines, Store.CORE) as core:
        for citizen_id in citizen_ids:
            status = evaluate(*records[citizen_id], issuer.rules, now)
            issued = await issuer.current(core, citizen_id, status, now)
            if issued is not None:
                found[citizen_id] = EvaluatedPass(status, issued)
        await core.commit()
    return found


def _issuer(info: strawberry.Info) -> PassIssuer:
    issuer: PassIssuer | None = info.context.services.passes
    assert issuer is not None, "the app builds a pass issuer at start-up"
    return issuer


async def resolve_health_pass(info: strawberry.Info, citizen_id: str) -> HealthPass | None:
    evaluated = await info.context.loaders.health_pass.load(uuid.UUID(citizen_id))
    return health_pass_from(evaluated) if evaluated is not None else None


def _verification(result: PassCheck, content: Any, *, show: bool) -> HealthPassVerification:
    if content is None:
        return HealthPassVerification(
            result=result,
            pass_id=None,
            colour=None,
            initials=None,
            year_of_birth=None,
            full_name=None,
            issued_at=None,
            valid_until=None,
        )
    return HealthPassVerification(
        result=result,
        pass_id=str(content.pass_id),
        colour=content.colour if show else None,
        initials=content.initials if show else None,
        year_of_birth=content.year_of_birth if show else None,
        full_name=content.full_name if show else None,
        issued_at=content.issued_at,
        valid_until=content.valid_until,
    )


async def verify_health_pass(info: strawberry.Info, token: str) -> HealthPassVerification:
    principal = info.context.principal
    assert isinstance(principal, PartnerPrincipal)
    async with reading(info.context.services.engines, Store.CORE) as core:
        result, content, citizen_id = await _issuer(info).check(
            core, token, dt.datetime.now(dt.UTC)
        )
        if citizen_id is not None:
            await record(
                core,
                Actor("PARTNER", str(principal.partner_id), principal.name),
                AuditAction.PASS_CHECK,
                [(citizen_id, [Section.HEALTH_PASS.value])],
                info.context.request_id,
            )
        await core.commit()
    return _verification(result, content, show=result is PassCheck.VALID)


async def revoke_health_pass(info: strawberry.Info, pass_id: str) -> RevokeHealthPassPayload:
    try:
        parsed = uuid.UUID(str(pass_id))
    except ValueError:
        parsed = None
    try:
        if parsed is None:
            raise NoSuchPass()
        async with reading(info.context.services.engines, Store.CORE) as core:
            row: Row[Any] = await revoke_pass(
                core, info.context.principal, parsed, info.context.request_id
            )
            await core.commit()
    except NoSuchPass:
        return RevokeHealthPassPayload(
            revoked=None,
            user_errors=[user_error(UserErrorCode.NOT_FOUND, "no such pass", "passId")],
        )
    return RevokeHealthPassPayload(
        revoked=RevokedHealthPass(pass_id=str(row.id), revoked_at=row.revoked_at),
        user_errors=[],
    )


async def show_full_name_on_health_pass(
    info: strawberry.Info, show: bool
) -> HealthPassSettingsPayload:
    async with reading(info.context.services.engines, Store.CORE) as core:
        await set_shows_full_name(core, info.context.principal.citizen_id, show)
        await core.commit()
    return HealthPassSettingsPayload(shows_full_name=show, user_errors=[])


health_pass_query = strawberry.field(
    resolver=verify_health_pass,
    permission_classes=[VerifiesPasses],
    description="Check a health pass as a scanner (scope pass:verify); the holder sees the "
    "check in their access log.",
)
revoke_health_pass_mutation = strawberry.mutation(
    resolver=revoke_health_pass,
    permission_classes=[RevokesPasses],
    description="Revoke a health pass: your own (a lost phone), or any as an operator "
    "(scope pass:revoke). It stops verifying at once; a new one is issued on request.",
)
show_full_name_mutation = strawberry.mutation(
    resolver=show_full_name_on_health_pass,
    permission_classes=[IsCitizen],
    description="Show your full name on your health pass, or only your initials (the default).",
)
