"""phone confirmations by an office

A province office adds a phone to a citizen it registered only once the code sent to
that phone comes back: such a challenge names the office that asked and the citizen
who gets the phone. A sign-in challenge names neither, and neither kind works as the
other.

Revision ID: core_0013
Revises: core_0012
Create Date: 2026-12-01 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0013"
down_revision: str | None = "core_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("otp_challenges", sa.Column("office_id", sa.Uuid(), nullable=True), schema="core")
    op.add_column(
        "otp_challenges", sa.Column("citizen_id", sa.Uuid(), nullable=True), schema="core"
    )


def downgrade() -> None:
    # A confirmation still open would become a sign-in code on the way down: none survives.
    op.execute("DELETE FROM core.otp_challenges WHERE office_id IS NOT NULL")
    op.drop_column("otp_challenges", "citizen_id", schema="core")
    op.drop_column("otp_challenges", "office_id", schema="core")
