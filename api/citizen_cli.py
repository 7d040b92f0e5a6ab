"""`healthgraph citizen …`: a province office registers a citizen who has no phone, corrects
the details it typed, and prints, revokes and reissues their personal QR card, at the
command line (a phone is added through GraphQL only: its code comes from the person). Each command
acts as the office's partner (`--office NAME_OR_ID`, a partner holding `reconcile` for a
province), under the same rules and audit as its GraphQL mutation."""

import argparse
import asyncio
import datetime as dt
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from strawberry import relay

from api.nodes import parse_typed_node_id
from api.personal_card import (
    NotOfProvince,
    card_poster,
    card_to_print,
    issue_by_office,
    revoke_by_office,
)
from api.poster import PosterFormat
from auth.correction import CorrectionRequest, correct_citizen
from auth.qr import QrSigner
from auth.registration import Office, Registration, RegistrationRefused, office_named
from auth.registration import register_citizen as register
from models.config import Settings
from models.stores import Engines, Store, StoreUrls, reading


class _Refused(Exception):
    pass


def _fail(message: str) -> int:
    print(f"healthgraph citizen: {message}", file=sys.stderr)
    return 1


def _request_id() -> str:
    return f"cli-{uuid.uuid4().hex}"


def _as_office(
    urls: StoreUrls,
    settings: Settings,
    name: str,
    work: Callable[[Engines, Office], Awaitable[Any]],
) -> Any:
    async def run() -> Any:
        engines = Engines(urls, settings)
        try:
            async with reading(engines, Store.CORE) as core:
                office = await office_named(core, name)
            if office is None:
                raise _Refused(f"{name!r} is no live partner holding reconcile for a province")
            return await work(engines, office)
        finally:
            await engines.dispose()

    return asyncio.run(run())


def _node_id(citizen_id: uuid.UUID) -> str:
    return relay.to_base64("Citizen", str(citizen_id))


