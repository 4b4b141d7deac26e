"""The messages the console gateway received.

Revision ID: sms_console_0001
Revises:
Create Date: 2026-11-23 12:17:04.006346
"""
from alembic import op
import sqlalchemy as sa

revision = "sms_console_0001"
down_revision = None
branch_labels = ("sms_console",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "sms_console_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("client_ref", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_sms_console_message_tenant_id_tenant"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_console_message")),
        sa.UniqueConstraint("tenant_id", "client_ref", name=op.f("uq_sms_console_message_tenant_id_client_ref")),
    )
    op.create_index(op.f("ix_sms_console_message_tenant_id"), "sms_console_message", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("sms_console_message")
