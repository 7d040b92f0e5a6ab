"""The `healthgraph` program: serve, migrate, seed, token, export-schema, partner, import,
venue, citizen, retention, keys, pass."""

import argparse
import asyncio
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from api.logs import configure_logging
from models.config import Settings, get_settings
from models.stores import StoreUrls, redact, resolve_urls

if TYPE_CHECKING:
    from models.stores import Engines

SCHEMA_FILE = Path("schema.graphql")
log = logging.getLogger("healthgraph")


def _urls(settings: Settings) -> StoreUrls:
    urls = resolve_urls(settings)
    if settings.uses_embedded_postgres:
        # Worker processes read the same settings: point them at the server started here.
        os.environ["HEALTHGRAPH_CORE_DATABASE_URL"] = urls.core
        os.environ["HEALTHGRAPH_IMMUNIZATION_DATABASE_URL"] = urls.immunization
        os.environ["HEALTHGRAPH_TESTING_DATABASE_URL"] = urls.testing
        get_settings.cache_clear()
    return urls


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from models.migration import migrate

    urls = _urls(settings)
    migrate(urls)
    for store, url in urls.items():
        print(f"{store.value}: migrated ({redact(url)})")
    return 0


async def _seed(urls: StoreUrls, settings: Settings, citizens: int) -> str:
    from demo.seed import AlreadySeeded, seed
    from models.stores import Engines

    # Batches of thousands of records take longer than a request's statement timeout.
    engines = Engines(urls, settings.model_copy(update={"store_statement_timeout": 600.0}))
    try:
        summary = await seed(engines, citizens, progress=lambda line: print(line, flush=True))
    except AlreadySeeded:
        return await _already_seeded(engines, settings, citizens)
    finally:
        await engines.dispose()
    return (
        f"seeded {summary.citizens} citizens, {summary.vaccination_records} vaccination records, "
        f"{summary.samples} samples, {summary.venues} venues, {summary.check_ins} check-ins "
        f"({summary.unmatched_records} records unmatched)"
    )


async def _already_seeded(engines: "Engines", settings: Settings, asked: int) -> str:
    from sqlalchemy import text

    from models.stores import Store

    async with engines[Store.CORE].connect() as core:
        held = (await core.execute(text("SELECT count(*) FROM core.citizens"))).scalar_one()
    where = str(settings.data_dir) if settings.uses_embedded_postgres else "the core store"
    if held == asked:
        return f"already seeded with {held} citizens: nothing changed"
    return (
        f"already seeded: {where} holds {held} citizens, so --citizens {asked} was not "
        "applied (nothing changed); to reseed at another scale, stop the service and "
        + (f"delete {where}" if settings.uses_embedded_postgres else "use empty databases")
    )


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    urls = _urls(settings)
    if settings.uses_embedded_postgres:
        from models.migration import migrate

        migrate(urls)
    print(asyncio.run(_seed(urls, settings, args.citizens)))
    return 0


