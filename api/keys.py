"""`healthgraph keys …` and `healthgraph pass revoke`: signing keys and health passes.

`keys rotate` adds a key that is published at once (in /.well-known/jwks.json)
and signs only from its activation time, so verifiers that cache the key set
learn it first. The keys it replaces stay: they keep verifying what they
signed until someone removes their files, after the longest a credential of
theirs lives (15 minutes for access tokens, HEALTHGRAPH_PASS_MAX_DAYS for passes).
"""

import argparse
import asyncio
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auth.health_pass import OPERATOR, NoSuchPass, revoke_pass
from auth.keys import KeyPurpose, generate_key, load_keys
from models.config import Settings
from models.stores import Engines, Store, StoreUrls


def keys_dir(settings: Settings, purpose: KeyPurpose) -> Path:
    return settings.keys_dir if purpose is KeyPurpose.ACCESS else settings.pass_keys_path


def cmd_rotate(args: argparse.Namespace, settings: Settings) -> int:
    hours = settings.key_activation_hours if args.activate_in is None else args.activate_in
    active_from = datetime.now(UTC) + timedelta(hours=hours)
    key = generate_key(keys_dir(settings, args.purpose), args.purpose, active_from)
    print(
        f"new {args.purpose.value} key {key.kid}: published now, "
        f"signs from {active_from.isoformat(timespec='minutes')}"
    )
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    for purpose in KeyPurpose:
        directory = keys_dir(settings, purpose)
        keys = load_keys(directory, create=False, purpose=purpose) if directory.is_dir() else []
        signing = next((key for key in keys if key.active_at(now)), None)
        for key in keys:
            if key is signing:
                state = "signs"
            elif key.active_at(now):
                state = "verifies only"
            else:
                state = f"published, signs from {key.active_from:%Y-%m-%d %H:%M} UTC"
            print(f"{purpose.value:7} {key.kid}  {state}")
    return 0


def cmd_revoke_pass(args: argparse.Namespace, urls: StoreUrls, settings: Settings) -> int:
    try:
        pass_id = uuid.UUID(args.pass_id)
    except ValueError:
        print("healthgraph pass revoke: not a pass ID", file=sys.stderr)
        return 2

    async def run() -> Any:
        engines = Engines(urls, settings)
        try:
            async with engines[Store.CORE].begin() as core:
                return await revoke_pass(core, OPERATOR, pass_id, f"cli-{uuid.uuid4().hex}")
        finally:
            await engines.dispose()

    try:
        row = asyncio.run(run())
    except NoSuchPass:
        print("healthgraph pass revoke: no such pass", file=sys.stderr)
        return 1
    print(f"pass {row.id} revoked at {row.revoked_at.isoformat(timespec='seconds')}")
    return 0


def add_key_and_pass_commands(
    commands: Any, with_stores: Callable[[Callable[..., int]], Callable[..., int]]
) -> None:
    keys = commands.add_parser("keys", help="signing keys of access tokens and health passes")
    actions = keys.add_subparsers(dest="action", required=True)
    rotate = actions.add_parser("rotate", help="add a key: published now, signing later")
    rotate.add_argument("--purpose", type=KeyPurpose, choices=list(KeyPurpose), required=True)
    rotate.add_argument(
        "--activate-in",
        type=float,
        metavar="HOURS",
        help="hours until it signs (default HEALTHGRAPH_KEY_ACTIVATION_HOURS)",
    )
    rotate.set_defaults(run=cmd_rotate)
    actions.add_parser("list", help="every key and what it does now").set_defaults(run=cmd_list)

    health_pass = commands.add_parser("pass", help="health passes")
    pass_actions = health_pass.add_subparsers(dest="action", required=True)
    revoke = pass_actions.add_parser("revoke", help="revoke a pass (it stops verifying at once)")
    revoke.add_argument("pass_id")
    revoke.set_defaults(run=with_stores(cmd_revoke_pass))
