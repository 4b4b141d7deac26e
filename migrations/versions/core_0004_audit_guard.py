"""Audit trail guard: purge anchors on the chain heads, the platform chain's unique seq, search indexes, and on
PostgreSQL the trigger that refuses UPDATE and DELETE of audit records (except a purge of old ones).

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

# Kept here as written on this date (a migration is history); core/models/audit.py holds the same text for
# create_all. A later change to the function is a new revision with CREATE OR REPLACE.
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    purge_before text := nullif(current_setting('gonghui.audit_purge_before', true), '');
BEGIN
    IF TG_OP = 'DELETE' AND purge_before IS NOT NULL
       AND OLD.at < purge_before::timestamp
       AND OLD.at < (now() AT TIME ZONE 'UTC') - interval '180 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = 'audit_record is append-only: ' || TG_OP || ' of record ' || OLD.id || ' refused',
        HINT = 'only gonghui audit purge deletes records, and only those older than the retention period';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record
FOR EACH ROW EXECUTE FUNCTION audit_record_append_only()
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_chain_head") as batch_op:
        batch_op.add_column(sa.Column("anchor_seq", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("anchor_hash", sa.String(length=64), server_default=GENESIS, nullable=False))
    with op.batch_alter_table("audit_record") as batch_op:
        batch_op.create_index(
            "uq_audit_record_platform_seq",
            ["seq"],
            unique=True,
            postgresql_where=sa.text("tenant_id IS NULL"),
            sqlite_where=sa.text("tenant_id IS NULL"),
        )
        batch_op.create_index("ix_audit_record_actor", ["tenant_id", "actor_id"])
        batch_op.create_index("ix_audit_record_at", ["tenant_id", "at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_record_append_only ON audit_record")
        op.execute("DROP FUNCTION IF EXISTS audit_record_append_only()")
    with op.batch_alter_table("audit_record") as batch_op:
        batch_op.drop_index("ix_audit_record_at")
        batch_op.drop_index("ix_audit_record_actor")
        batch_op.drop_index("uq_audit_record_platform_seq")
    with op.batch_alter_table("audit_chain_head") as batch_op:
        batch_op.drop_column("anchor_hash")
        batch_op.drop_column("anchor_seq")
