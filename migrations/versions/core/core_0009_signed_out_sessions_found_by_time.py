"""signed-out sessions found by time

Every app process reads the sessions signed out within an access token's lifetime
every few seconds: a partial index keeps that read small however many sessions exist.

Revision ID: core_0009
Revises: core_0008
Create Date: 2026-12-01 11:15:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "core_0009"
down_revision: str | None = "core_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_refresh_tokens_revoked_at ON core.refresh_tokens (revoked_at) "
        "WHERE revoked_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX core.ix_refresh_tokens_revoked_at")
