"""People and memberships: the person registry (ID number and phone encrypted, with blind indexes), memberships with
one current per person (a partial unique index), and the append-only membership ledger.

Revision ID: core_0006
Revises: core_0005
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0006"
down_revision = "core_0005"
branch_labels = None
depends_on = None

# The same guard as core/models/membership.py creates for ``create_all``. TRUNCATE fires no row trigger.
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION membership_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = 'membership_entry is append-only: ' || TG_OP || ' of entry ' || OLD.id || ' refused';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER membership_entry_append_only BEFORE UPDATE OR DELETE ON membership_entry
FOR EACH ROW EXECUTE FUNCTION membership_entry_append_only()
"""


def _tenant_owned(table: str):
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f(f"fk_{table}_tenant_id_tenant"),
                                ondelete="RESTRICT"),
    ]


def _fk(table: str, column: str, referred: str, **kwargs) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=op.f(f"fk_{table}_{column}_{referred}"), **kwargs)


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_number", sa.Text(), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("ethnicity", sa.String(length=20), nullable=False),
        sa.Column("education", sa.String(length=30), nullable=False),
        sa.Column("political_status", sa.String(length=20), nullable=False),
        sa.Column("native_place", sa.String(length=50), nullable=False),
        sa.Column("household_type", sa.String(length=10), nullable=False),
        sa.Column("employment_form", sa.String(length=30), nullable=False),
        sa.Column("position", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=50), nullable=False),
        sa.Column("remarks", sa.String(length=500), nullable=False),
        sa.Column("filled_in_by_user_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_via", sa.String(length=10), nullable=False),
        *_tenant_owned("person"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("person", "filled_in_by_user_id", "user_account", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("tenant_id", "id_number_index", name=op.f("uq_person_tenant_id_id_number_index")),
    )
    op.create_index(op.f("ix_person_tenant_id"), "person", ["tenant_id"])
    op.create_index("ix_person_tenant_id_name", "person", ["tenant_id", "name"])
    op.create_index("ix_person_tenant_id_phone_index", "person", ["tenant_id", "phone_index"])

    op.create_table(
        "membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("parked", sa.Boolean(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("retained_because", sa.String(length=20), nullable=True),
        sa.Column("retained_on", sa.Date(), nullable=True),
        sa.Column("via_id", sa.Integer(), nullable=True),
        sa.Column("card_number", sa.String(length=30), nullable=True),
        *_tenant_owned("membership"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("membership", "organization_id", "organization", ondelete="RESTRICT"),
        _fk("membership", "person_id", "person", ondelete="RESTRICT"),
        _fk("membership", "unit_id", "unit", ondelete="RESTRICT"),
        # NO ACTION, not RESTRICT: SQLite checks RESTRICT row by row, so emptying the table in one DELETE would fail.
        _fk("membership", "via_id", "membership"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
    )
    op.create_index(op.f("ix_membership_tenant_id"), "membership", ["tenant_id"])
    op.create_index("ix_membership_tenant_id_person_id", "membership", ["tenant_id", "person_id"])
    op.create_index("ix_membership_tenant_id_organization_id_status", "membership",
                    ["tenant_id", "organization_id", "status"])
    op.create_index("ix_membership_tenant_id_unit_id", "membership", ["tenant_id", "unit_id"])
    # One current (active or retained) membership per person and tenant, on both engines.
    op.create_index("uq_membership_current", "membership", ["tenant_id", "person_id"], unique=True,
                    postgresql_where=sa.text("status <> 'ended'"), sqlite_where=sa.text("status <> 'ended'"))

    op.create_table(
        "membership_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        *_tenant_owned("membership_entry"),
        _fk("membership_entry", "membership_id", "membership", ondelete="RESTRICT"),
        _fk("membership_entry", "organization_id", "organization", ondelete="RESTRICT"),
        _fk("membership_entry", "person_id", "person", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_entry")),
    )
    op.create_index(op.f("ix_membership_entry_tenant_id"), "membership_entry", ["tenant_id"])
    op.create_index("ix_membership_entry_tenant_id_person_id", "membership_entry", ["tenant_id", "person_id"])
    op.create_index("ix_membership_entry_tenant_id_organization_id", "membership_entry",
                    ["tenant_id", "organization_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS membership_entry_append_only ON membership_entry")
        op.execute("DROP FUNCTION IF EXISTS membership_entry_append_only()")
    op.drop_table("membership_entry")
    op.drop_table("membership")
    op.drop_table("person")
