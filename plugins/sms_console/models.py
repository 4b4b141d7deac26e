"""The messages the console gateway received, so staff and tests can read what would have gone out."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.toolkit import Base, TenantOwned, utcnow


class ConsoleMessage(TenantOwned, Base):
    __tablename__ = "sms_console_message"
    # One row per client reference (the outbox id): a retry of a message already recorded is not a second SMS.
    __table_args__ = (sa.UniqueConstraint("tenant_id", "client_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The full number, as a real provider would receive it; the API and the log show it masked.
    phone: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    client_ref: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
