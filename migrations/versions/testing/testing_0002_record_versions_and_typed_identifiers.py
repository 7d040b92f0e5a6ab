"""record versions from the source, identifiers at any real length, voiding

A sample keeps the source's own `updatedAt` (its collection and its result
arrive as two versions of one record), its identifiers as typed, and a
status so that one entered in error leaves the citizen's view.

Revision ID: testing_0002
Revises: testing_0001
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "testing_0002"
down_revision: str | None = "testing_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "testing"
_TYPED = ("national_id", "insurance_number", "phone")


def upgrade() -> None:
    for column in _TYPED:
        op.alter_column("samples", column, type_=sa.String(64), schema=_SCHEMA)
    op.add_column(
        "samples",
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        schema=_SCHEMA,
    )
    op.execute(f"UPDATE {_SCHEMA}.samples SET source_updated_at = recorded_at")
    op.alter_column("samples", "source_updated_at", nullable=False, schema=_SCHEMA)
    op.add_column(
        "samples",
        sa.Column("status", sa.String(20), nullable=False, server_default="VALID"),
        schema=_SCHEMA,
    )
    op.alter_column("samples", "status", server_default=None, schema=_SCHEMA)


def downgrade() -> None:
    op.drop_column("samples", "status", schema=_SCHEMA)
    op.drop_column("samples", "source_updated_at", schema=_SCHEMA)
    lengths = {"national_id": 20, "insurance_number": 20, "phone": 15}
    for column in _TYPED:
        op.alter_column("samples", column, type_=sa.String(lengths[column]), schema=_SCHEMA)
