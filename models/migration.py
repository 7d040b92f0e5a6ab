"""Apply and check each store's Alembic history."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection

import migrations
from models.stores import Store, StoreUrls

MIGRATIONS_DIR = Path(migrations.__file__).parent


class StoreNotMigrated(RuntimeError):
    pass


def alembic_config(store: Store, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions" / store.value))
    config.set_main_option("path_separator", "os")
    config.attributes["store"] = store.value
    config.attributes["url"] = url
    return config


def head_revision(store: Store) -> str | None:
    script = ScriptDirectory.from_config(alembic_config(store, "postgresql://unused"))
    return script.get_current_head()


def migrate(urls: StoreUrls) -> None:
    for store, url in urls.items():
        command.upgrade(alembic_config(store, url), "head")
    ensure_check_in_partitions(urls.core)


def _current_revision(connection: object, store: Store) -> str | None:
    context = MigrationContext.configure(
        connection,  # type: ignore[arg-type]
        opts={"version_table_schema": store.schema},
    )
    return context.get_current_revision()


async def check_migrated(store: Store, connection: AsyncConnection) -> None:
    """Raise StoreNotMigrated, saying what to run, unless the store is at its head."""
    current = await connection.run_sync(_current_revision, store)
    head = head_revision(store)
    if current != head:
        raise StoreNotMigrated(
            f"the {store.value} store is at migration {current or 'none'}, "
            f"expected {head}: run `healthgraph migrate`"
        )


def ensure_check_in_partitions(core_url: str) -> None:
    """Create the monthly check-in partitions around today (idempotent)."""
    from sqlalchemy import create_engine, pool, text

    from models.checkin import current_partition_months, partition_ddl
    from models.stores import sync_url

    engine = create_engine(sync_url(core_url), poolclass=pool.NullPool)
    with engine.begin() as connection:
        for month in current_partition_months():
            connection.execute(text(partition_ddl(month)))
    engine.dispose()
