"""Unit name search (单位名称查询) as a worker types it: any two or more characters from anywhere in the name,
optionally within a region's subtree, ranked exact name, then names that start with it, then the rest; top 20.

One idea serves both engines. A name's search key (``search_key``: NFKC, lower case, letters and digits only, so
宜昌（某某）物流 and 宜昌某某物流 are the same key and full-width Ａ１ is a1) is cut into overlapping two-character
pieces, stored in order and space-separated in ``unit.name_bigrams`` ("宜昌 昌某 某某 某物 物流"). A query's key is
cut the same way; a name contains the query exactly when it holds the query's bigrams next to each other, in
order, and starts with it when they come first.

- SQLite: an FTS5 table over ``name_bigrams`` (ascii tokenizer: a bigram is a token) answers the phrase query
  ``"宜昌 昌物"``, and ``^"宜昌 昌物"`` for names that start with it. Not FTS5's trigram tokenizer: it silently finds
  nothing for a two-character query.
- PostgreSQL: one GIN index over an array of keys per unit (``unit_search_keys``): its name's terms (the
  bigrams, and the first bigram once more, marked ``^``), the same terms under its county (``12:宜昌``), and its
  regions (``@12``, ``@45``). A query asks for some of its terms (``@>``), ``^`` and the first one for "starts
  with", under the county's prefix when a region is chosen and with the street's key for a street: a word in one
  county is one short posting list. ``LIKE`` on the spaced bigrams keeps the names where the bigrams stand
  together. pg_trgm cannot serve a two-character query. Which keys, or none (read the table until enough rows
  match), is decided from the index's statistics (``_index_keys``). The SQL is written with the terms and limits
  as literals, so the planner sees them whatever the driver prepares (a generic plan guesses their frequency and
  can pick a scan that costs hundreds of milliseconds), and by hand: building it with SQLAlchemy took more CPU
  than the database spent answering it.

A query that many names match (有限, 公司, 宜昌) is not ranked over all of them: the exact name, up to ``LIMIT``
names that start with it and the first ``CANDIDATES`` others are ranked; then the page's units are loaded. Measured
in docs/performance.md; the design and its reasons are in docs/units.md.
"""
from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, joinedload

from core import tenancy
from core.db import declare_unmanaged_table
from core.errors import InvalidInput
from core.models.region import Region
from core.models.unit import Unit

#: Most names a worker sees at once.
LIMIT = 20
#: Names that contain the query ranked per query, beside the exact and prefix matches. A query with more matches
#: shows the best of the first ones the index gives: the worker should type one character more.
CANDIDATES = 200
#: Longest query key: a name is at most 200 characters, a worker types a few.
MAX_QUERY = 50
MATCHES = ("exact", "prefix", "contains")

#: The SQLite search's FTS5 table. No model describes it or its shadow tables (``unit_name_fts_data``, ...), so
#: the schema comparison of ``gonghui db check`` leaves every table named so alone.
FTS_TABLE = "unit_name_fts"
declare_unmanaged_table(FTS_TABLE)


def search_key(text: str) -> str:
    """What the search compares: NFKC (full-width letters and digits become half-width), lower case, and only
    letters and digits (no spaces, brackets or punctuation)."""
    normal = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in normal if unicodedata.category(ch)[0] in "LN")


def bigrams(key: str) -> list[str]:
    """The overlapping two-character pieces of ``key``, in order: 宜昌物流 -> 宜昌, 昌物, 物流."""
    return [key[i : i + 2] for i in range(len(key) - 1)]


def name_bigrams(name: str) -> str:
    """The value of ``unit.name_bigrams`` for ``name``. Bulk writers that bypass the ORM use this too."""
    return " ".join(bigrams(search_key(name or "")))


# --- the index structures and their upkeep ----------------------------------------------------------------------


@event.listens_for(Unit.name, "set")
def _name_set(unit: Unit, name: str, _old, _initiator) -> None:
    unit.name_bigrams = name_bigrams(name)


_SPACE = sa.literal_column("' '", sa.Text)