async def _token_for(urls: StoreUrls, settings: Settings, phone: str) -> str | None:
    from auth.tokens import TokenIssuer
    from models.citizen import citizen_id_by_phone
    from models.stores import Engines, Store

    engines = Engines(urls, settings)
    try:
        async with engines[Store.CORE].connect() as core:
            citizen_id = await citizen_id_by_phone(core, phone)
    finally:
        await engines.dispose()
    return TokenIssuer.from_settings(settings).issue(citizen_id) if citizen_id else None


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from models.identifiers import InvalidIdentifier, normalize_phone

    try:
        phone = normalize_phone(args.phone)
    except InvalidIdentifier as error:
        print(f"healthgraph token: {error}", file=sys.stderr)
        return 2
    token = asyncio.run(_token_for(_urls(settings), settings, phone))
    if token is None:
        print(f"healthgraph token: no citizen has the phone {phone}", file=sys.stderr)
        return 1
    print(token)
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from api.schema_export import schema_text

    text = schema_text()
    if args.check:
        if not args.output.exists() or args.output.read_text() != text:
            print(f"{args.output} is stale: run `healthgraph export-schema`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


def _port_taken(host: str, port: int) -> str | None:
    """Why the port cannot be served on, or None when it is free."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return error.strerror or str(error)
    return None


@contextmanager
def _metrics_dir() -> Iterator[None]:
    """Worker processes write their metrics into one fresh directory that /metrics reads
    (prometheus-client's multiprocess mode); it is emptied at start and removed at exit."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="healthgraph-metrics-"))
    if configured:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    try:
        yield
    finally:
        if not configured:
            shutil.rmtree(path, ignore_errors=True)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.logs import log_config
    from auth.sms import MisconfiguredSignIn, sign_in_settings_check

    busy = _port_taken(args.host, args.port)
    if busy is not None:
        print(
            f"healthgraph serve: cannot listen on {args.host}:{args.port}: {busy}", file=sys.stderr
        )
        return 2
    try:
        sign_in_settings_check(settings)
    except MisconfiguredSignIn as error:
        print(f"healthgraph serve: {error}", file=sys.stderr)
        return 2
    urls = _urls(settings)
    if settings.uses_embedded_postgres or args.demo:
        from models.migration import migrate

        migrate(urls)
    if args.demo:
        print(asyncio.run(_seed(urls, settings, args.citizens)), flush=True)
        _print_demo_access(urls, settings, args.host, args.port)
    with _metrics_dir():
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=log_config(settings.log_level),
            # Our middleware logs each request once, with what uvicorn cannot know.
            access_log=False,
            # X-Forwarded-For is read by the app, from HEALTHGRAPH_TRUSTED_PROXIES only.
            proxy_headers=False,
            # In-flight requests finish on SIGTERM, for at most this long.
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        )
    return 0


def _print_demo_access(urls: StoreUrls, settings: Settings, host: str, port: int) -> None:
    from auth.sms import outbox_path
    from demo.seed import DEMO_OFFICE_NAME, DEMO_PHONE, WITHOUT_PHONE

    token = asyncio.run(_token_for(urls, settings, DEMO_PHONE))
    shown_host = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
    print(
        "\n"
        f"GraphiQL:  http://{shown_host}:{port}/graphql\n"
        f"Demo citizen {DEMO_PHONE}; paste this token into GraphiQL's Access token field:\n"
        f"{token}\n"
        f"(the token lasts {settings.access_token_minutes} minutes; "
        f"`healthgraph token --phone {DEMO_PHONE}` prints a fresh one)\n"
        f"Province office: `healthgraph partner rotate '{DEMO_OFFICE_NAME}'` prints its token; "
        f"it registered {WITHOUT_PHONE.full_name}, who has no phone\n"
        + (
            f"Sign-in codes (no SMS gateway configured) go to {outbox_path(settings)}\n"
            if settings.sms_gateway_url is None
            else ""
        ),
        flush=True,
    )


def _with_stores(command: Callable[..., int]) -> Callable[[argparse.Namespace, Settings], int]:
    """Adapt a command that works on the stores: find them (migrating the embedded ones)."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        urls = _urls(settings)
        if settings.uses_embedded_postgres:
            from models.migration import migrate

            migrate(urls)
        return command(args, urls, settings)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healthgraph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (embedded PostgreSQL by default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="migrate and seed demo data first")
    serve.add_argument("--citizens", type=int, default=1000, help="demo data scale")
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="apply every store's migrations").set_defaults(
        run=cmd_migrate
    )

    seed = commands.add_parser("seed", help="write deterministic demo data")
    seed.add_argument("--citizens", type=int, default=1000)
    seed.set_defaults(run=cmd_seed)

    token = commands.add_parser("token", help="print an access token for a citizen")
    token.add_argument("--phone", required=True)
    token.set_defaults(run=cmd_token)

    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("--output", type=Path, default=SCHEMA_FILE)
    export.add_argument("--check", action="store_true", help="fail when the file is stale")
    export.set_defaults(run=cmd_export_schema)

    from api.partner import add_partner_commands

    add_partner_commands(commands, _with_stores)

    from api.record_import import add_import_commands

    add_import_commands(commands, _with_stores)
    from api.retention import add_retention_commands
    from api.venue_cli import add_venue_commands

    add_venue_commands(commands, _with_stores)
    from api.citizen_cli import add_citizen_commands

    add_citizen_commands(commands, _with_stores)
    add_retention_commands(commands, _with_stores)

    from api.keys import add_key_and_pass_commands

    add_key_and_pass_commands(commands, _with_stores)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    return int(args.run(args, settings))


if __name__ == "__main__":
    sys.exit(main())
