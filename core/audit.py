"""The audit trail (痕迹管理): who did what, when, to which object, with the state before and after.

Records are append-only and hash-chained per tenant: each record's hash covers its content and the previous
record's hash, so a changed, inserted or deleted record breaks the chain at that point, and ``gonghui audit
verify`` names it. Personal data must be masked by the caller before it reaches ``before``/``after``; a full ID
number there is refused. Reads of a full ID number are records too (``record_read``), so a person can be shown
who read theirs (``reads_of``). Records are kept ``audit_retention_days`` (MLPS 2.0: at least six months);
``gonghui audit purge`` deletes older ones and leaves an anchor, so what is left still verifies. See
docs/audit.md.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from itertools import groupby
from typing import Iterable

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session
from stdnum.cn import ric

from core import request_context
from core.db import Database, insert_or_skip, utcnow
from core.models.audit import GENESIS, PURGE_SETTING, AuditChainHead, AuditRecord
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.tenant import Tenant
from core.models.user import User
from core.tenancy import current_tenant, platform_scope, tenant_scope

__all__ = [
    "GENESIS", "Break", "ChainReport", "PurgeResult", "RetentionTooShort", "UnmaskedPersonalData",
    "commands", "compute_hash", "link", "purge", "purge_chain", "reads_of", "record", "record_read", "search", "verify",
    "verify_chain",
]

#: MLPS 2.0 asks for six months; a retention setting below this is refused rather than obeyed.
MINIMUM_RETENTION_DAYS = 183
#: Rows fetched at a time while walking a chain: memory stays flat however long the chain.
STREAM_BATCH = 2000
PURGE_ACTION = "audit.purge"

_records = AuditRecord.__table__
_heads = AuditChainHead.__table__


class UnmaskedPersonalData(ValueError):
    """A full ID number was about to be written into the audit trail; mask it (``core.masking``) first."""


class RetentionTooShort(ValueError):
    """The retention setting is below what MLPS 2.0 asks; nothing is purged."""


# --- writing ----------------------------------------------------------------------------------------------------


def _canonical(record: AuditRecord) -> bytes:
    body = {
        "tenant_id": record.tenant_id,
        "seq": record.seq,
        "at": record.at.isoformat(),
        "actor_id": record.actor_id,
        "actor": record.actor,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "before": record.before,
        "after": record.after,
        "request_id": record.request_id,
        "address": record.address,
        "prev_hash": record.prev_hash,
    }
    # Left out when NULL, so records written before the column existed (migration core_0007) hash as they did;
    # setting it on such a record, or changing it on any, changes the hash all the same.
    scope_path = getattr(record, "scope_path", None)
    if scope_path is not None:
        body["scope_path"] = scope_path
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def compute_hash(record) -> str:
    """The hash of a record's content and its ``prev_hash`` (an ``AuditRecord`` or a row of ``audit_record``)."""
    return hashlib.sha256(_canonical(record)).hexdigest()


def _actor_fields(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return getattr(actor, "id", None), getattr(actor, "username", str(actor))


def _object_fields(obj) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, tuple):
        return str(obj[0]), str(obj[1])
    table = getattr(obj, "__tablename__", type(obj).__name__)
    return table, str(getattr(obj, "id", "") or "")


_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")