#: PostgreSQL: the keys the GIN index holds for a unit, from its ``name_bigrams`` and ``region_path``:
#:
#: - its name's terms: the bigrams, and the first bigram once more marked ``^`` (``^宜昌``, "starts with");
#: - the same terms prefixed with the id of its county, the region below the tenant's root (``12:宜昌``,
#:   ``12:^宜昌``): a county holds ~8% of a city's units, so a word in one county is one short posting list, not
#:   the intersection of the word's long one with the county's;
#: - the id of each region of its path, marked ``@`` (``@1``, ``@12``, ``@45``): a street narrows a county key.
#:
#: Bigrams are letters and digits, so ``:``, ``^`` and ``@`` keep the kinds of keys apart. A function, not an
#: inline expression: the county terms are a loop. The migration that created it (core_0010) holds a copy.
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

#: Declared on the model's table, so ``create_all`` builds it (after the function) and ``gonghui db check``
#: compares it.
GIN_INDEX = sa.Index(
    "ix_unit_name_search", sa.func.unit_search_keys(Unit.__table__.c.name_bigrams, Unit.__table__.c.region_path),
    postgresql_using="gin",
).ddl_if(dialect="postgresql")
Unit.__table__.append_constraint(GIN_INDEX)
event.listen(Unit.__table__, "before_create", sa.DDL(KEYS_FUNCTION).execute_if(dialect="postgresql"))
event.listen(Unit.__table__, "after_drop",
             sa.DDL("DROP FUNCTION IF EXISTS unit_search_keys(text, text)").execute_if(dialect="postgresql"))

#: The FTS5 table over ``name_bigrams`` and the triggers that keep it in step with ``unit`` (external content:
#: the text stays in ``unit``; ``INSERT INTO unit_name_fts(unit_name_fts) VALUES ('rebuild')`` rebuilds it).
SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(name_bigrams, content='unit', content_rowid='id', tokenize='ascii')",
    (f"CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON unit BEGIN "
     f"INSERT INTO {FTS_TABLE}(rowid, name_bigrams) VALUES (new.id, new.name_bigrams); END"),
    (f"CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON unit BEGIN "
     f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name_bigrams) VALUES ('delete', old.id, old.name_bigrams); END"),
    (f"CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF name_bigrams ON unit BEGIN "
     f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name_bigrams) VALUES ('delete', old.id, old.name_bigrams); "
     f"INSERT INTO {FTS_TABLE}(rowid, name_bigrams) VALUES (new.id, new.name_bigrams); END"),
)
for _statement in SQLITE_DDL:
    event.listen(Unit.__table__, "after_create", sa.DDL(_statement).execute_if(dialect="sqlite"))
