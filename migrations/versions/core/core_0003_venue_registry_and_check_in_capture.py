"""venue registry and check-in capture

Venues get their district, operating partner and closing time. Check-ins may be
unlinked (a staff scan of an insurance number no citizen has verified yet) and
carry that number, the worker-bus trip and the operator whose staff scanned.
Offline scanners' items are remembered by their client ID; personal QR cards
are kept so that a new one revokes the old.

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-01 11:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "core_0003"
down_revision: str | None = "core_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "venues",
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        schema="core",
    )
    op.add_column("venues", sa.Column("operator_id", sa.Uuid(), nullable=True), schema="core")
    op.add_column(
        "venues", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True), schema="core"
    )
    op.create_foreign_key(
        op.f("fk_venues_operator_id_partners"),
        "venues",
        "partners",
        ["operator_id"],
        ["id"],
        source_schema="core",
        referent_schema="core",
        ondelete="SET NULL",
    )
    op.create_index(
        op.f("ix_venues_operator_id"), "venues", ["operator_id"], unique=False, schema="core"
    )

    op.alter_column("check_ins", "citizen_id", nullable=True, schema="core")
    op.add_column(
        "check_ins",
        sa.Column("insurance_number", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=True),
        schema="core",
    )
    op.add_column(
        "check_ins",
        sa.Column("trip_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        schema="core",
    )
    op.add_column("check_ins", sa.Column("operator_id", sa.Uuid(), nullable=True), schema="core")
    op.create_index(
        "ix_check_ins_unlinked_insurance",
        "check_ins",
        ["insurance_number"],
        unique=False,
        schema="core",
        postgresql_where=sa.text("citizen_id IS NULL"),
    )

    op.create_table(
        "staff_scans",
        sa.Column("operator_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("check_in_id", sa.Uuid(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["core.partners.id"],
            name=op.f("fk_staff_scans_operator_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operator_id", "client_id", name=op.f("pk_staff_scans")),
        schema="core",
    )
    op.create_index(
        op.f("ix_staff_scans_scanned_at"),
        "staff_scans",
        ["scanned_at"],
        unique=False,
        schema="core",
    )

    op.create_table(
        "personal_cards",
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["core.citizens.id"],
            name=op.f("fk_personal_cards_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_personal_cards")),
        schema="core",
    )
    op.create_index(
        op.f("ix_personal_cards_citizen_id"),
        "personal_cards",
        ["citizen_id"],
        unique=False,
        schema="core",
    )
    op.create_index(
        "uq_personal_cards_live_citizen",
        "personal_cards",
        ["citizen_id"],
        unique=True,
        schema="core",
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("personal_cards", schema="core")
    op.drop_table("staff_scans", schema="core")
    op.drop_index("ix_check_ins_unlinked_insurance", table_name="check_ins", schema="core")
    op.drop_column("check_ins", "operator_id", schema="core")
    op.drop_column("check_ins", "trip_id", schema="core")
    op.drop_column("check_ins", "insurance_number", schema="core")
    op.execute("DELETE FROM core.check_ins WHERE citizen_id IS NULL")
    op.alter_column("check_ins", "citizen_id", nullable=False, schema="core")
    op.drop_index(op.f("ix_venues_operator_id"), table_name="venues", schema="core")
    op.drop_constraint(
        op.f("fk_venues_operator_id_partners"), "venues", schema="core", type_="foreignkey"
    )
    op.drop_column("venues", "closed_at", schema="core")
    op.drop_column("venues", "operator_id", schema="core")
    op.drop_column("venues", "district", schema="core")