def _refuse_full_id_numbers(value, where: str) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _refuse_full_id_numbers(inner, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, inner in enumerate(value):
            _refuse_full_id_numbers(inner, f"{where}[{index}]")
    elif isinstance(value, str) and any(ric.is_valid(m) for m in _ID_NUMBER.findall(value)):
        raise UnmaskedPersonalData(f"{where} holds a full ID number: mask it with core.masking.mask_id_number")


def _common_root(paths: list[str]) -> str | None:
    """The path of the nearest organization whose subtree holds every one of ``paths``."""
    if not paths:
        return None
    prefix = os.path.commonprefix(paths)
    return prefix[: prefix.rfind("/") + 1] if prefix.count("/") > 1 else None


def _paths_of(session: Session, organization_ids) -> list[str]:
    if not organization_ids:
        return []
    return list(session.scalars(select(Organization.path).where(Organization.id.in_(set(organization_ids)))))


def _scope_path(session: Session, obj) -> str | None:
    """Where in the union tree a change happened, from its object: an organization's own path; the path of the
    organization a grant, membership, unit or plugin row names (``organization_id``); a person's newest
    membership's; for a user, the nearest organization above every one of their grants. None (the whole tenant)
    for anything else, and for a user with a grant over the whole tenant."""
    if obj is None:
        return None
    if isinstance(obj, tuple):
        organization = obj[0] == "organization" and str(obj[1]).isdigit()
        return _common_root(_paths_of(session, [int(obj[1])])) if organization else None
    if isinstance(obj, Organization):
        return obj.path or None
    if isinstance(obj, User):
        ids = [grant.organization_id for grant in obj.grants]
        return None if None in ids else _common_root(_paths_of(session, ids))
    if isinstance(obj, Person):
        newest = select(Membership.organization_id).where(Membership.person_id == obj.id)
        ids = session.scalars(newest.order_by(Membership.id.desc()).limit(1)).all()
        return _common_root(_paths_of(session, ids))
    organization_id = getattr(obj, "organization_id", None)
    return _common_root(_paths_of(session, [organization_id])) if isinstance(organization_id, int) else None


def record(
    session: Session, action: str, *, obj=None, before=None, after=None, actor=None, scope: str | None = None
) -> AuditRecord:
    """Append one record to the current tenant's chain (or the platform chain outside a tenant).

    ``obj`` is an ORM object or a ``(type, id)`` pair. The record's place in the union tree (``scope_path``, what a
    federation admin's search goes by) comes from ``obj`` (``_scope_path``); ``scope``, an organization's path,
    names it instead when the object does not tell.

    The record joins the chain when the caller's transaction commits (``link``): its seq, hash and id are set
    then, and only then is the chain head locked, so two transactions of one tenant append one after the other
    and neither waits through the other's work, only through its commit. A record made in a savepoint that is
    rolled back goes with it; a query of the trail in the same transaction links first, so it sees its own
    records.
    """
    _refuse_full_id_numbers(before, "before")
    _refuse_full_id_numbers(after, "after")
    tenant = current_tenant()
    tenant_id = tenant.id if tenant is not None else None
    session.flush()  # the object's id, for object_id
    actor_id, actor_label = _actor_fields(actor)
    object_type, object_id = _object_fields(obj)
    info = request_context.current()
    entry = AuditRecord(
        tenant_id=tenant_id,
        at=utcnow(),
        actor_id=actor_id,
        actor=actor_label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        request_id=info.request_id,
        address=info.address,
        scope_path=scope if scope is not None or tenant_id is None else _scope_path(session, obj),
    )
    session.info.setdefault(_PENDING, []).append(_Pending(tenant_id or 0, entry, session.get_nested_transaction()))
    return entry


_PENDING = "gonghui.audit.pending"


@dataclass
class _Pending:
    chain: int
    entry: AuditRecord
    #: The savepoint the record was made in (None: the transaction itself): rolling it back drops the record.
    savepoint: object


def link(session: Session) -> None:
    """Give this transaction's records their place in their chains: lock each chain head (in chain order, so
    two transactions never wait on each other crosswise), number and hash the records after it, insert them,
    move the head. Runs by itself before every commit; call it only to see a record's id sooner."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # the rest of the transaction first: the heads stay locked only through the commit
    connection = session.connection()
    for chain, group in groupby(sorted(pending, key=lambda item: item.chain), key=lambda item: item.chain):
        entries = [item.entry for item in group]
        seq, prev_hash = _locked_head(connection, chain)
        for entry in entries:
            seq += 1
            entry.seq, entry.prev_hash = seq, prev_hash
            entry.hash = prev_hash = compute_hash(entry)
        ids = connection.scalars(
            _records.insert().returning(_records.c.id, sort_by_parameter_order=True),
            [_row_of(entry) for entry in entries],
        ).all()
        for entry, id_ in zip(entries, ids):
            entry.id = id_
        connection.execute(sa.update(_heads).where(_heads.c.chain == chain).values(seq=seq, hash=prev_hash))


def _locked_head(connection: sa.Connection, chain: int) -> tuple[int, str]:
    locked = select(_heads.c.seq, _heads.c.hash).where(_heads.c.chain == chain).with_for_update()
    head = connection.execute(locked).first()
    if head is None:  # the chain's first record: when two race to make the head, one waits for the other
        connection.execute(insert_or_skip(_heads, connection.dialect.name).values(chain=chain, seq=0, hash=GENESIS)
                           .on_conflict_do_nothing(index_elements=["chain"]))
        head = connection.execute(locked).first()
    return head.seq, head.hash


_COLUMNS = tuple(column.key for column in _records.columns if column.key != "id")


def _row_of(entry: AuditRecord) -> dict:
    return {key: getattr(entry, key) for key in _COLUMNS}


@event.listens_for(Session, "before_commit")
def _link_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release is not the commit
        link(session)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, rolled_back) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if rolled_back.nested:  # the whole transaction's rollback ends it: _forget_at_end drops everything
        session.info[_PENDING] = [item for item in pending if not _made_in(item.savepoint, rolled_back)]


def _made_in(savepoint, rolled_back) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # closed without a commit (session.close()): its records go with it
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "do_orm_execute")
def _link_before_reading_the_trail(state: ORMExecuteState) -> None:
    if state.is_select and state.session.info.get(_PENDING) and any(
        mapper.class_ is AuditRecord for mapper in state.all_mappers
    ):
        link(state.session)


def record_read(session: Session, obj, field: str, actor) -> AuditRecord:
    """Record that ``actor`` saw the full value of ``field`` of ``obj`` (action ``read.<field>``, e.g.
    ``read.id_number``). Call it where the clear value leaves the registry, in the same transaction."""
    return record(session, f"read.{field}", obj=obj, actor=actor)


# --- reading ----------------------------------------------------------------------------------------------------


def reads_of(obj, field: str = "id_number") -> sa.Select:
    """Who read the full ``field`` of ``obj`` ("who read this person's full ID number"), newest first.

    A statement for ``session.scalars`` or ``page_of``; the tenancy listener keeps it inside the tenant.
    """
    object_type, object_id = _object_fields(obj)
    return (
        select(AuditRecord)
        .where(
            AuditRecord.object_type == object_type,
            AuditRecord.object_id == object_id,
            AuditRecord.action == f"read.{field}",
        )
        .order_by(AuditRecord.seq.desc())
    )


def search(
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> sa.Select:
    """Records of the tenant in scope, newest first. ``action`` is a prefix (``plugin.`` finds ``plugin.enable``
    and ``plugin.disable``); ``since`` is inclusive, ``until`` exclusive, both naive UTC."""
    statement = select(AuditRecord).order_by(AuditRecord.seq.desc())
    if object_type is not None:
        statement = statement.where(AuditRecord.object_type == object_type)
    if object_id is not None:
        statement = statement.where(AuditRecord.object_id == object_id)
    if actor_id is not None:
        statement = statement.where(AuditRecord.actor_id == actor_id)
    if actor is not None:
        statement = statement.where(AuditRecord.actor == actor)
    if action:
        statement = statement.where(AuditRecord.action.startswith(action, autoescape=True))
    if since is not None:
        statement = statement.where(AuditRecord.at >= since)
    if until is not None:
        statement = statement.where(AuditRecord.at < until)
    return statement


# --- verifying --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first place a chain is not whole. ``kind``: altered, inserted, deleted, or head (the head row)."""

    kind: str
    seq: int
    record_id: int | None
    detail: str

    def __str__(self) -> str:
        which = f"seq {self.seq}" + (f", id {self.record_id}" if self.record_id is not None else "")
        return f"{self.kind} record ({which}): {self.detail}"


@dataclass(frozen=True)
class ChainReport:
    chain: int
    label: str
    records: int
    problem: Break | None
    #: The head it was checked against: kept elsewhere (a log, paper), it shows later whether the newest
    #: records were cut off together with the head, which the chain alone cannot show.
    head_seq: int = 0
    head_hash: str = GENESIS

    @property
    def whole(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        if self.problem is None and not self.head_seq:
            return f"{self.label}: no records"
        if self.problem is None:
            return f"{self.label}: {_records_count(self.records)}, whole; head seq {self.head_seq} {self.head_hash}"
        return f"{self.label}: {self.problem}"


def _records_count(count: int) -> str:
    return f"{count} record" if count == 1 else f"{count} records"


@dataclass
class _Walk:
    count: int = 0
    last_seq: int = 0
    last_id: int | None = None
    last_hash: str = GENESIS
    problem: Break | None = None


def _walk(rows: Iterable, anchor_seq: int, anchor_hash: str) -> _Walk:
    """Follow a chain in seq order from its anchor and stop at the first break."""
    walk = _Walk(last_seq=anchor_seq, last_hash=anchor_hash)
    for seq, group in groupby(rows, key=lambda row: row.seq):
        group = list(group)
        walk.count += len(group)
        expected = walk.last_seq + 1
        if seq < expected:
            purged = f"the chain starts after seq {anchor_seq}, the last one purged"
            walk.problem = Break("inserted", seq, group[0].id, purged)
            return walk
        if seq > expected:
            gone = f"seq {expected}" if seq == expected + 1 else f"seq {expected} to {seq - 1}"
            walk.problem = Break("deleted", expected, None, f"{gone} is gone; seq {seq} (id {group[0].id}) comes next")
            return walk
        if len(group) > 1:
            fits = [r for r in group if r.prev_hash == walk.last_hash and compute_hash(r) == r.hash][:1]
            extra = next(r for r in sorted(group, key=lambda r: -r.id) if r not in fits)
            walk.problem = Break("inserted", seq, extra.id, f"seq {seq} is there {len(group)} times")
            return walk
        (row,) = group
        if compute_hash(row) != row.hash:
            walk.problem = Break("altered", seq, row.id, "its hash does not match its content")
            return walk
        if row.prev_hash != walk.last_hash:
            walk.problem = Break(
                "inserted", seq, row.id,
                f"its prev_hash is not the hash of seq {seq - 1} (or seq {seq - 1} was altered and re-hashed)",
            )
            return walk
        walk.last_seq, walk.last_id, walk.last_hash = seq, row.id, row.hash
    return walk


def _in_chain(chain: int):
    return _records.c.tenant_id.is_(None) if chain == 0 else _records.c.tenant_id == chain


def _stream(connection: sa.Connection, chain: int, up_to: int | None):
    statement = select(_records).where(_in_chain(chain)).order_by(_records.c.seq, _records.c.id)
    if up_to is not None:
        statement = statement.where(_records.c.seq <= up_to)
    # yield_per streams (a server-side cursor on PostgreSQL), so a chain of millions walks in flat memory.
    return connection.execute(statement.execution_options(yield_per=STREAM_BATCH))


def _head(connection: sa.Connection, chain: int):
    return connection.execute(select(_heads).where(_heads.c.chain == chain)).first()


def _check_reached(walk: _Walk, up_to: int, head) -> Break | None:
    """The walk must reach ``up_to``, and the head's hash when that is the head."""
    if walk.last_seq < up_to:
        gone = f"seq {walk.last_seq + 1}" + (f" to {up_to}" if up_to > walk.last_seq + 1 else "")
        where = f"; the chain head is at seq {head.seq}" if up_to == head.seq else ""
        return Break("deleted", walk.last_seq + 1, None, f"{gone} is gone{where}")
    if up_to == head.seq and walk.last_hash != head.hash:
        return Break("altered", head.seq, walk.last_id, "its hash is not the one the chain head holds (re-hashed?)")
    return None


def _check_beyond(connection: sa.Connection, chain: int) -> Break | None:
    """A record past the head was written around the application, which moves both in one transaction.

    The newest record is read before the head: a record appended in between comes with a head read after it.
    """
    newest = connection.scalar(select(sa.func.max(_records.c.seq)).where(_in_chain(chain)))
    head = _head(connection, chain)
    if newest is None or newest <= head.seq:
        return None
    beyond = connection.execute(
        select(_records.c.id, _records.c.seq)
        .where(_in_chain(chain), _records.c.seq > head.seq)
        .order_by(_records.c.seq, _records.c.id)
        .limit(1)
    ).one()
    return Break("inserted", beyond.seq, beyond.id, f"it is past the chain head (seq {head.seq})")


def _check_anchor(connection: sa.Connection, chain: int, head) -> Break | None:
    """A chain that starts after seq 0 must have an audit.purge record, its newest, naming that start."""
    if not head.anchor_seq:
        return None
    vouched = connection.scalar(
        select(_records.c.after)
        .where(
            _in_chain(chain),
            _records.c.object_type == "audit_chain",
            _records.c.object_id == str(chain),
            _records.c.action == PURGE_ACTION,
            _records.c.seq > head.anchor_seq,
        )
        .order_by(_records.c.seq.desc())
        .limit(1)
    ) or {}
    if vouched.get("through_seq") == head.anchor_seq and vouched.get("hash") == head.anchor_hash:
        return None
    unvouched = f"the chain starts after seq {head.anchor_seq}, but no {PURGE_ACTION} record says so"
    return Break("deleted", head.anchor_seq, None, unvouched)


def verify_chain(session: Session, chain: int, label: str = "") -> ChainReport:
    """Walk one chain (a tenant's id, or 0 for the platform) from its anchor to its head."""
    connection = session.connection()
    head = _head(connection, chain)
    anchor = (head.anchor_seq, head.anchor_hash) if head is not None else (0, GENESIS)
    with _stream(connection, chain, head.seq if head is not None else None) as rows:
        walk = _walk(rows, *anchor)
    if head is None:
        missing = Break("head", walk.last_seq, walk.last_id, "the chain head row is missing") if walk.count else None
        return ChainReport(chain, label or _label(session, chain), walk.count, walk.problem or missing)
    problem = (
        walk.problem
        or _check_reached(walk, head.seq, head)
        or _check_beyond(connection, chain)
        or _check_anchor(connection, chain, head)
    )
    return ChainReport(chain, label or _label(session, chain), walk.count, problem, head.seq, head.hash)


def _label(session: Session, chain: int) -> str:
    if chain == 0:
        return "platform"
    with platform_scope("audit: name a chain"):
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == chain))
    return f"{slug or 'unknown'} (tenant {chain})"


