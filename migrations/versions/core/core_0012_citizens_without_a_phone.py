"""citizens without a phone

A province office registers citizens who have no phone at all, so a citizen's
phone may be absent (several absent phones do not collide: the unique constraint
ignores NULLs); a citizen also gets the district they live in.

Revision ID: core_0012
Revises: core_0011
Create Date: 2026-12-01 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0012"
down_revision: str | None = "core_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "citizens", "phone", existing_type=sa.String(length=10), nullable=True, schema="core"
    )
    op.add_column(
        "citizens", sa.Column("district", sa.String(length=100), nullable=True), schema="core"
    )


def downgrade() -> None:
    op.drop_column("citizens", "district", schema="core")
    # Refuses (NOT NULL fails) while citizens registered without a phone exist: their
    # records and check-ins are not ours to delete on the way down.
    op.alter_column(
        "citizens", "phone", existing_type=sa.String(length=10), nullable=False, schema="core"
    )
