"""sign-in, partners, consents and the audit log

The audit log refuses UPDATE and DELETE at the database: rows are only ever added.

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-25 18:05:52.453564
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "core_0002"
down_revision: str | None = "core_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION core.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$
"""
_APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON core.audit_log
FOR EACH ROW EXECUTE FUNCTION core.audit_log_is_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("principal_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("principal_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("principal_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("sections", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema="core",
    )
    op.create_index(
        "ix_audit_log_citizen_time",
        "audit_log",
        ["citizen_id", sa.literal_column("at DESC"), sa.literal_column("id DESC")],
        unique=False,
        schema="core",
    )
    op.execute(_APPEND_ONLY_FUNCTION)
    op.execute(_APPEND_ONLY_TRIGGER)
    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otp_challenges")),
        schema="core",
    )
    op.create_index(
        op.f("ix_otp_challenges_phone"), "otp_challenges", ["phone"], unique=False, schema="core"
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_partners_name")),
        schema="core",
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
        schema="core",
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["core.citizens.id"],
            name=op.f("fk_consents_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["core.partners.id"],
            name=op.f("fk_consents_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        schema="core",
    )
    op.create_index(
        op.f("ix_consents_citizen_id"), "consents", ["citizen_id"], unique=False, schema="core"
    )
    op.create_index(
        "ix_consents_partner_citizen",
        "consents",
        ["partner_id", "citizen_id"],
        unique=False,
        schema="core",
    )
    op.create_table(
        "partner_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["core.partners.id"],
            name=op.f("fk_partner_tokens_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_partner_tokens_token_hash")),
        schema="core",
    )
    op.create_index(
        op.f("ix_partner_tokens_partner_id"),
        "partner_tokens",
        ["partner_id"],
        unique=False,
        schema="core",
    )
    op.create_table(
        "profile_claims",
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["core.citizens.id"],
            name=op.f("fk_profile_claims_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("citizen_id", name=op.f("pk_profile_claims")),
        schema="core",
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["core.citizens.id"],
            name=op.f("fk_refresh_tokens_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
        schema="core",
    )
    op.create_index(
        op.f("ix_refresh_tokens_citizen_id"),
        "refresh_tokens",
        ["citizen_id"],
        unique=False,
        schema="core",
    )
    op.create_index(
        op.f("ix_refresh_tokens_family_id"),
        "refresh_tokens",
        ["family_id"],
        unique=False,
        schema="core",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_refresh_tokens_family_id"), table_name="refresh_tokens", schema="core")
    op.drop_index(op.f("ix_refresh_tokens_citizen_id"), table_name="refresh_tokens", schema="core")
    op.drop_table("refresh_tokens", schema="core")
    op.drop_table("profile_claims", schema="core")
    op.drop_index(op.f("ix_partner_tokens_partner_id"), table_name="partner_tokens", schema="core")
    op.drop_table("partner_tokens", schema="core")
    op.drop_index("ix_consents_partner_citizen", table_name="consents", schema="core")
    op.drop_index(op.f("ix_consents_citizen_id"), table_name="consents", schema="core")
    op.drop_table("consents", schema="core")
    op.drop_table("rate_limits", schema="core")
    op.drop_table("partners", schema="core")
    op.drop_index(op.f("ix_otp_challenges_phone"), table_name="otp_challenges", schema="core")
    op.drop_table("otp_challenges", schema="core")
    op.execute("DROP TRIGGER audit_log_append_only ON core.audit_log")
    op.execute("DROP FUNCTION core.audit_log_is_append_only()")
    op.drop_index("ix_audit_log_citizen_time", table_name="audit_log", schema="core")
    op.drop_table("audit_log", schema="core")
