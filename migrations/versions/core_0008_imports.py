"""Import batches: one row per uploaded spreadsheet (the file itself stays under the data directory).

Revision ID: core_0008
Revises: core_0007
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "core_0008"
down_revision = "core_0007"
branch_labels = None
depends_on = None

# As core/models/region.py's PATH on this date: byte order on PostgreSQL, so a prefix is a range of the index.
PATH = sa.String(length=255).with_variant(postgresql.VARCHAR(255, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("stored_path", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("scope_path", PATH, nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=True),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("error_rows", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("applied_by_user_id", sa.Integer(), nullable=True),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_import_batch_tenant_id_tenant"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["uploaded_by_user_id"], ["user_account.id"],
                                name=op.f("fk_import_batch_uploaded_by_user_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["applied_by_user_id"], ["user_account.id"],
                                name=op.f("fk_import_batch_applied_by_user_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
    )
    op.create_index(op.f("ix_import_batch_tenant_id"), "import_batch", ["tenant_id"])
    op.create_index("ix_import_batch_tenant_id_scope_path", "import_batch", ["tenant_id", "scope_path"])


def downgrade() -> None:
    op.drop_index("ix_import_batch_tenant_id_scope_path", table_name="import_batch")
    op.drop_index(op.f("ix_import_batch_tenant_id"), table_name="import_batch")
    op.drop_table("import_batch")
