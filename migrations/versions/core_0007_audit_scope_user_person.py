"""Audit records located in the union tree, and a user's account linked to their registry person.

``audit_record.scope_path`` is the materialised path of the organization a change concerns (NULL: the change
concerns the tenant as a whole), indexed with ``tenant_id`` so a federation admin's search is a range scan of
their subtrees. Records written before this revision keep NULL: only tenant admins see them in a search, and
the hash chain of such a record is verified as it was written (``core.audit``).

``user_account.person_id`` links a worker's account to their person in the registry, once per tenant.

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "core_0007"
down_revision = "core_0006"
branch_labels = None
depends_on = None

# As core/models/region.py's PATH on this date: byte order on PostgreSQL, so a prefix is a range of the index.
PATH = sa.String(length=255).with_variant(postgresql.VARCHAR(255, collation="C"), "postgresql")


def upgrade() -> None:
    # ADD COLUMN fires no row trigger: the append-only guard of audit_record is not involved.
    with op.batch_alter_table("audit_record") as batch_op:
        batch_op.add_column(sa.Column("scope_path", PATH, nullable=True))
        batch_op.create_index("ix_audit_record_scope", ["tenant_id", "scope_path"])
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_user_account_person_id_person"), "person", ["person_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_unique_constraint(batch_op.f("uq_user_account_tenant_id_person_id"), ["tenant_id", "person_id"])


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_user_account_tenant_id_person_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_user_account_person_id_person"), type_="foreignkey")
        batch_op.drop_column("person_id")
    with op.batch_alter_table("audit_record") as batch_op:
        batch_op.drop_index("ix_audit_record_scope")
        batch_op.drop_column("scope_path")