def chains(session: Session) -> list[int]:
    """Every chain that has a head or a record: tenant ids, 0 for the platform."""
    connection = session.connection()
    heads = set(connection.scalars(select(_heads.c.chain)))
    # One EXISTS per tenant, not a DISTINCT over every record: records whose chain lost its head are found too.
    has_records = sa.exists().where(_records.c.tenant_id == Tenant.__table__.c.id)
    owners = set(connection.scalars(select(Tenant.__table__.c.id).where(has_records)))
    if connection.scalar(select(sa.exists().where(_records.c.tenant_id.is_(None)))):
        owners.add(0)
    return sorted(heads | owners)


def verify(session: Session, tenant: Tenant | None = None) -> list[ChainReport]:
    """Verify ``tenant``'s chain, or every chain (the platform's too) when ``tenant`` is None."""
    wanted = [tenant.id] if tenant is not None else chains(session)
    return [verify_chain(session, chain) for chain in wanted]


# --- retention --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    chain: int
    label: str
    deleted: int
    through_seq: int | None = None
    problem: Break | None = None

    def __str__(self) -> str:
        if self.problem is not None:
            return f"{self.label}: not purged, the chain is broken: {self.problem}"
        if not self.deleted:
            return f"{self.label}: nothing older than the retention period"
        return f"{self.label}: deleted {self.deleted} records through seq {self.through_seq}"


