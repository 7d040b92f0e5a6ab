"""record versions from the source, identifiers at any real length, when each vaccine existed

A record keeps the source's own `updatedAt` so that the newest version wins
whatever order deliveries arrive in. Identifiers are kept as typed (a phone
written `(+84) 912-345-678` is 17 characters). Each vaccine knows the first
day it was authorised anywhere, so a dose dated before it is refused.

Revision ID: immunization_0002
Revises: immunization_0001
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "immunization_0002"
down_revision: str | None = "immunization_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "immunization"
_TYPED = ("national_id", "insurance_number", "phone")
# First authorisation anywhere (emergency use or registration).
_AVAILABLE_FROM = {
    "AZD1222": "2020-12-30",
    "BNT162b2": "2020-12-02",
    "mRNA-1273": "2020-12-18",
    "BBIBP-CorV": "2020-07-22",
    "Gam-COVID-Vac": "2020-08-11",
    "Ad26.COV2.S": "2021-02-27",
    "CIGB-66": "2021-07-09",
}


def upgrade() -> None:
    for column in _TYPED:
        op.alter_column("vaccination_records", column, type_=sa.String(64), schema=_SCHEMA)
    op.add_column(
        "vaccination_records",
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        schema=_SCHEMA,
    )
    op.execute(f"UPDATE {_SCHEMA}.vaccination_records SET source_updated_at = recorded_at")
    op.alter_column("vaccination_records", "source_updated_at", nullable=False, schema=_SCHEMA)
    op.add_column("vaccines", sa.Column("available_from", sa.Date(), nullable=True), schema=_SCHEMA)
    for code, day in _AVAILABLE_FROM.items():
        op.execute(
            sa.text(
                f"UPDATE {_SCHEMA}.vaccines SET available_from = CAST(:day AS date) "
                "WHERE code = :code"
            ).bindparams(day=day, code=code)
        )


def downgrade() -> None:
    op.drop_column("vaccines", "available_from", schema=_SCHEMA)
    op.drop_column("vaccination_records", "source_updated_at", schema=_SCHEMA)
    lengths = {"national_id": 20, "insurance_number": 20, "phone": 15}
    for column in _TYPED:
        op.alter_column(
            "vaccination_records", column, type_=sa.String(lengths[column]), schema=_SCHEMA
        )
