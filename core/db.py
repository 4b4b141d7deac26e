"""Engine, sessions and the declarative base.

One ``Database`` per application. A request or a job owns one session (its unit of work) and commits it once;
registry functions never commit. Tables that belong to a tenant inherit ``TenantOwned`` and are scoped by the
listener in ``core.tenancy``.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict: sa.JSON, list: sa.JSON}


def declare_unmanaged_table(prefix: str) -> None:
    """Tables named ``prefix...`` are made by raw DDL (a search index) and left out of drift checks."""
    Base.metadata.info.setdefault("unmanaged_tables", set()).add(prefix)


class TenantOwned:
    """Mixin for every row that belongs to one tenant.

    ``tenant_id`` is filled from the tenant in scope when the row is added, and every ORM query on the table is
    filtered to that tenant (``core.tenancy``). Put ``tenant_id`` first in composite indexes and unique keys.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("tenant.id", ondelete="RESTRICT"), nullable=False, index=True)


class Versioned:
    """Mixin for rows that are updated through the API: ``version`` feeds the ETag and guards lost updates.

    SQLAlchemy adds ``WHERE version = :old`` to every UPDATE, so two writers that read the same version cannot
    both win even if they pass the ``If-Match`` check at the same moment.
    """

    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_lock_for_update(connection, statement, *_args):
    """SQLite has no row locks and drops ``FOR UPDATE`` from the SQL. Take its one write lock instead, before the
    read, so what ``FOR UPDATE`` promises on PostgreSQL holds here too: a racing transaction waits until this one
    ends, then reads what it wrote. The driver opens a transaction only at the first write; once one is open,
    this connection already holds the lock."""
    if getattr(statement, "_for_update_arg", None) is None:
        return
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_or_skip(table, dialect: str):
    """``INSERT`` into ``table`` for ``dialect`` ("postgresql" or "sqlite"), the kind that takes
    ``.on_conflict_do_nothing()``: a row another transaction made first is left as it is, not an error."""
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


def make_engine(url: str, **kwargs) -> sa.Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 10})
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_execute", _sqlite_lock_for_update)
        if ":memory:" not in url and url != "sqlite://":
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "pool_size" in kwargs:
        kwargs.setdefault("max_overflow", kwargs["pool_size"])
    return sa.create_engine(url, **kwargs)


class Database:
    """The engine and session factory of one application."""

    def __init__(self, url: str, *, pool_size: int | None = None, **engine_kwargs):
        if pool_size is not None and ":memory:" not in url and url != "sqlite://":  # one connection holds those
            engine_kwargs.setdefault("pool_size", pool_size)
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit when the block ends normally, roll back on any exception."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
