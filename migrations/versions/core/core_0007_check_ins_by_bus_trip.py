"""check-ins by bus trip

The exposure query finds everyone on a case's worker-bus trip; this partial
index (only check-ins made on a trip, a small share) reads exactly them.

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-12-01 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0007"
down_revision: str | None = "core_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_check_ins_venue_trip_time",
        "check_ins",
        ["venue_id", "trip_id", "checked_in_at"],
        unique=False,
        schema="core",
        postgresql_where=sa.text("trip_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_check_ins_venue_trip_time", table_name="check_ins", schema="core")
