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
- PostgreSQL: one GIN index over two arrays of each unit: its name's terms (the bigrams, and the first bigram once
  more, marked ``^``) and the ids of its region and the regions above it (from ``unit.region_path``). A query asks
  for every bigram (``@>``), ``^`` and the first one for "starts with", and the region's id for "in this region":
  the index intersects them, so a common word in a small street reads only that street's matches. ``strpos`` on
  the spaced bigrams keeps the names where the bigrams stand together. pg_trgm cannot serve a two-character query.
  The terms and limits are written into the SQL as literals, so the planner sees them whatever the driver
  prepares: a generic plan of a prepared statement guesses their frequency and can pick a scan that costs
  hundreds of milliseconds.

A query that many names match (有限, 公司, 宜昌) is not ranked over all of them: the exact name, up to ``LIMIT``
names that start with it and the first ``CANDIDATES`` others are ranked. Measured in docs/performance.md; the
design and its reasons are in docs/units.md.
"""
from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, joinedload

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


# The expressions use functions, not operators: PostgreSQL prints ``a || b || c`` back with brackets the
# declaration would not have, and ``gonghui db check`` would see two different indexes.


def _terms() -> sa.ColumnElement:
    """PostgreSQL: the name's bigrams, and its first bigram once more as ``^宜昌``."""
    bigrams_ = Unit.__table__.c.name_bigrams
    first = sa.func.split_part(bigrams_, _SPACE, sa.literal_column("1", sa.Integer))
    marked = sa.func.textcat(sa.literal_column("'^'", sa.Text), first)
    return sa.func.array_prepend(marked, sa.func.string_to_array(bigrams_, _SPACE), type_=sa.ARRAY(sa.Text))


def _regions() -> sa.ColumnElement:
    """PostgreSQL: the ids, as text, of the unit's region and every region above it (``/1/7/42/`` -> 1, 7, 42)."""
    slash = sa.literal_column("'/'", sa.Text)
    return sa.func.string_to_array(sa.func.btrim(Unit.__table__.c.region_path, slash), slash)


#: Declared on the model's table, so ``create_all`` builds it and ``gonghui db check`` compares it.
GIN_INDEX = sa.Index("ix_unit_name_search", _terms(), _regions(), postgresql_using="gin").ddl_if(dialect="postgresql")
Unit.__table__.append_constraint(GIN_INDEX)

#: The FTS5 table over ``name_bigrams`` and the triggers that keep it in step with ``unit`` (external content:
#: the text stays in ``unit``; ``INSERT INTO unit_name_fts(unit_name_fts) VALUES ('rebuild')`` rebuilds it).
SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(name_bigrams, content='unit', content_rowid='id', tokenize='ascii')",
    f"CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON unit BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, name_bigrams) VALUES (new.id, new.name_bigrams); END",
    f"CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON unit BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name_bigrams) VALUES ('delete', old.id, old.name_bigrams); END",
    f"CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF name_bigrams ON unit BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name_bigrams) VALUES ('delete', old.id, old.name_bigrams); "
    f"INSERT INTO {FTS_TABLE}(rowid, name_bigrams) VALUES (new.id, new.name_bigrams); END",
)
for _statement in SQLITE_DDL:
    event.listen(Unit.__table__, "after_create", sa.DDL(_statement).execute_if(dialect="sqlite"))
