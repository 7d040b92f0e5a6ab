"""Personal QR cards, for citizens without a smartphone: venue staff scan the card. The code
holds only an opaque, signed serial; a new card revokes the one before. A province office
issues, prints and revokes the cards of the citizens of its province."""

import datetime as dt
import uuid
from typing import Any

import strawberry
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.context import Services
from api.nodes import parse_typed_node_id
from api.observe import observed_in
from api.poster import MEDIA_TYPES, PosterFormat, poster_svg, render_poster
from api.user_errors import UserError, UserErrorCode, user_error
from auth.permissions import IsCitizen, Reconciles
from auth.principal import Anonymous, PartnerPrincipal, authenticate
from auth.qr import CodeKind, QrSigner, new_serial
from auth.registration import Office
from auth.scopes import Section
from models import checkin as cards
from models.audit import AuditAction, record
from models.citizen import citizens_by_ids
from models.stores import Store, reading

CARD_CAPTION = "Thẻ QR cá nhân · Personal QR card"


@strawberry.type
class PersonalQr:
    payload: str = strawberry.field(description="What the card's QR code holds.")
    svg: str = strawberry.field(description="The printable card (SVG).")
    issued_at: dt.datetime


def card_poster(qr: QrSigner, row: Row[Any], format: PosterFormat) -> bytes:
    """The printable card, as me.personalQr draws it: the code, the caption, the serial."""
    return render_poster(qr.sign(CodeKind.PERSONAL, row.serial), CARD_CAPTION, format, row.serial)


def _card(info: strawberry.Info, row: Row[Any]) -> PersonalQr:
    payload = info.context.services.qr.sign(CodeKind.PERSONAL, row.serial)
    return PersonalQr(
        payload=payload,
        svg=poster_svg(payload, CARD_CAPTION, row.serial),
        issued_at=row.issued_at,
    )


async def _issue(core: AsyncConnection, citizen_id: uuid.UUID, issued_by: str) -> Row[Any]:
    return await cards.issue_card(core, citizen_id, new_serial(), issued_by)


async def resolve_personal_qr(root: Any, info: strawberry.Info) -> PersonalQr | None:
    """The citizen's live card, issued on first request."""
    citizen_id = uuid.UUID(root.id)
    async with reading(info.context.services.engines, Store.CORE) as core:
        card = await cards.live_card(core, citizen_id)
        if card is None:
            try:
                card = await _issue(core, citizen_id, "citizen")
                await core.commit()
            except IntegrityError:
                # Issued at the same moment by another request: use that one.
                await core.rollback()
                card = await cards.live_card(core, citizen_id)
    return _card(info, card) if card is not None else None


personal_qr_field: Any = strawberry.field(
    resolver=resolve_personal_qr,
    permission_classes=[IsCitizen],
    description="Your personal QR card, to print if you check in without a phone.",
)


@strawberry.mutation(
    permission_classes=[IsCitizen],
    description="A new personal QR card; the one you had stops working (a lost card).",
)
async def renew_personal_qr(info: strawberry.Info) -> PersonalQr:
    async with reading(info.context.services.engines, Store.CORE) as core:
        card = await _issue(core, info.context.principal.citizen_id, "citizen")
        await core.commit()
    return _card(info, card)


@strawberry.type
class PersonalQrPayload:
    personal_qr: PersonalQr | None
    user_errors: list[UserError]


# A province office and the cards of the citizens of its province


async def _of_province(core: AsyncConnection, office: Office, wanted: uuid.UUID | None) -> bool:
    found = await citizens_by_ids(core, [wanted]) if wanted else []
    return bool(found) and found[0].province_code == office.province_code


async def issue_by_office(
    core: AsyncConnection, office: Office, citizen_id: uuid.UUID | None, request_id: str
) -> Row[Any] | None:
    """A new card for a citizen of the office's province (the one before stops working);
    None when the citizen is not one of theirs. The caller commits."""
    if citizen_id is None or not await _of_province(core, office, citizen_id):
        return None
    card = await _issue(core, citizen_id, office.signature)
    entry = (citizen_id, [Section.IDENTITY.value])
    await record(core, office.actor, AuditAction.ISSUE_CARD, [entry], request_id)
    return card


