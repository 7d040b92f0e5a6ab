"""`healthgraph partner …`: create, list, revoke and rotate partner tokens.

A new token goes alone to standard output (so `TOKEN=$(healthgraph partner create …)`
works); what describes it goes to standard error. It is never shown again.
"""

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import relay

from auth import partners
from auth.scopes import Scope, UnknownScope, parse_scopes
from models.config import Settings
from models.partner import all_partners
from models.stores import Engines, Store, StoreUrls

_DURATION = re.compile(r"(\d+)([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}

T = TypeVar("T")


def parse_expiry(raw: str) -> datetime:
    """`90d`, `12h`, `30m`, an ISO date (midnight UTC) or an ISO date-time with a zone,
    in the future."""
    moment = _moment(raw)
    if moment <= datetime.now(UTC):
        raise argparse.ArgumentTypeError(f"{raw} is not in the future")
    return moment


def _moment(raw: str) -> datetime:
    duration = _DURATION.fullmatch(raw.strip())
    if duration:
        amount, unit = duration.groups()
        return datetime.now(UTC) + timedelta(**{_UNITS[unit]: int(amount)})
    try:
        if len(raw.strip()) == 10:
            day = date.fromisoformat(raw.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(raw.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date, date-time or duration: {raw}") from error
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time zone, e.g. 2027-01-01T00:00+07:00")
    return moment


def parse_scope_list(raw: str) -> frozenset[Scope]:
    try:
        return parse_scopes(raw.split(","))
    except UnknownScope as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def in_core_transaction(
    urls: StoreUrls, settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]
) -> T:
    """Run a command's work in one transaction of the core store, on engines made for it."""

    async def run() -> T:
        engines = Engines(urls, settings)
        try:
            async with engines[Store.CORE].begin() as core:
                return await work(core)
        finally:
            await engines.dispose()

    return asyncio.run(run())


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment else "never"


def _print_issued(issued: partners.IssuedToken, verb: str) -> None:
    print(
        f"{verb} token for partner {issued.name!r} (id {issued.partner_id}, in the API "
        f"{relay.to_base64('Partner', issued.partner_id)}); "
        f"expires: {_when(issued.expires_at)}.\n"
        "Store it now: it is not shown again.",
        file=sys.stderr,
    )
    print(issued.token)


def cmd_create(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    scopes = frozenset().union(*args.scopes)
    if Scope.RECONCILE in scopes and not args.province:
        print("healthgraph partner: `reconcile` needs --province", file=sys.stderr)
        return 2
    try:
        issued = in_core_transaction(
            urls,
            settings,
            lambda core: partners.create(core, args.name, scopes, args.province, args.expires),
        )
    except partners.PartnerExists as error:
        print(f"healthgraph partner: {error}", file=sys.stderr)
        return 1
    _print_issued(issued, "created")
    return 0


def cmd_list(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    rows = in_core_transaction(urls, settings, all_partners)
    print("ID                                    NAME / SCOPES / PROVINCE / LIVE TOKENS / STATUS")
    for row in rows:
        status = f"revoked {_when(row.revoked_at)}" if row.revoked_at else "active"
        tokens = ", ".join(f"{p}…" for p in row.token_prefixes) or "none"
        print(
            f"{row.id}  {row.name}\n"
            f"{'':38}scopes: {', '.join(row.scopes)}\n"
            f"{'':38}province: {row.province_code or '-'}  tokens: {tokens} "
            f"(expire: {_when(row.token_expires_at)})  {status}"
        )
    return 0


def cmd_revoke(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    try:
        partner_id = in_core_transaction(
            urls, settings, lambda core: partners.revoke(core, args.partner)
        )
    except partners.PartnerNotFound as error:
        print(f"healthgraph partner: {error}", file=sys.stderr)
        return 1
    print(f"revoked partner {partner_id}: its tokens stop working with the next request")
    return 0


def cmd_rotate(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    old_until = (
        datetime.now(UTC) + timedelta(minutes=args.grace_minutes) if args.grace_minutes else None
    )
    try:
        issued = in_core_transaction(
            urls,
            settings,
            lambda core: partners.rotate(core, args.partner, args.expires, old_until),
        )
    except partners.PartnerNotFound as error:
        print(f"healthgraph partner: {error}", file=sys.stderr)
        return 1
    _print_issued(issued, "new")
    print(
        f"the old token(s) stop working {_when(old_until) if old_until else 'now'}", file=sys.stderr
    )
    return 0


def add_partner_commands(
    commands: Any, run: Callable[[Callable[..., int]], Callable[..., int]]
) -> None:
    """Register `partner …`; run adapts a (args, urls, settings) command to the program."""
    partner = commands.add_parser("partner", help="manage partner systems and their tokens")
    actions = partner.add_subparsers(dest="action", required=True)
    known = ", ".join(s.value for s in Scope)

    create = actions.add_parser("create", help="register a partner and print its token once")
    create.add_argument("name")
    create.add_argument(
        "--scopes", nargs="+", type=parse_scope_list, required=True, help=f"any of: {known}"
    )
    create.add_argument("--province", help="2-digit province code (province operators)")
    create.add_argument("--expires", type=parse_expiry, help="90d, 12h, 2027-01-01, …")
    create.set_defaults(run=run(cmd_create))

    actions.add_parser("list", help="list partners and their live tokens").set_defaults(
        run=run(cmd_list)
    )

    revoke = actions.add_parser("revoke", help="revoke a partner and all its tokens")
    revoke.add_argument("partner", help="name or ID")
    revoke.set_defaults(run=run(cmd_revoke))

    rotate = actions.add_parser("rotate", help="issue a new token; the old ones stop")
    rotate.add_argument("partner", help="name or ID")
    rotate.add_argument("--expires", type=parse_expiry)
    rotate.add_argument(
        "--grace-minutes", type=int, default=0, help="let the old tokens work this much longer"
    )
    rotate.set_defaults(run=run(cmd_rotate))
