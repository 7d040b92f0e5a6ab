"""Each store migrates from empty into its own schema, and the app refuses unmigrated stores."""

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, pool

from api.app import create_app
from models.migration import StoreNotMigrated, migrate
from models.stores import StoreUrls, sync_url

EXPECTED_TABLES = {
    "core": {
        "citizens",
        "citizen_identifiers",
        "venues",
        "check_ins",
        "record_links",
        "exposure_alerts",
    },
    "immunization": {"vaccines", "vaccination_records"},
    "testing": {"labs", "samples"},
}


def _tables(url: str, schema: str) -> set[str]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        names = set(sa.inspect(connection).get_table_names(schema=schema))
    engine.dispose()
    return names


def test_migrations_create_every_store_from_empty_databases(database_factory):
    urls = StoreUrls(
        core=database_factory("m_core"),
        immunization=database_factory("m_imm"),
        testing=database_factory("m_test"),
    )

    migrate(urls)
    migrate(urls)  # a second run changes nothing

    for store, expected in EXPECTED_TABLES.items():
        url = getattr(urls, store)
        assert expected <= _tables(url, store)
        assert "alembic_version" in _tables(url, store)


def test_three_stores_can_share_one_database_without_colliding(database_factory):
    url = database_factory("shared")

    migrate(StoreUrls(url, url, url))

    for store, expected in EXPECTED_TABLES.items():
        assert expected <= _tables(url, store)


async def test_the_app_refuses_to_start_on_an_unmigrated_store(
    database_factory, settings, store_urls
):
    empty = database_factory("unmigrated")
    app = create_app(settings, StoreUrls(store_urls.core, store_urls.immunization, empty))

    with pytest.raises(StoreNotMigrated, match="run `healthgraph migrate`"):
        async with app.router.lifespan_context(app):
            pass


def test_check_in_partitions_cover_the_months_kept_and_the_months_ahead():
    from datetime import date

    from models.checkin import current_partition_months

    assert current_partition_months(date(2026, 1, 15)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
