"""persisted queries; rate-limit counters unlogged

The counters change on every request: as an unlogged table they cost no WAL flush, and
losing them in a crash only resets the windows.

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-01 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0005"
down_revision: str | None = "core_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persisted_queries",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_persisted_queries")),
        schema="core",
    )
    op.execute("ALTER TABLE core.rate_limits SET UNLOGGED")


def downgrade() -> None:
    op.execute("ALTER TABLE core.rate_limits SET LOGGED")
    op.drop_table("persisted_queries", schema="core")
