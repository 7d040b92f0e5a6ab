"""records found by their identifiers as typed, through indexes

Records are searched by their identifiers as typed, without separators and in
capitals (models.base.typed_key): matching a newly verified identifier and
re-matching a citizen's records read these expressions, so each has its index,
the phone with the date of birth. The plain column indexes served no query
and are dropped. Built concurrently: a live store keeps taking writes.

Revision ID: testing_0003
Revises: testing_0002
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "testing_0003"
down_revision: str | None = "testing_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "testing.samples"
_PATTERN = "[[:space:].()-]"


def _typed(column: str) -> str:
    return f"upper(regexp_replace({column}, '{_PATTERN}', '', 'g'))"


_TYPED_INDEXES = {
    "ix_samples_typed_national_id": _typed("national_id"),
    "ix_samples_typed_insurance_number": _typed("insurance_number"),
    "ix_samples_typed_phone_dob": f"{_typed('phone')}, date_of_birth",
}
_PLAIN_INDEXES = {
    "ix_samples_national_id": "national_id",
    "ix_samples_insurance_number": "insurance_number",
    "ix_samples_phone_dob": "phone, date_of_birth",
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, expressions in _TYPED_INDEXES.items():
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {_TABLE} ({expressions})"
            )
        for name in _PLAIN_INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS testing.{name}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, columns in _PLAIN_INDEXES.items():
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {_TABLE} ({columns})")
        for name in _TYPED_INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS testing.{name}")
