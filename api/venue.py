"""Venues: where citizens check in, registered and closed by the partners that run them."""

import datetime as dt
import uuid
from typing import Any

import strawberry
from sqlalchemy import Row
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.context import Services
from api.poster import MEDIA_TYPES, PosterFormat, render_poster
from api.user_errors import UserError, UserErrorCode, user_error
from auth.permissions import OperatesVenues
from auth.principal import Anonymous, PartnerPrincipal, authenticate
from auth.qr import CodeKind, QrSigner
from auth.scopes import Scope
from models import venue as venues
from models.stores import Store, reading
from models.venue import VenueKind as VenueKindEnum

strawberry.enum(VenueKindEnum, name="VenueKind")


@strawberry.type
class Venue:
    code: str
    name: str
    kind: VenueKindEnum
    province_code: str
    district: str | None
    address: str | None
    closed_at: dt.datetime | None = strawberry.field(
        description="Set once the venue closed: its code is refused at check-in from then on."
    )


def venue_from_row(row: Row[Any], prefix: str = "") -> Venue:
    return Venue(
        code=getattr(row, f"{prefix}code"),
        name=getattr(row, f"{prefix}name"),
        kind=VenueKindEnum(getattr(row, f"{prefix}kind")),
        province_code=getattr(row, f"{prefix}province_code"),
        district=getattr(row, f"{prefix}district"),
        address=getattr(row, f"{prefix}address"),
        closed_at=getattr(row, f"{prefix}closed_at"),
    )


async def resolve_venue(info: strawberry.Info, code: str) -> Venue | None:
    row = await info.context.loaders.venue_by_code.load(code.strip())
    return venue_from_row(row) if row is not None else None


@strawberry.input
class RegisterVenueInput:
    name: str
    kind: VenueKindEnum
    province_code: str
    district: str | None = None
    address: str | None = None


@strawberry.type
class VenuePayload:
    venue: Venue | None
    user_errors: list[UserError]


def _refused(code: UserErrorCode, message: str, field: str) -> VenuePayload:
    return VenuePayload(venue=None, user_errors=[user_error(code, message, field)])


def _text(value: str | None, longest: int) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()[:longest]


def _check_registration(input: RegisterVenueInput, operator: PartnerPrincipal) -> UserError | None:
    if not 0 < len(input.name.strip()) <= 200:
        return user_error(UserErrorCode.INVALID_VALUE, "a name has 1 to 200 characters", "name")
    code = input.province_code
    if not (len(code) == 2 and code.isdigit()):
        return user_error(
            UserErrorCode.INVALID_VALUE, "a province code is two digits", "provinceCode"
        )
    if operator.province_code is not None and operator.province_code != code:
        return user_error(
            UserErrorCode.INVALID_VALUE,
            f"this operator registers venues in province {operator.province_code} only",
            "provinceCode",
        )
    return None


@strawberry.mutation(
    permission_classes=[OperatesVenues],
    description="Register a venue you run; its code (for the poster) is in the answer.",
)
async def register_venue(info: strawberry.Info, input: RegisterVenueInput) -> VenuePayload:
    operator: PartnerPrincipal = info.context.principal
    problem = _check_registration(input, operator)
    if problem is not None:
        return VenuePayload(venue=None, user_errors=[problem])
    new = venues.NewVenue(
        name=input.name.strip(),
        kind=input.kind,
        province_code=input.province_code,
        district=_text(input.district, 100),
        address=_text(input.address, 300),
        operator_id=operator.partner_id,
    )
    async with reading(info.context.services.engines, Store.CORE) as core:
        row = await venues.insert_venue(core, new)
        await core.commit()
    return VenuePayload(venue=venue_from_row(row), user_errors=[])


def operated_by(row: Row[Any] | None, operator_id: uuid.UUID) -> bool:
    return row is not None and row.operator_id == operator_id


@strawberry.mutation(
    permission_classes=[OperatesVenues],
    description="Close a venue you run: its code is refused at check-in from now on.",
)
async def close_venue(info: strawberry.Info, code: str) -> VenuePayload:
    operator: PartnerPrincipal = info.context.principal
    async with reading(info.context.services.engines, Store.CORE) as core:
        row = await venues.venue_by_code(core, code.strip().upper())
        if row is None:
            return _refused(UserErrorCode.NOT_FOUND, "no venue has this code", "code")
        if not operated_by(row, operator.partner_id):
            return _refused(
                UserErrorCode.NOT_YOUR_VENUE, "another operator runs this venue", "code"
            )
        closed = await venues.close_venue(core, row.id)
        await core.commit()
    assert closed is not None
    return VenuePayload(venue=venue_from_row(closed), user_errors=[])


def venue_payload(qr: QrSigner, code: str) -> str:
    return qr.sign(CodeKind.VENUE, code)


def venue_poster(qr: QrSigner, row: Row[Any], format: PosterFormat) -> bytes:
    """The printable poster: the signed code with the venue's name and code under it."""
    return render_poster(venue_payload(qr, row.code), row.name, format, row.code)


async def venue_qr_svg(request: Request) -> Response:
    """GET /venues/{code}/qr.svg: the venue's poster, for the partner that runs it."""
    services: Services = request.app.state.services
    principal = await authenticate(
        request.headers.get("authorization"), services.issuer, services.engines.reader(Store.CORE)
    )
    if isinstance(principal, Anonymous):
        return JSONResponse(
            {"error": "a venue operator's partner token is required"},
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    row = None
    if isinstance(principal, PartnerPrincipal) and principal.holds(Scope.CHECKINS_STAFF):
        async with reading(services.engines, Store.CORE) as core:
            row = await venues.venue_by_code(core, request.path_params["code"].strip().upper())
    # The same answer whether the venue is someone else's or does not exist.
    if row is None or not isinstance(principal, PartnerPrincipal):
        return JSONResponse({"error": "not a venue you run"}, status_code=403)
    if not operated_by(row, principal.partner_id):
        return JSONResponse({"error": "not a venue you run"}, status_code=403)
    return Response(
        venue_poster(services.qr, row, PosterFormat.SVG),
        media_type=MEDIA_TYPES[PosterFormat.SVG],
        headers={"cache-control": "private, no-store"},
    )
