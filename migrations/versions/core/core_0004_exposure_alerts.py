"""exposure alerts

Alerts raised for citizens who were near a case. Unique per (case, exposed
check-in), so marking the same case again raises nothing twice.

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-01 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0004"
down_revision: str | None = "core_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exposure_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("case_citizen_id", sa.Uuid(), nullable=False),
        sa.Column("check_in_id", sa.Uuid(), nullable=False),
        sa.Column("venue_id", sa.Uuid(), nullable=False),
        sa.Column("exposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_by", sa.Uuid(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["core.citizens.id"],
            name=op.f("fk_exposure_alerts_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["core.venues.id"], name=op.f("fk_exposure_alerts_venue_id_venues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure_alerts")),
        sa.UniqueConstraint(
            "case_citizen_id",
            "check_in_id",
            name=op.f("uq_exposure_alerts_case_citizen_id_check_in_id"),
        ),
        schema="core",
    )
    op.create_index(
        "ix_exposure_alerts_citizen_time",
        "exposure_alerts",
        ["citizen_id", sa.literal_column("exposed_at DESC")],
        unique=False,
        schema="core",
    )


def downgrade() -> None:
    op.drop_index("ix_exposure_alerts_citizen_time", table_name="exposure_alerts", schema="core")
    op.drop_table("exposure_alerts", schema="core")
