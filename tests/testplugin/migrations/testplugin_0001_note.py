"""The test plugin's notes.

Revision ID: testplugin_0001
Revises:
Create Date: 2026-11-23 12:08:11.079318
"""
from alembic import op
import sqlalchemy as sa

revision = "testplugin_0001"
down_revision = None
branch_labels = ("testplugin",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "testplugin_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_testplugin_note_tenant_id_tenant"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testplugin_note")),
    )
    op.create_index(op.f("ix_testplugin_note_tenant_id"), "testplugin_note", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("testplugin_note")
