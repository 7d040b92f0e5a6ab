"""`healthgraph venue …`: register, list and close venues, and print their posters."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from api.partner import in_core_transaction
from api.poster import PosterFormat
from api.venue import venue_poster
from auth.qr import QrSigner
from models import venue as venues
from models.config import Settings
from models.partner import find_partner
from models.stores import StoreUrls
from models.venue import VenueKind


def _fail(message: str) -> int:
    print(f"healthgraph venue: {message}", file=sys.stderr)
    return 1


def _line(row: Any) -> str:
    state = f"closed {row.closed_at:%Y-%m-%d}" if row.closed_at else "open"
    where = ", ".join(part for part in (row.district, row.province_code) if part)
    return f"{row.code:<16} {row.kind:<24} {state:<17} {where:<28} {row.name}"


def cmd_create(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    async def create(core: AsyncConnection) -> Any:
        operator = await find_partner(core, args.operator) if args.operator else None
        if args.operator and (operator is None or operator.revoked_at is not None):
            return None
        new = venues.NewVenue(
            name=args.name.strip(),
            kind=args.kind,
            province_code=args.province,
            district=args.district,
            address=args.address,
            operator_id=operator.id if operator else None,
        )
        return await venues.insert_venue(core, new)

    if not (len(args.province) == 2 and args.province.isdigit()):
        return _fail("--province is a two-digit province code")
    row = in_core_transaction(urls, settings, create)
    if row is None:
        return _fail(f"no live partner named {args.operator!r}")
    print(_line(row))
    return 0


def cmd_list(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    async def listing(core: AsyncConnection) -> list[Any] | None:
        operator_id = None
        if args.operator:
            operator = await find_partner(core, args.operator)
            if operator is None:
                return None
            operator_id = operator.id
        return await venues.venues_of(core, operator_id, args.province)

    rows = in_core_transaction(urls, settings, listing)
    if rows is None:
        return _fail(f"no partner named {args.operator!r}")
    print(f"{'CODE':<16} {'KIND':<24} {'STATE':<17} {'DISTRICT, PROVINCE':<28} NAME")
    for row in rows:
        print(_line(row))
    return 0


def cmd_close(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    async def close(core: AsyncConnection) -> Any:
        row = await venues.venue_by_code(core, args.code.strip().upper())
        return await venues.close_venue(core, row.id) if row is not None else None

    row = in_core_transaction(urls, settings, close)
    if row is None:
        return _fail(f"no venue has the code {args.code!r}")
    print(_line(row))
    return 0


def cmd_qr(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    row = in_core_transaction(
        urls, settings, lambda core: venues.venue_by_code(core, args.code.strip().upper())
    )
    if row is None:
        return _fail(f"no venue has the code {args.code!r}")
    poster = venue_poster(QrSigner.from_settings(settings), row, args.format)
    output = args.output or Path(f"{row.code}.{args.format.value}")
    if str(output) == "-":
        sys.stdout.buffer.write(poster)
    else:
        output.write_bytes(poster)
        print(f"wrote {output}", file=sys.stderr)
    return 0


def add_venue_commands(
    commands: Any, run: Callable[[Callable[..., int]], Callable[..., int]]
) -> None:
    """Register `venue …`; run adapts a (args, urls, settings) command to the program."""
    venue = commands.add_parser("venue", help="register venues and print their QR posters")
    actions = venue.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="register a venue and print its code")
    create.add_argument("name")
    create.add_argument("--kind", type=VenueKind, choices=list(VenueKind), required=True)
    create.add_argument("--province", required=True, help="2-digit province code")
    create.add_argument("--district")
    create.add_argument("--address")
    create.add_argument("--operator", help="the partner (name or ID) that runs it")
    create.set_defaults(run=run(cmd_create))

    listing = actions.add_parser("list", help="list venues")
    listing.add_argument("--operator", help="only this partner's (name or ID)")
    listing.add_argument("--province", help="only this province's")
    listing.set_defaults(run=run(cmd_list))

    close = actions.add_parser("close", help="close a venue: its code is refused from now on")
    close.add_argument("code")
    close.set_defaults(run=run(cmd_close))

    qr = actions.add_parser("qr", help="write a venue's printable QR poster")
    qr.add_argument("code")
    qr.add_argument(
        "--format", type=PosterFormat, choices=list(PosterFormat), default=PosterFormat.SVG
    )
    qr.add_argument("--output", type=Path, help="file to write (- for standard output)")
    qr.set_defaults(run=run(cmd_qr))
