"""check-ins know when their declaration was answered

Scans of one person at one venue within the dedupe window are one check-in; of
their health declarations the one answered last (by scan time, as offline scans
arrive out of order) is kept, so the check-in keeps when that was.

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-12-01 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0011"
down_revision: str | None = "core_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "check_ins",
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=True),
        schema="core",
    )


def downgrade() -> None:
    op.drop_column("check_ins", "declared_at", schema="core")
