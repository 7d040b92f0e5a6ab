"""health passes and what a citizen's pass shows

Revision ID: core_0010
Revises: core_0009
Create Date: 2026-12-01 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0010"
down_revision: str | None = "core_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_passes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["core.citizens.id"],
            name=op.f("fk_health_passes_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_passes")),
        schema="core",
    )
    op.create_index("ix_health_passes_citizen_id", "health_passes", ["citizen_id"], schema="core")
    op.create_index(
        "uq_health_passes_live_citizen",
        "health_passes",
        ["citizen_id"],
        unique=True,
        schema="core",
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_index(
        "ix_health_passes_revoked_valid_until",
        "health_passes",
        ["valid_until"],
        schema="core",
        postgresql_where=sa.text("revoked_at IS NOT NULL"),
    )
    op.create_table(
        "health_pass_preferences",
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("shows_full_name", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["core.citizens.id"],
            name=op.f("fk_health_pass_preferences_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("citizen_id", name=op.f("pk_health_pass_preferences")),
        schema="core",
    )


def downgrade() -> None:
    op.drop_table("health_pass_preferences", schema="core")
    op.drop_table("health_passes", schema="core")
