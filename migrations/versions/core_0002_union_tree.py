"""The union tree: regions, organizations, and role grants held at an organization.

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-23 12:44:12.189753
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None

# Paths compare byte by byte on PostgreSQL whatever the database's locale (see core/models/region.py).
PATH = sa.String(length=255).with_variant(postgresql.VARCHAR(length=255, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "region",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", PATH, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["region.id"], name=op.f("fk_region_parent_id_region")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_region_tenant_id_tenant"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_region_tenant_id_code")),
    )
    op.create_index(op.f("ix_region_tenant_id"), "region", ["tenant_id"])
    op.create_index("ix_region_tenant_id_parent_id", "region", ["tenant_id", "parent_id"])
    op.create_index("ix_region_tenant_id_path", "region", ["tenant_id", "path"])

    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("joint", sa.Boolean(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", PATH, nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("chairman_name", sa.String(length=50), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("contact_phone_index", sa.String(length=64), nullable=True),
        sa.Column("legal_person_cert_no", sa.String(length=40), nullable=False),
        sa.Column("term_ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["organization.id"], name=op.f("fk_organization_merged_into_id_organization")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["organization.id"], name=op.f("fk_organization_parent_id_organization")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_organization_region_id_region"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_organization_tenant_id_tenant"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
    )
    op.create_index(op.f("ix_organization_tenant_id"), "organization", ["tenant_id"])
    op.create_index(
        "ix_organization_tenant_id_contact_phone_index", "organization", ["tenant_id", "contact_phone_index"]
    )
    op.create_index("ix_organization_tenant_id_name", "organization", ["tenant_id", "name"])
    op.create_index("ix_organization_tenant_id_parent_id", "organization", ["tenant_id", "parent_id"])
    op.create_index("ix_organization_tenant_id_path", "organization", ["tenant_id", "path"])
    op.create_index("ix_organization_tenant_id_region_id", "organization", ["tenant_id", "region_id"])
    op.create_index(
        "uq_organization_city_federation",
        "organization",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'city_federation' AND status = 'active'"),
        sqlite_where=sa.text("kind = 'city_federation' AND status = 'active'"),
    )

    # SQLite adds a foreign key only by copying the table: batch mode does that, PostgreSQL just alters it.
    with op.batch_alter_table("role_grant") as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_role_grant_organization_id_organization"), "organization", ["organization_id"], ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("role_grant") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_role_grant_organization_id_organization"), type_="foreignkey")
    op.drop_table("organization")
    op.drop_table("region")
