"""reconciliation decisions and citizens' record issues

Operators' decisions on queued records are kept append-only (the database
refuses UPDATE and DELETE); citizens' reports of missing or wrong records
carry the operator's answer.

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-12-01 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "core_0008"
down_revision: str | None = "core_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION core.record_decisions_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'record decisions are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$
"""
_APPEND_ONLY_TRIGGER = """
CREATE TRIGGER record_decisions_append_only BEFORE UPDATE OR DELETE ON core.record_decisions
FOR EACH ROW EXECUTE FUNCTION core.record_decisions_are_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "record_decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("store", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=True),
        sa.Column("previous_citizen_id", sa.Uuid(), nullable=True),
        sa.Column("operator_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("operator_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_decisions")),
        schema="core",
    )
    op.create_index(
        "ix_record_decisions_record",
        "record_decisions",
        ["store", "record_id", "at"],
        unique=False,
        schema="core",
    )
    op.execute(_APPEND_ONLY_FUNCTION)
    op.execute(_APPEND_ONLY_TRIGGER)
    op.create_table(
        "record_issues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("store", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("site", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("vaccine_code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("dose_number", sa.Integer(), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("answered_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["core.citizens.id"],
            name=op.f("fk_record_issues_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_issues")),
        schema="core",
    )
    op.create_index(
        "ix_record_issues_citizen",
        "record_issues",
        ["citizen_id", sa.literal_column("created_at DESC"), "id"],
        unique=False,
        schema="core",
    )
    op.create_index(
        "ix_record_issues_province",
        "record_issues",
        ["province_code", "status", "created_at", "id"],
        unique=False,
        schema="core",
    )


def downgrade() -> None:
    op.drop_table("record_issues", schema="core")
    op.execute("DROP TRIGGER record_decisions_append_only ON core.record_decisions")
    op.execute("DROP FUNCTION core.record_decisions_are_append_only()")
    op.drop_table("record_decisions", schema="core")
