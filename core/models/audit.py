"""The audit trail: one append-only row per state change, hash-chained per tenant (``core.audit``)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow
from core.models.user import _OptionalTenant


class AuditRecord(_OptionalTenant, Base):
    __tablename__ = "audit_record"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "seq"),
        sa.Index("ix_audit_record_object", "tenant_id", "object_type", "object_id"),
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
    prev_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)


class AuditChainHead(Base):
    """The last record of each chain (tenant id, or 0 for the platform chain).

    Appending locks this one row, so concurrent transactions of a tenant queue up behind each other and each
    sees the head the previous one wrote (PostgreSQL re-reads a row it waited for; SQLite has one writer).
    """

    __tablename__ = "audit_chain_head"

    chain: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