def cmd_register(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    given = Registration(
        full_name=args.name,
        date_of_birth=args.born,
        province_code=args.province,
        district=args.district,
        national_id=args.national_id,
        insurance_number=args.insurance_number,
    )

    async def work(engines: Engines, office: Office) -> Any:
        return await register(engines, office, given, _request_id())

    try:
        registered = _as_office(urls, settings, args.office, work)
    except _Refused as error:
        return _fail(str(error))
    except RegistrationRefused as refused:
        _print_refused(refused)
        if refused.citizen_id is not None:
            print(f"the citizen registered already: {_node_id(refused.citizen_id)}")
        return 1
    verb = "registered" if registered.created else "registered already (nothing changed):"
    print(f"{verb} {_node_id(registered.citizen_id)}", file=sys.stderr)
    print(_node_id(registered.citizen_id))
    return 0


def _citizen(raw: str) -> uuid.UUID | None:
    return parse_typed_node_id(raw, "Citizen")


def _print_refused(refused: RegistrationRefused) -> None:
    for problem in refused.problems:
        print(f"{problem.field or '-'}: {problem.code}: {problem.message}", file=sys.stderr)


def cmd_correct(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    wanted = _citizen(args.citizen)
    given = CorrectionRequest(
        full_name=args.name,
        date_of_birth=args.born,
        district=args.district,
        national_id=args.national_id,
        insurance_number=args.insurance_number,
    )

    async def work(engines: Engines, office: Office) -> Any:
        return await correct_citizen(engines, office, wanted, given, _request_id())

    try:
        corrected = _as_office(urls, settings, args.office, work)
    except _Refused as error:
        return _fail(str(error))
    except RegistrationRefused as refused:
        _print_refused(refused)
        return 1
    print("corrected" if corrected.changed else "nothing to correct: nothing changed")
    return 0


def cmd_card(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    wanted = _citizen(args.citizen)

    async def work(engines: Engines, office: Office) -> Any:
        async with reading(engines, Store.CORE) as core:
            card = None if args.new else await card_to_print(core, office, wanted, _request_id())
            if card is None:
                card = await issue_by_office(core, office, wanted, _request_id())
            await core.commit()
            return card

    try:
        card = _as_office(urls, settings, args.office, work)
    except _Refused as error:
        return _fail(str(error))
    except NotOfProvince:
        card = None
    if card is None:
        return _fail("no such citizen in the office's province")
    printed = card_poster(QrSigner.from_settings(settings), card, args.format)
    output = args.output or Path(f"personal-qr-{card.serial}.{args.format.value}")
    if str(output) == "-":
        sys.stdout.buffer.write(printed)
    else:
        output.write_bytes(printed)
        print(f"wrote {output} (card issued {card.issued_at:%Y-%m-%d %H:%M})", file=sys.stderr)
    return 0


def cmd_revoke_card(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    wanted = _citizen(args.citizen)

    async def work(engines: Engines, office: Office) -> Any:
        async with reading(engines, Store.CORE) as core:
            revoked = await revoke_by_office(core, office, wanted, _request_id())
            await core.commit()
            return revoked

    try:
        revoked = _as_office(urls, settings, args.office, work)
    except _Refused as error:
        return _fail(str(error))
    if revoked is None:
        return _fail("no such citizen in the office's province")
    print("card revoked" if revoked else "the citizen had no card in use: nothing changed")
    return 0


def add_citizen_commands(
    commands: Any, run: Callable[[Callable[..., int]], Callable[..., int]]
) -> None:
    """Register `citizen …`; run adapts a (args, urls, settings) command to the program."""
    citizen = commands.add_parser(
        "citizen", help="register citizens without a phone and print their personal QR cards"
    )
    actions = citizen.add_subparsers(dest="action", required=True)

    def office(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--office", required=True, help="the province office's partner (name or ID)"
        )

    register_parser = actions.add_parser(
        "register", help="register a citizen who has no phone; prints their Citizen ID"
    )
    register_parser.add_argument("name", help="full name, as on the card shown")
    register_parser.add_argument(
        "--born", type=dt.date.fromisoformat, required=True, help="date of birth, YYYY-MM-DD"
    )
    register_parser.add_argument("--national-id", help="12-digit CCCD or 9-digit CMND")
    register_parser.add_argument("--insurance-number", help="health-insurance (BHYT) number")
    register_parser.add_argument("--province", help="2-digit code (default: the office's)")
    register_parser.add_argument("--district")
    office(register_parser)
    register_parser.set_defaults(run=run(cmd_register))

    correct = actions.add_parser(
        "correct",
        help="correct the details typed for a citizen of the office's province; "
        "their records are matched again",
    )
    correct.add_argument("citizen", help="the Citizen ID")
    correct.add_argument("--name", help="full name, as on the card shown")
    correct.add_argument("--born", type=dt.date.fromisoformat, help="date of birth, YYYY-MM-DD")
    correct.add_argument(
        "--national-id", help="12-digit CCCD or 9-digit CMND: replaces every national ID held"
    )
    correct.add_argument("--insurance-number", help="health-insurance (BHYT) number")
    correct.add_argument("--district")
    office(correct)
    correct.set_defaults(run=run(cmd_correct))

    card = actions.add_parser(
        "card", help="print a citizen's personal QR card (issuing one if they have none)"
    )
    card.add_argument("citizen", help="the Citizen ID")
    card.add_argument("--new", action="store_true", help="issue a new card: the old one stops")
    card.add_argument(
        "--format", type=PosterFormat, choices=list(PosterFormat), default=PosterFormat.PDF
    )
    card.add_argument("--output", type=Path, help="file to write (- for standard output)")
    office(card)
    card.set_defaults(run=run(cmd_card))

    revoke = actions.add_parser(
        "revoke-card", help="revoke a citizen's card (lost or stolen): scans of it are refused"
    )
    revoke.add_argument("citizen", help="the Citizen ID")
    office(revoke)
    revoke.set_defaults(run=run(cmd_revoke_card))
