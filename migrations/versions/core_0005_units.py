"""Units (单位) and their name search: a GIN index over the name's bigrams and the unit's regions on PostgreSQL, an
FTS5 table over the bigrams on SQLite.

Revision ID: core_0005
Revises: core_0004

The FTS5 table ``unit_name_fts`` reads its text from ``unit`` (external content) and three triggers on ``unit``
keep it in step. A later revision that alters ``unit`` in batch mode on SQLite copies the table and drops the
original, and the triggers with it: such a revision must create them again (the statements below) and rebuild
the index (``INSERT INTO unit_name_fts(unit_name_fts) VALUES ('rebuild')``). See docs/units.md.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "core_0005"
down_revision = "core_0004"
branch_labels = None
depends_on = None

# Paths compare byte by byte on PostgreSQL whatever the database's locale (see core/models/region.py).
PATH = sa.String(length=255).with_variant(postgresql.VARCHAR(length=255, collation="C"), "postgresql")
HEAD_COUNTS = ("employees", "women", "dispatched", "migrant_workers")

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE unit_name_fts USING fts5(name_bigrams, content='unit', content_rowid='id', tokenize='ascii')",
    "CREATE TRIGGER unit_name_fts_insert AFTER INSERT ON unit BEGIN "
    "INSERT INTO unit_name_fts(rowid, name_bigrams) VALUES (new.id, new.name_bigrams); END",
    "CREATE TRIGGER unit_name_fts_delete AFTER DELETE ON unit BEGIN "
    "INSERT INTO unit_name_fts(unit_name_fts, rowid, name_bigrams) VALUES ('delete', old.id, old.name_bigrams); END",
    "CREATE TRIGGER unit_name_fts_update AFTER UPDATE OF name_bigrams ON unit BEGIN "
    "INSERT INTO unit_name_fts(unit_name_fts, rowid, name_bigrams) VALUES ('delete', old.id, old.name_bigrams); "
    "INSERT INTO unit_name_fts(rowid, name_bigrams) VALUES (new.id, new.name_bigrams); END",
)


def _counted_among_employees(column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        f"{column} IS NULL OR employees IS NULL OR {column} <= employees", name=op.f(f"ck_unit_{column}_le_employees")
    )


def upgrade() -> None:
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_bigrams", sa.Text(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("registration_number", sa.String(length=15), nullable=True),
        sa.Column("organization_code", sa.String(length=9), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("region_path", PATH, nullable=False),
        sa.Column("industry", sa.String(length=1), nullable=True),
        sa.Column("economic_type", sa.String(length=3), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("legal_representative", sa.String(length=50), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("women", sa.Integer(), nullable=True),
        sa.Column("dispatched", sa.Integer(), nullable=True),
        sa.Column("migrant_workers", sa.Integer(), nullable=True),
        sa.Column("has_union", sa.Boolean(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            " AND ".join(f"({c} IS NULL OR {c} >= 0)" for c in HEAD_COUNTS), name=op.f("ck_unit_head_counts")
        ),
        _counted_among_employees("women"),
        _counted_among_employees("dispatched"),
        _counted_among_employees("migrant_workers"),
        sa.CheckConstraint("organization_id IS NULL OR has_union", name=op.f("ck_unit_covered_has_union")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"], name=op.f("fk_unit_organization_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"], name=op.f("fk_unit_region_id_region"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_unit_tenant_id_tenant"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
    )
    op.create_index(op.f("ix_unit_tenant_id"), "unit", ["tenant_id"])
    op.create_index("ix_unit_tenant_id_name", "unit", ["tenant_id", "name"])
    op.create_index("ix_unit_tenant_id_organization_id", "unit", ["tenant_id", "organization_id"])
    op.create_index("ix_unit_tenant_id_region_id", "unit", ["tenant_id", "region_id"])
    op.create_index("ix_unit_tenant_id_region_path", "unit", ["tenant_id", "region_path"])
    for code in ("credit_code", "registration_number", "organization_code"):
        op.create_index(
            f"uq_unit_tenant_id_{code}", "unit", ["tenant_id", code], unique=True,
            postgresql_where=sa.text(f"{code} IS NOT NULL"), sqlite_where=sa.text(f"{code} IS NOT NULL"),
        )

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # The name's bigrams with its first bigram once more as ^宜昌, and the ids of the unit's regions.
        op.execute(
            "CREATE INDEX ix_unit_name_search ON unit USING gin ("
            "array_prepend(textcat('^', split_part(name_bigrams, ' ', 1)), string_to_array(name_bigrams, ' ')), "
            "string_to_array(btrim(region_path, '/'), '/'))"
        )
    elif dialect == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS unit_name_fts")  # the triggers go with the unit table
    op.drop_table("unit")  # its indexes, the GIN index among them, go with it
