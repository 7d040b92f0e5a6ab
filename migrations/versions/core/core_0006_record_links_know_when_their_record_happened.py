"""record links know when their record happened, so a citizen's records page in the index

Links made before this copy their record's time when the record's store shares this
database (the embedded and single-database set-ups); elsewhere they take their match
time until their record is written or matched again.

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-01 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0006"
down_revision: str | None = "core_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COPY_FROM = {
    "immunization": ("immunization.vaccination_records", "administered_at"),
    "testing": ("testing.samples", "collected_at"),
}


def upgrade() -> None:
    op.add_column(
        "record_links",
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        schema="core",
    )
    connection = op.get_bind()
    for store, (table, column) in _COPY_FROM.items():
        if connection.scalar(sa.text(f"SELECT to_regclass('{table}')")) is None:
            continue
        op.execute(
            f"UPDATE core.record_links l SET occurred_at = r.{column} FROM {table} r "
            f"WHERE l.store = '{store}' AND r.id = l.record_id"
        )
    op.execute("UPDATE core.record_links SET occurred_at = matched_at WHERE occurred_at IS NULL")
    op.alter_column("record_links", "occurred_at", nullable=False, schema="core")
    op.drop_index(
        "ix_record_links_citizen",
        table_name="record_links",
        schema="core",
        postgresql_where=sa.text("citizen_id IS NOT NULL"),
    )
    op.create_index(
        "ix_record_links_citizen_time",
        "record_links",
        ["citizen_id", "store", sa.text("occurred_at DESC"), sa.text("record_id DESC")],
        unique=False,
        schema="core",
        postgresql_where=sa.text("citizen_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_record_links_citizen_time",
        table_name="record_links",
        schema="core",
        postgresql_where=sa.text("citizen_id IS NOT NULL"),
    )
    op.create_index(
        "ix_record_links_citizen",
        "record_links",
        ["citizen_id", "store"],
        unique=False,
        schema="core",
        postgresql_where=sa.text("citizen_id IS NOT NULL"),
    )
    op.drop_column("record_links", "occurred_at", schema="core")