def _check_start(connection: sa.Connection, chain: int, head, through: int) -> Break | None:
    """Is the part a purge would delete whole, and does the first record it keeps follow it? Only this part is
    walked, so the head stays locked (and the tenant's changes wait) for as long as the deletion needs anyway."""
    up_to = min(through + 1, head.seq)
    with _stream(connection, chain, up_to) as rows:
        walk = _walk(rows, head.anchor_seq, head.anchor_hash)
    return walk.problem or _check_reached(walk, up_to, head) or _check_anchor(connection, chain, head)


def purge_chain(session: Session, tenant: Tenant | None, *, before: dt.datetime, actor="system") -> PurgeResult:
    """Delete the records of ``tenant``'s chain (None: the platform's) older than ``before``.

    Only a whole chain is purged, and only from its start: the records deleted are those before the first one
    at or after ``before``, so what is left is one unbroken run. The head keeps the seq and hash of the last one
    deleted (the anchor), and an ``audit.purge`` record in the chain vouches for it.
    """
    chain = tenant.id if tenant is not None else 0
    label = _label(session, chain)
    head = session.execute(
        select(AuditChainHead).where(AuditChainHead.chain == chain).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None:
        return PurgeResult(chain, label, 0)
    connection = session.connection()
    first_kept = connection.scalar(  # in seq order, so the scan stops after what will be deleted
        select(_records.c.seq)
        .where(_in_chain(chain), _records.c.seq > head.anchor_seq, _records.c.at >= before)
        .order_by(_records.c.seq)
        .limit(1)
    )
    through = head.seq if first_kept is None else first_kept - 1
    if through <= head.anchor_seq:
        return PurgeResult(chain, label, 0)
    problem = _check_start(connection, chain, head, through)
    if problem is not None:
        return PurgeResult(chain, label, 0, problem=problem)
    through_hash = connection.scalar(select(_records.c.hash).where(_in_chain(chain), _records.c.seq == through))
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        connection.execute(select(sa.func.set_config(PURGE_SETTING, before.isoformat(sep=" "), True)))
    deleted = connection.execute(sa.delete(_records).where(_in_chain(chain), _records.c.seq <= through)).rowcount
    if postgresql:
        connection.execute(select(sa.func.set_config(PURGE_SETTING, "", True)))
    head.anchor_seq, head.anchor_hash = through, through_hash
    after = {"through_seq": through, "hash": through_hash, "deleted": deleted, "older_than": before.isoformat()}
    with tenant_scope(tenant) if tenant is not None else platform_scope("audit: purge the platform chain"):
        record(session, PURGE_ACTION, obj=("audit_chain", chain), after=after, actor=actor)
    return PurgeResult(chain, label, deleted, through)


def purge(database: Database, *, retention_days: int, actor="system") -> list[PurgeResult]:
    """Purge every chain of records older than ``retention_days``, one transaction per chain."""
    if retention_days < MINIMUM_RETENTION_DAYS:
        raise RetentionTooShort(
            f"GONGHUI_AUDIT_RETENTION_DAYS is {retention_days}: MLPS 2.0 asks to keep audit records at least "
            f"six months ({MINIMUM_RETENTION_DAYS} days); nothing was purged"
        )
    before = utcnow() - dt.timedelta(days=retention_days)
    with database.unit_of_work() as session:
        wanted = chains(session)
    results = []
    for chain in wanted:
        with database.unit_of_work() as session:
            with platform_scope("audit: purge"):
                tenant = session.get(Tenant, chain) if chain else None
            results.append(purge_chain(session, tenant, before=before, actor=actor))
    return results


# --- gonghui audit ... ------------------------------------------------------------------------------------------


@click.group("audit")
def commands():
    """The audit trail: verify its chains, purge records past the retention period."""


@commands.command("verify")
@click.option("--tenant", "slug", default=None, help="Only this tenant's chain (default: every chain).")
@with_appcontext
def verify_command(slug):
    """Walk each chain and name the first record altered, inserted or deleted. Exit 1 if any chain is broken."""
    with current_app.extensions["gonghui"].db.unit_of_work() as session:
        tenant = None
        if slug is not None:
            with platform_scope("audit: find the tenant to verify"):
                tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
            if tenant is None:
                raise click.ClickException(f"no tenant {slug!r}")
        reports = verify(session, tenant)
    for report in reports:
        click.echo(str(report))
    broken = [report for report in reports if not report.whole]
    total = sum(report.records for report in reports)
    summary = f"{len(reports)} chains, {_records_count(total)}: " + (f"{len(broken)} broken" if broken else "all whole")
    click.echo(summary)
    if broken:
        click.get_current_context().exit(1)


@commands.command("purge")
@with_appcontext
def purge_command():
    """Delete records older than GONGHUI_AUDIT_RETENTION_DAYS (at least 183); a broken chain is left alone."""
    state = current_app.extensions["gonghui"]
    try:
        results = purge(state.db, retention_days=state.settings.audit_retention_days, actor="cli")
    except RetentionTooShort as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        click.echo(str(result))
    if any(result.problem for result in results):
        click.get_current_context().exit(1)
