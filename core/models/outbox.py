"""Outside effects waiting to happen: written with the change that causes them, delivered by a job."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TenantOwned, utcnow


class OutboxMessage(TenantOwned, Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "dedupe_key"),
        sa.Index("ix_outbox_message_due", "tenant_id", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What kind of effect: "sms", "card", ... ; the delivery function is looked up by kind.
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    #: Plugin that caused it ("core" for core), so a disabled plugin's messages are skipped.
    plugin: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="core")
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    payload: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    #: pending -> sending -> sent | failed | skipped
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
    available_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(100))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
