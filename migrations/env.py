"""Runs one store's migrations; the store comes from the Alembic config attributes."""

from alembic import context
from sqlalchemy import create_engine, pool, text

import models.audit
import models.checkin
import models.citizen
import models.consent
import models.exposure_alert
import models.health_pass
import models.link
import models.otp
import models.partner
import models.persisted_query
import models.profile
import models.ratelimit
import models.session
import models.testing
import models.vaccination
import models.venue  # noqa: F401  (register every table)
from models.base import METADATA
from models.stores import Store, sync_url

config = context.config
store = Store(config.attributes["store"])
url = sync_url(config.attributes["url"])


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=METADATA[store],
        literal_binds=True,
        version_table_schema=store.schema,
        include_schemas=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{store.schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=METADATA[store],
            version_table_schema=store.schema,
            include_schemas=True,
            include_name=lambda name, type_, parent: type_ != "schema" or name == store.schema,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