event.listen(Unit.__table__, "after_drop", sa.DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"))


# --- searching --------------------------------------------------------------------------------------------------


#: What a result shows beside the unit (where it is, which union covers it): loaded in the same query.
_SHOWN = (joinedload(Unit.region), joinedload(Unit.covering_organization))


@dataclass(frozen=True)
class Hit:
    unit: Unit
    #: exact, prefix or contains.
    match: str


def search(session: Session, text: str, *, region: Region | None = None, limit: int = LIMIT) -> list[Hit]:
    """The units of the tenant in scope whose name contains ``text`` (at least two letters or digits), in
    ``region``'s subtree when given: exact names first, then names that start with it, then the rest (earlier
    match, then shorter name, first); at most ``limit``."""
    key = _query_key(text)
    phrase = " ".join(bigrams(key))
    dialect = session.get_bind().dialect.name
    exact = sa.select(Unit.id).where(Unit.name == " ".join(text.split())).limit(_number(limit))
    if dialect == "postgresql":
        starts, contains = _postgresql(session, phrase, region, starts=True), _postgresql(session, phrase, region, starts=False)
    else:
        starts, contains = _matching_sqlite(f'^"{phrase}"', region), _matching_sqlite(f'"{phrase}"', region)
    if region is not None:
        exact = exact.where(_in_subtree(region))
    sides = (exact, starts.limit(_number(limit)), contains.limit(_number(CANDIDATES)))
    # Each side is a subquery of its own: SQLite allows no LIMIT on a bare member of a UNION.
    candidates = sa.union(*(sa.select(side.subquery().c.id) for side in sides)).subquery()
    return _ranked(session, sa.select(candidates.c.id), phrase, dialect, limit)


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


def _postgresql(session: Session, phrase: str, region: Region | None, *, starts: bool) -> sa.Select:
    """Units whose name contains ``phrase`` (``starts``: begins with it), in ``region``'s subtree when given.

    The index is asked only for the query's uncommon keys (``_index_keys``). Every row is also checked with
    ``LIKE`` on the spaced bigrams: a bigram is two letters or digits and a space follows it, so a match can only
    start at a bigram, and ``'%宜昌 昌物%'`` is "宜昌物 stands in the name" (``'宜昌 昌物%'``: at its start). The
    check is cheap, PostgreSQL runs it before the array test, and it estimates it from the column's statistics;
    so when the planner prefers to read the table it reads it fast."""
    grams = phrase.split(" ")
    names = (["^" + grams[0]] if starts else []) + grams
    chosen, region_chosen = _index_keys(session, names, str(region.id) if region is not None else None)
    statement = sa.select(Unit.id).where(Unit.name_bigrams.like(_literal(f"{phrase}%" if starts else f"%{phrase}%")))
    if chosen:
        statement = statement.where(_terms().op("@>")(_array(sorted(chosen))))
    if region_chosen:
        statement = statement.where(_regions().op("@>")(_array([str(region.id)])))
    elif region is not None:
        statement = statement.where(_in_subtree(region))
    return statement


def _index_keys(session: Session, names: list[str], region: str | None) -> tuple[set[str], bool]:
    """Which of the query's keys (its terms, and its region's id) to ask the index for, from how many units hold
    each (``_frequencies``).

    - When the query is expected to match at least ``DENSE`` of the units, none: reading the table until
      ``CANDIDATES`` rows match reads a few thousand rows, sooner than GIN reads its posting lists.
    - Otherwise the keys at most ``COMMON`` of the units hold, and the rarest one whatever it is. A common key
      (有限, 公司, ^宜昌, the city) is a long posting list that GIN must read through to intersect it, which costs
      more than checking the rows the rarer keys leave.

    PostgreSQL would choose between the two itself if it could tell: it multiplies the keys' frequencies as if
    they were independent (房地, 地产 and 产开 are not) and does not see what a long posting list costs."""
    frequency = _frequencies(session)
    keys = [("name", name) for name in names] + ([("region", region)] if region is not None else [])
    share = {key: frequency.get(key, 0.0) for key in keys}
    expected = min(share[("name", name)] for name in names) * (share[("region", region)] if region is not None else 1.0)
    if expected >= DENSE:
        return set(), False
    rarest = min(keys, key=share.get)
    kept = {key for key in keys if key == rarest or share[key] <= COMMON}
    return {name for kind, name in kept if kind == "name"}, ("region", region) in kept


#: A query expected to match this share of the units reads the table instead of the index.
DENSE = 0.02
#: A key more units than this hold is left to the row check, unless it is the rarest of its query.
COMMON = 0.10
#: How long the keys' frequencies are trusted before they are read again: ANALYZE changes them slowly.
STATISTICS_TTL = 600.0
_statistics: dict[str, tuple[float, dict]] = {}


def _frequencies(session: Session) -> dict[tuple[str, str], float]:
    """The share of units that hold each common key, from the statistics ANALYZE keeps for the index
    (``pg_stats``: its most common elements); a key not among them is rare. Read once per process and
    ``STATISTICS_TTL``."""
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    cached = _statistics.get(database)
    if cached is not None and time.monotonic() - cached[0] < STATISTICS_TTL:
        return cached[1]
    rows = session.execute(sa.text(
        "SELECT attname, most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
        "WHERE tablename = :index AND most_common_elems IS NOT NULL"
    ), {"index": GIN_INDEX.name})
    frequency = {}
    for column, elements, frequencies in rows:
        kind = "region" if column == "string_to_array" else "name"
        frequency.update({(kind, element): share for element, share in zip(elements, frequencies)})
    _statistics[database] = (time.monotonic(), frequency)
    return frequency


def _matching_sqlite(match: str, region: Region | None) -> sa.Select:
    fts = sa.table(FTS_TABLE, sa.column("rowid"), sa.column("name_bigrams"))
    # The bigrams are letters and digits: nothing in them needs quoting in an FTS5 query.
    statement = sa.select(Unit.id).join(fts, fts.c.rowid == Unit.id).where(fts.c.name_bigrams.op("MATCH")(match))
    return statement.where(_in_subtree(region)) if region is not None else statement


def _ranked(session: Session, ids: sa.Select, phrase: str, dialect: str, limit: int) -> list[Hit]:
    """Rank the candidates and keep the best ``limit``; the position test also drops an exact-name candidate whose
    key does not hold the query after all."""
    match = sa.case(
        (Unit.name_bigrams == _literal(phrase), 0),
        (sa.func.substr(Unit.name_bigrams, 1, len(phrase)) == _literal(phrase), 1),
        else_=2,
    )
    position = _position(_spaced(Unit.name_bigrams), _literal(f" {phrase} "), dialect)
    statement = (
        sa.select(Unit, match)
        .where(Unit.id.in_(ids), position > 0)
        .order_by(match, position, sa.func.length(Unit.name_bigrams), Unit.name, Unit.id)
        .limit(_number(limit))
        .options(*_SHOWN)
    )
    return [Hit(unit, MATCHES[rank]) for unit, rank in session.execute(statement)]


def _in_subtree(region: Region) -> sa.ColumnElement:
    from core.auth import subtree_bounds  # not at import: the models import this module

    low, high = subtree_bounds(region.path)
    return sa.and_(Unit.region_path >= low, Unit.region_path < high)


def _spaced(column) -> sa.ColumnElement:
    """`` ' ' || column || ' ' ``: every bigram between two spaces, the first and the last too."""
    return _SPACE + column + _SPACE


def _array(values: list[str]) -> sa.BindParameter:
    return sa.bindparam(None, values, type_=sa.ARRAY(sa.Text), literal_execute=True)


def _literal(value: str) -> sa.BindParameter:
    return sa.bindparam(None, value, type_=sa.Text, literal_execute=True)


def _number(value: int) -> sa.ColumnElement:
    """A LIMIT written into the SQL: a generic plan would guess it (as a tenth of the rows)."""
    return sa.literal_column(str(int(value)), sa.Integer)


def _position(haystack, needle, dialect: str) -> sa.ColumnElement:
    return sa.func.strpos(haystack, needle) if dialect == "postgresql" else sa.func.instr(haystack, needle)
