"""The unit name search's GIN index on PostgreSQL holds each name's terms a second time under its county
(``12:宜昌``), and its regions as ``@12`` keys in the same array: a word in one county or street is then one short
posting list, not a long one intersected with the county's 80,000 units (issue 5, docs/performance.md).

Revision ID: core_0010
Revises: core_0009

The keys come from ``unit_search_keys(name_bigrams, region_path)``, a function this revision creates (a copy of
``core.registry.unit_search.KEYS_FUNCTION`` on this date). ``ix_unit_name_search`` keeps its name. SQLite is
unchanged: its FTS5 table (core_0005) does not know regions. Building the index reads every unit and blocks
writes to ``unit`` meanwhile (about 90 s for a million units on the bench machine).
"""
from alembic import op

revision = "core_0010"
down_revision = "core_0009"
branch_labels = None
depends_on = None

KEYS_FUNCTION = """
CREATE OR REPLACE FUNCTION unit_search_keys(name_bigrams text, region_path text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
DECLARE
  terms text[] := array_prepend('^' || split_part(name_bigrams, ' ', 1), string_to_array(name_bigrams, ' '));
  regions text[] := string_to_array(btrim(region_path, '/'), '/');
BEGIN
  IF cardinality(regions) = 0 THEN
    RETURN terms;
  ELSIF cardinality(regions) = 1 THEN
    RETURN terms || ARRAY['@' || regions[1]];
  END IF;
  RETURN terms
    || string_to_array('@' || array_to_string(regions, ' @'), ' ')
    || string_to_array(regions[2] || ':' || array_to_string(terms, ' ' || regions[2] || ':'), ' ');
END $$"""

# core_0005's index: the terms, and the region ids in an array of their own.
PREVIOUS_INDEX = (
    "CREATE INDEX ix_unit_name_search ON unit USING gin ("
    "array_prepend(textcat('^', split_part(name_bigrams, ' ', 1)), string_to_array(name_bigrams, ' ')), "
    "string_to_array(btrim(region_path, '/'), '/'))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(KEYS_FUNCTION)
    op.execute("DROP INDEX ix_unit_name_search")
    op.execute("CREATE INDEX ix_unit_name_search ON unit USING gin (unit_search_keys(name_bigrams, region_path))")
    # The search picks its keys from the new index's statistics; until ANALYZE it asks the index for every key.
    op.execute("ANALYZE unit")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_unit_name_search")
    op.execute(PREVIOUS_INDEX)
    op.execute("DROP FUNCTION unit_search_keys(text, text)")
    op.execute("ANALYZE unit")