event.listen(Unit.__table__, "after_drop", sa.DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"))


# --- searching --------------------------------------------------------------------------------------------------


#: What a result shows beside the unit (where it is, which union covers it): loaded in the same query.
_SHOWN = (joinedload(Unit.region), joinedload(Unit.covering_organization))

#: The ranked units, with what a result shows. Built once: a statement built per search costs SQLAlchemy and the
#: tenancy listener more CPU than the database spends answering it (a new cache key, the tenant's criteria).
_PAGE = sa.select(Unit).where(Unit.id.in_(sa.bindparam("ids", expanding=True))).options(*_SHOWN)


@dataclass(frozen=True)
class Hit:
    unit: Unit
    #: exact, prefix or contains.
    match: str


def search(session: Session, text: str, *, region: Region | None = None, limit: int = LIMIT) -> list[Hit]:
    """The units of the tenant in scope whose name contains ``text`` (at least two letters or digits), in
    ``region``'s subtree when given: exact names first, then names that start with it, then the rest (earlier
    match, then shorter name, first); at most ``limit``.

    Two queries: the ranked ids of the page, from the candidates' rows alone, then those units with their region
    and union, by primary key."""
    key = _query_key(text)
    phrase = " ".join(bigrams(key))
    exact = " ".join(text.split())
    if session.get_bind().dialect.name == "postgresql":
        ranked = _ranked_postgresql(session, exact, phrase, region, limit)
    else:
        ranked = _ranked_sqlite(session, exact, phrase, region, limit)
    if not ranked:
        return []
    units = {unit.id: unit for unit in session.scalars(_PAGE, {"ids": [unit_id for unit_id, _rank in ranked]})}
    return [Hit(units[unit_id], MATCHES[rank]) for unit_id, rank in ranked if unit_id in units]


def like_search(session: Session, text: str, *, region: Region | None = None, limit: int = LIMIT) -> list[Hit]:
    """The same question answered by a plain ``LIKE '%text%'`` scan of every name, ranked the same way, with no
    normalisation: the baseline the bench measures the index against."""
    needle = text.strip()
    if len(needle) < 2:
        raise InvalidInput("type at least two characters", errors={"q": ["at least two characters"]})
    dialect = session.get_bind().dialect.name
    match = sa.case((Unit.name == needle, 0), (Unit.name.startswith(needle, autoescape=True), 1), else_=2)
    statement = (
        sa.select(Unit, match)
        .where(Unit.name.contains(needle, autoescape=True))
        .order_by(match, _position(Unit.name, sa.literal(needle), dialect), sa.func.length(Unit.name), Unit.name, Unit.id)
        .limit(limit)
        .options(*_SHOWN)
    )
    if region is not None:
        statement = statement.where(_in_subtree(region))
    return [Hit(unit, MATCHES[rank]) for unit, rank in session.execute(statement)]


def _query_key(text: str) -> str:
    key = search_key(text or "")
    if len(key) < 2:
        raise InvalidInput("type at least two characters of the unit's name", errors={"q": [
            "at least two characters (letters or digits) of the name"]})
    if len(key) > MAX_QUERY:
        raise InvalidInput("the query is too long", errors={"q": [f"at most {MAX_QUERY} characters"]})
    return key


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


def _ranked_postgresql(session: Session, exact: str, phrase: str, region: Region | None, limit: int) -> list[tuple[int, int]]:
    """``(unit id, rank)`` of the page, best first: one statement over at most ``2 * limit + CANDIDATES`` rows.

    The candidates carry the columns the ranking needs, so it reads no row twice, and the page's units are
    loaded afterwards (20 rows, not 240 joined to their regions and unions). Plain SQL with the words, the keys
    and the limits written in as literals (all of them letters, digits and ``:^@``, or numbers; the name as
    typed is the one parameter): the planner sees what was typed whatever the driver prepares, and no
    SQLAlchemy statement is built per keystroke. The tenant is written in here, as the tenancy listener does
    for ORM statements; the page's units are loaded through the ORM and scoped by it as well."""
    tenant = tenancy.require_tenant()
    scope = _Scope.of(region)
    grams = phrase.split(" ")
    where = f"tenant_id = {int(tenant.id)}"
    sides = (
        f"SELECT id, name, name_bigrams FROM unit WHERE {where} AND name = %(exact)s{scope.subtree()} LIMIT {int(limit)}",
        _side(session, where, scope, f"{phrase}%%", [f"^{grams[0]}", *grams], limit),
        _side(session, where, scope, f"%%{phrase}%%", grams, CANDIDATES),
    )
    spaced = _quote(f" {phrase} ")
    sql = (
        f"SELECT id, CASE WHEN name_bigrams = {_quote(phrase)} THEN 0"
        f" WHEN left(name_bigrams, {len(phrase)}) = {_quote(phrase)} THEN 1 ELSE 2 END AS rank"
        f" FROM ({' UNION '.join(f'({side})' for side in sides)}) AS candidate"
        f" WHERE strpos(' ' || name_bigrams || ' ', {spaced}) > 0"
        f" ORDER BY rank, strpos(' ' || name_bigrams || ' ', {spaced}), length(name_bigrams), name, id"
        f" LIMIT {int(limit)}"
    )
    connection = session.connection()
    # A bitmap scan the planner expects to read long makes it start parallel workers: on a small server that is
    # milliseconds of process start for a query that stops after 200 rows. For the rest of this transaction too.
    connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    return [tuple(row) for row in connection.exec_driver_sql(sql, {"exact": exact})]


@dataclass(frozen=True)
class _Scope:
    """How a region narrows the search: the prefix of its county's terms (``12:``), its own key below the county
    (``@45``), the key that counts its units (``@12``, ``@45``), and its path."""

    prefix: str = ""
    region_key: str | None = None
    rows_key: str | None = None
    path: str = ""

    @classmethod
    def of(cls, region: Region | None) -> _Scope:
        if region is None:
            return cls()
        path = [int(part) for part in region.path.split("/") if part]
        if len(path) < 2:  # the tenant's root region: every unit's terms, checked on the rows
            key = f"@{path[0]}" if path else None
            return cls(region_key=key, rows_key=key, path=region.path)
        return cls(prefix=f"{path[1]}:", region_key=f"@{region.id}" if len(path) > 2 else None,
                   rows_key=f"@{region.id}", path=region.path)

    def subtree(self) -> str:
        """The region's range, for the exact name (found by the ``(tenant_id, name)`` index)."""
        if not self.path:
            return ""
        return f" AND region_path >= {_quote(self.path)} AND region_path < {_quote(self.path + '~')}"

    def check(self) -> str:
        """The region tested on each row read. Not the range, nor ``starts_with`` (which PostgreSQL 15 turns into
        the range): the planner would read the region's range of the B-tree, whole into a bitmap or computing
        every row's keys, several times slower than the index or the table."""
        return f" AND left(region_path, {len(self.path)}) = {_quote(self.path)}" if self.path else ""


def _side(session: Session, where: str, scope: _Scope, pattern: str, terms: list[str], limit: int) -> str:
    """Units whose spaced bigrams match ``pattern`` (``'宜昌 昌物%'``: start with 宜昌物; ``'%宜昌 昌物%'``: hold it),
    found through the index keys ``_index_keys`` picks, or by reading the table (or the region's range).

    A bigram is two letters or digits and a space follows it, so a match can only start at a bigram: ``LIKE``
    on the spaced bigrams is exact. PostgreSQL checks it on each row the index gives, before the array test."""
    names = [scope.prefix + term for term in terms]
    chosen = _index_keys(session, names, scope, limit)
    sql = f"SELECT id, name, name_bigrams FROM unit WHERE {where} AND name_bigrams LIKE {_quote(pattern)}"
    if not chosen:
        sql += scope.check()
    else:
        sql += f" AND unit_search_keys(name_bigrams, region_path) @> ARRAY[{', '.join(map(_quote, chosen))}]"
        # A county's prefix is its subtree; a street or the root needs its key or the check.
        if scope.region_key is not None and scope.region_key not in chosen:
            sql += scope.check()
    return f"{sql} LIMIT {int(limit)}"


def _index_keys(session: Session, names: list[str], scope: _Scope, limit: int) -> list[str]:
    """Which index keys to ask for (none: read the table until ``limit`` rows match), from how many units hold
    each key (``_frequencies``).

    Whichever reads fewer entries: the posting list of the rarest key, or the rows a scan of the table reads
    before ``limit`` of them match, in the region if one was chosen (``SCAN_COST`` times dearer each). Not the
    region's range of the B-tree: PostgreSQL reads it whole into a bitmap, 80,000 entries for a county. A common word (物流, 有限公司, 宜昌 in a county) matches every
    tenth row or more: the scan stops after a few thousand rows, while its posting list holds 100,000 entries.
    Beside the rarest key, the index is asked for the keys not much more common (``WORTH``, ``RARE``): a long
    posting list costs more to intersect than the row checks it saves.

    PostgreSQL would choose itself if it could tell: it multiplies the keys' frequencies as if they were
    independent (房地, 地产 and 产开 are not) and does not see what a long posting list costs."""
    frequency, units = _frequencies(session)
    keys = names + ([scope.region_key] if scope.region_key else [])
    share = {key: frequency.get(key, 0.0) for key in keys}
    rarest = min(keys, key=share.get)
    if share[rarest] > 0:
        # The names are in every row of the range in the proportion they are in the county (or the city).
        within = frequency.get("@" + scope.prefix[:-1], 0.0) if scope.prefix else 1.0
        density = min(share[name] for name in names) / within if within else 0.0
        density *= frequency.get(scope.rows_key, 0.0) if scope.rows_key else 1.0
        if density > 0 and min(limit / density, units) * SCAN_COST < share[rarest] * units:
            return []
    bound = max(share[rarest] * WORTH, RARE)
    return sorted({key for key in keys if key == rarest or share[key] <= bound})


#: What reading a row of the table in order costs against one entry of a posting list: about the same (measured
#: on the bench: 0.3–0.5 µs each; an entry's cost is mostly marking its row in the bitmap).
SCAN_COST = 1.0
#: Beside the rarest key, the keys at most this many times as common as it, or at most ``RARE`` whatever it is.
WORTH = 4
RARE = 0.002
#: How long the keys' frequencies are trusted before they are read again: ANALYZE changes them slowly.
STATISTICS_TTL = 600.0
_statistics: dict[str, tuple[float, tuple[dict, float]]] = {}


def _frequencies(session: Session) -> tuple[dict[str, float], float]:
    """The share of units that hold each common key, from the statistics ANALYZE keeps for the index
    (``pg_stats``: its most common elements; a key not among them is rare), and how many units there are
    (``pg_class``). Read once per process and ``STATISTICS_TTL``."""
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    cached = _statistics.get(database)
    if cached is not None and time.monotonic() - cached[0] < STATISTICS_TTL:
        return cached[1]
    connection = session.connection()
    rows = connection.exec_driver_sql(
        "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
        "WHERE tablename = %(index)s AND most_common_elems IS NOT NULL", {"index": GIN_INDEX.name})
    frequency = {key: share for keys, shares in rows for key, share in zip(keys, shares)}
    units = connection.exec_driver_sql("SELECT greatest(reltuples, 0) FROM pg_class WHERE relname = 'unit'").scalar()
    _statistics[database] = (time.monotonic(), (frequency, float(units or 0)))
    return _statistics[database][1]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --- SQLite -------------------------------------------------------------------------------------------------------


def _ranked_sqlite(session: Session, exact: str, phrase: str, region: Region | None, limit: int) -> list[tuple[int, int]]:
    """``(unit id, rank)`` of the page, best first, from the FTS5 phrase queries ``"宜昌 昌物"`` (holds it) and
    ``^"宜昌 昌物"`` (starts with it). The position test also drops an exact-name candidate whose key does not
    hold the query after all."""
    exact_ids = sa.select(Unit.id).where(Unit.name == exact)
    starts, contains = _matching_sqlite(f'^"{phrase}"', region), _matching_sqlite(f'"{phrase}"', region)
    if region is not None:
        exact_ids = exact_ids.where(_in_subtree(region))
    sides = (exact_ids.limit(limit), starts.limit(limit), contains.limit(CANDIDATES))
    # Each side is a subquery of its own: SQLite allows no LIMIT on a bare member of a UNION.
    candidates = sa.union(*(sa.select(side.subquery().c.id) for side in sides)).subquery()
    match = sa.case(
        (Unit.name_bigrams == phrase, 0),
        (sa.func.substr(Unit.name_bigrams, 1, len(phrase)) == phrase, 1),
        else_=2,
    )
    position = sa.func.instr(_spaced(Unit.name_bigrams), f" {phrase} ")
    statement = (
        sa.select(Unit.id, match)
        .where(Unit.id.in_(sa.select(candidates.c.id)), position > 0)
        .order_by(match, position, sa.func.length(Unit.name_bigrams), Unit.name, Unit.id)
        .limit(limit)
    )
    return [tuple(row) for row in session.execute(statement)]


def _matching_sqlite(match: str, region: Region | None) -> sa.Select:
    fts = sa.table(FTS_TABLE, sa.column("rowid"), sa.column("name_bigrams"))
    # The bigrams are letters and digits: nothing in them needs quoting in an FTS5 query.
    statement = sa.select(Unit.id).join(fts, fts.c.rowid == Unit.id).where(fts.c.name_bigrams.op("MATCH")(match))
    return statement.where(_in_subtree(region)) if region is not None else statement


def _in_subtree(region: Region) -> sa.ColumnElement:
    from core.auth import subtree_bounds  # not at import: the models import this module

    low, high = subtree_bounds(region.path)
    return sa.and_(Unit.region_path >= low, Unit.region_path < high)


def _spaced(column) -> sa.ColumnElement:
    """`` ' ' || column || ' ' ``: every bigram between two spaces, the first and the last too."""
    return _SPACE + column + _SPACE


def _position(haystack, needle, dialect: str) -> sa.ColumnElement:
    return sa.func.strpos(haystack, needle) if dialect == "postgresql" else sa.func.instr(haystack, needle)
