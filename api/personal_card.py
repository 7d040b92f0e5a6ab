"""Personal QR cards, for citizens without a smartphone: venue staff scan the card. The code
holds only an opaque, signed serial; a new card revokes the one before."""

import datetime as dt
import uuid
from typing import Any

import strawberry
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from api.nodes import parse_typed_node_id
from api.poster import poster_svg
from api.user_errors import UserError, UserErrorCode, user_error
from auth.permissions import IsCitizen, Reconciles
from auth.principal import PartnerPrincipal
from auth.qr import CodeKind, new_serial
from auth.scopes import Section
from models import checkin as cards
from models.audit import Actor, AuditAction, record
from models.citizen import citizens_by_ids
from models.stores import Store, reading

CARD_CAPTION = "Thẻ QR cá nhân · Personal QR card"


@strawberry.type
class PersonalQr:
    payload: str = strawberry.field(description="What the card's QR code holds.")
    svg: str = strawberry.field(description="The printable card (SVG).")
    issued_at: dt.datetime


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


@strawberry.mutation(
    permission_classes=[Reconciles],
    description="Print a new personal QR card for a citizen of your province (the one they "
    "had stops working). The citizen sees it in their access log.",
)
async def issue_personal_qr(info: strawberry.Info, citizen_id: strawberry.ID) -> PersonalQrPayload:
    operator: PartnerPrincipal = info.context.principal
    wanted = parse_typed_node_id(citizen_id, "Citizen")
    async with reading(info.context.services.engines, Store.CORE) as core:
        found = await citizens_by_ids(core, [wanted]) if wanted else []
        if not found or found[0].province_code != operator.province_code:
            return PersonalQrPayload(
                personal_qr=None,
                user_errors=[
                    user_error(
                        UserErrorCode.NOT_FOUND, "no such citizen in your province", "citizenId"
                    )
                ],
            )
        card = await _issue(core, found[0].id, f"partner:{operator.name}")
        actor = Actor("PARTNER", str(operator.partner_id), operator.name)
        entry = (found[0].id, [Section.IDENTITY.value])
        await record(core, actor, AuditAction.ISSUE_CARD, [entry], info.context.request_id)
        await core.commit()
    return PersonalQrPayload(personal_qr=_card(info, card), user_errors=[])
