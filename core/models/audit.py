"""The audit trail: one append-only row per state change, hash-chained per tenant (``core.audit``).

Append-only is enforced twice. The ORM refuses to update or delete an ``AuditRecord`` (a mapper event for a
loaded row, a session event for a bulk statement), so application code has no way to do it by mistake. On
PostgreSQL a trigger refuses UPDATE and DELETE of ``audit_record`` from anyone, except the deletion of records
older than the cutoff that ``gonghui audit purge`` names in a transaction-local setting, and never of a record
younger than ``PURGE_FLOOR_DAYS``. TRUNCATE fires no row trigger: the test kit empties the table with it.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column
from sqlalchemy.sql.util import find_tables

from core.db import Base, utcnow
from core.models.region import PATH
from core.models.user import _OptionalTenant

GENESIS = "0" * 64
#: The transaction-local PostgreSQL setting through which a purge names its cutoff (``set_config(..., true)``).
PURGE_SETTING = "gonghui.audit_purge_before"
#: The trigger deletes nothing younger, whatever the application asks: the database's own guard for MLPS 2.0's
#: six months. The application's floor is higher (``core.audit.MINIMUM_RETENTION_DAYS``); the gap absorbs a
#: clock difference between the application and the database server.
PURGE_FLOOR_DAYS = 180


class AuditRecord(_OptionalTenant, Base):
    __tablename__ = "audit_record"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "seq"),
        # NULLs are distinct in the key above: the platform chain (tenant_id NULL) needs its own.
        sa.Index(
            "uq_audit_record_platform_seq",
            "seq",
            unique=True,
            postgresql_where=sa.text("tenant_id IS NULL"),
            sqlite_where=sa.text("tenant_id IS NULL"),
        ),
        sa.Index("ix_audit_record_object", "tenant_id", "object_type", "object_id"),
        sa.Index("ix_audit_record_actor", "tenant_id", "actor_id"),
        sa.Index("ix_audit_record_at", "tenant_id", "at"),
        # A federation admin's search: a range of paths per subtree they hold a role in.
        sa.Index("ix_audit_record_scope", "tenant_id", "scope_path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Position in the tenant's chain (platform records form their own chain, tenant_id NULL).
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.Integer)
    actor: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    action: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    object_type: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    object_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    request_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    address: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    #: The materialised path of the organization the change concerns, locating the record in the union tree;
    #: NULL when it concerns the tenant as a whole (and for records written before migration core_0007).
    scope_path: Mapped[str | None] = mapped_column(PATH)
    prev_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)


class AuditChainHead(Base):
    """The last record of each chain (tenant id, or 0 for the platform chain), and where the chain starts.

    Appending locks this one row, so concurrent transactions of a tenant queue up behind each other and each
    sees the head the previous one wrote (PostgreSQL re-reads a row it waited for; SQLite has one writer).
    ``anchor_seq``/``anchor_hash`` are the seq and hash of the last record a purge deleted (0 and the genesis
    hash until then): the first record left must follow them.
    """

    __tablename__ = "audit_chain_head"

    chain: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    anchor_seq: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    anchor_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, default=GENESIS, server_default=GENESIS)


class AuditRecordIsAppendOnly(RuntimeError):
    """Code tried to change or delete an audit record: a bug, never a user error."""


def _refuse(_mapper, _connection, target: AuditRecord) -> None:
    raise AuditRecordIsAppendOnly(f"audit record {target.id} cannot be changed or deleted")


event.listen(AuditRecord, "before_update", _refuse)
event.listen(AuditRecord, "before_delete", _refuse)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    if AuditRecord.__table__ in find_tables(state.statement, include_crud=True):
        raise AuditRecordIsAppendOnly("audit records cannot be changed or deleted")


# The same function and trigger are created by migration core_0004; this copy serves ``create_all`` (the test
# kit), so the tests on PostgreSQL run against the guard production has.
APPEND_ONLY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    purge_before text := nullif(current_setting('{PURGE_SETTING}', true), '');
BEGIN
    IF TG_OP = 'DELETE' AND purge_before IS NOT NULL
       AND OLD.at < purge_before::timestamp
       AND OLD.at < (now() AT TIME ZONE 'UTC') - interval '{PURGE_FLOOR_DAYS} days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = 'audit_record is append-only: ' || TG_OP || ' of record ' || OLD.id || ' refused',
        HINT = 'only gonghui audit purge deletes records, and only those older than the retention period';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record
FOR EACH ROW EXECUTE FUNCTION audit_record_append_only()
"""

for _statement in (APPEND_ONLY_FUNCTION, APPEND_ONLY_TRIGGER):
    event.listen(AuditRecord.__table__, "after_create", sa.DDL(_statement).execute_if(dialect="postgresql"))