async def revoke_by_office(
    core: AsyncConnection, office: Office, citizen_id: uuid.UUID | None, request_id: str
) -> bool | None:
    """Revoke the card in use of a citizen of the office's province: False when they had
    none, None when they are not one of theirs. The caller commits."""
    if citizen_id is None or not await _of_province(core, office, citizen_id):
        return None
    revoked = await cards.revoke_card(core, citizen_id)
    if revoked:
        entry = (citizen_id, [Section.IDENTITY.value])
        await record(core, office.actor, AuditAction.REVOKE_CARD, [entry], request_id)
    return revoked


class NotOfProvince(Exception):
    pass


async def card_to_print(
    core: AsyncConnection, office: Office, citizen_id: uuid.UUID | None, request_id: str
) -> Row[Any] | None:
    """The card in use of a citizen of the office's province, to print again (None: they
    have none); raises NotOfProvince. The caller commits."""
    if citizen_id is None or not await _of_province(core, office, citizen_id):
        raise NotOfProvince()
    card = await cards.live_card(core, citizen_id)
    if card is not None:
        entry = (citizen_id, [Section.IDENTITY.value])
        await record(core, office.actor, AuditAction.PRINT_CARD, [entry], request_id)
    return card


def _not_of_province() -> UserError:
    return user_error(UserErrorCode.NOT_FOUND, "no such citizen in your province", "citizenId")


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="Print a new personal QR card for a citizen of your province (the one they "
    "had stops working). The citizen sees it in their access log.",
)
async def issue_personal_qr(info: strawberry.Info, citizen_id: strawberry.ID) -> PersonalQrPayload:
    office = Office.of(info.context.principal)
    wanted = parse_typed_node_id(citizen_id, "Citizen")
    async with reading(info.context.services.engines, Store.CORE) as core:
        card = await issue_by_office(core, office, wanted, info.context.request_id)
        if card is None:
            return PersonalQrPayload(personal_qr=None, user_errors=[_not_of_province()])
        await core.commit()
    return PersonalQrPayload(personal_qr=_card(info, card), user_errors=[])


@strawberry.type
class RevokePersonalQrPayload:
    revoked: bool = strawberry.field(
        description="False when the citizen had no card in use: nothing changed."
    )
    user_errors: list[UserError]


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="Revoke the personal QR card of a citizen of your province (lost or "
    "stolen): venue staff scanning it are refused from now on. issuePersonalQr prints a "
    "new one. The citizen sees it in their access log.",
)
async def revoke_personal_qr(
    info: strawberry.Info, citizen_id: strawberry.ID
) -> RevokePersonalQrPayload:
    office = Office.of(info.context.principal)
    wanted = parse_typed_node_id(citizen_id, "Citizen")
    async with reading(info.context.services.engines, Store.CORE) as core:
        revoked = await revoke_by_office(core, office, wanted, info.context.request_id)
        if revoked is None:
            return RevokePersonalQrPayload(revoked=False, user_errors=[_not_of_province()])
        await core.commit()
    return RevokePersonalQrPayload(revoked=revoked, user_errors=[])


async def personal_qr_print(request: Request) -> Response:
    """GET /citizens/personal-qr.{svg|png|pdf}?id=CITIZEN_ID: the citizen's card in use,
    printed again, for the province office of the citizen's province (audited). The ID is
    in the query, not the path: request logs carry paths, and no ID."""
    services: Services = request.app.state.services
    principal = await authenticate(
        request.headers.get("authorization"),
        services.issuer,
        services.engines.reader(Store.CORE),
        services.revocations,
    )
    if isinstance(principal, Anonymous):
        return JSONResponse(
            {"error": "a province office's partner token is required"},
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    try:
        format = PosterFormat(request.path_params["format"])
    except ValueError:
        return JSONResponse({"error": "the format is svg, png or pdf"}, status_code=404)
    # The same answer whether the caller is no office, or the citizen lives elsewhere or
    # does not exist.
    refused = JSONResponse({"error": "not a citizen of your province"}, status_code=403)
    if not isinstance(principal, PartnerPrincipal) or not Reconciles().allows(principal):
        return refused
    wanted = parse_typed_node_id(request.query_params.get("id", ""), "Citizen")
    request_id = observed_in(request.scope).request_id
    async with reading(services.engines, Store.CORE) as core:
        try:
            card = await card_to_print(core, Office.of(principal), wanted, request_id)
        except NotOfProvince:
            return refused
        if card is None:
            return JSONResponse(
                {"error": "this citizen has no card in use: issue one with issuePersonalQr"},
                status_code=404,
            )
        await core.commit()
    return Response(
        card_poster(services.qr, card, format),
        media_type=MEDIA_TYPES[format],
        headers={"cache-control": "private, no-store"},
    )
