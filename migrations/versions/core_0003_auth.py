"""Sign-in: users' phones and last login, sign-in counts and one-time SMS codes, indexes for scoped lists.

Revision ID: core_0003
Revises: core_0002
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_account", sa.Column("phone", sa.Text(), nullable=True))
    op.add_column("user_account", sa.Column("phone_index", sa.String(length=64), nullable=True))
    op.add_column("user_account", sa.Column("last_login_at", sa.DateTime(), nullable=True))
    op.create_index("uq_user_account_tenant_id_phone_index", "user_account", ["tenant_id", "phone_index"], unique=True)
    op.create_index("ix_role_grant_tenant_id_organization_id", "role_grant", ["tenant_id", "organization_id"])
    op.create_index("ix_api_token_tenant_id_user_id", "api_token", ["tenant_id", "user_id"])

    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(), nullable=True),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_login_throttle_tenant_id_tenant"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("tenant_id", "kind", "key", name=op.f("uq_login_throttle_tenant_id_kind_key")),
    )
    op.create_index(op.f("ix_login_throttle_tenant_id"), "login_throttle", ["tenant_id"])
    # Platform sign-ins have no tenant, and NULLs are distinct in the unique key above.
    op.create_index(
        "uq_login_throttle_platform_kind_key",
        "login_throttle",
        ["kind", "key"],
        unique=True,
        postgresql_where=sa.text("tenant_id IS NULL"),
        sqlite_where=sa.text("tenant_id IS NULL"),
    )

    op.create_table(
        "login_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_login_code_tenant_id_tenant"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_login_code_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_code")),
    )
    op.create_index(op.f("ix_login_code_tenant_id"), "login_code", ["tenant_id"])
    op.create_index("ix_login_code_tenant_id_phone_index", "login_code", ["tenant_id", "phone_index"])


def downgrade() -> None:
    op.drop_table("login_code")
    op.drop_table("login_throttle")
    op.drop_index("ix_api_token_tenant_id_user_id", table_name="api_token")
    op.drop_index("ix_role_grant_tenant_id_organization_id", table_name="role_grant")
    op.drop_index("uq_user_account_tenant_id_phone_index", table_name="user_account")
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("phone_index")
        batch_op.drop_column("phone")
