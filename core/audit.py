"""The audit trail (痕迹管理): who did what, when, to which object, with the state before and after.

Records are append-only and hash-chained per tenant: each record's hash covers its content and the previous
record's hash, so a changed, inserted or deleted record breaks the chain at that point. Personal data must be
masked by the caller before it reaches ``before``/``after``.
"""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import request_context
from core.db import utcnow
from core.models.audit import AuditChainHead, AuditRecord
from core.tenancy import current_tenant

GENESIS = "0" * 64


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
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def compute_hash(record: AuditRecord) -> str:
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


def record(session: Session, action: str, *, obj=None, before=None, after=None, actor=None) -> AuditRecord:
    """Append one record to the current tenant's chain (or the platform chain outside a tenant).

    ``obj`` is an ORM object or a ``(type, id)`` pair. The chain head is updated under a row lock, so two
    transactions of one tenant append one after the other instead of forking the chain.
    """
    tenant = current_tenant()
    tenant_id = tenant.id if tenant is not None else None
    session.flush()
    chain = tenant_id or 0
    _ensure_head(session, chain)
    head = session.execute(
        select(AuditChainHead)
        .where(AuditChainHead.chain == chain)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    seq, prev_hash = head.seq + 1, head.hash
    actor_id, actor_label = _actor_fields(actor)
    object_type, object_id = _object_fields(obj)
    info = request_context.current()
    entry = AuditRecord(
        tenant_id=tenant_id,
        seq=seq,
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
        prev_hash=prev_hash,
    )
    entry.hash = compute_hash(entry)
    head.seq, head.hash = seq, entry.hash
    session.add(entry)
    return entry


def _ensure_head(session: Session, chain: int) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(AuditChainHead).values(chain=chain, seq=0, hash=GENESIS).on_conflict_do_nothing(index_elements=["chain"])
    )

