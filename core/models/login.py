"""Sign-in state kept in the database, so that every process of a deployment sees the same counts.

``LoginThrottle`` counts recent events (failed sign-ins, text messages asked for) per key: an account, an
address, an address on one account, a phone. ``LoginCode`` is a one-time code sent by SMS (短信验证码), stored as a
keyed hash.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TenantOwned, utcnow
from core.models.user import _OptionalTenant


class LoginThrottle(_OptionalTenant, Base):
    """Recent events for one key of one kind; platform sign-ins (no tenant) have ``tenant_id`` NULL."""

    __tablename__ = "login_throttle"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "kind", "key"),
        # NULLs are distinct in the key above: the platform's rows need one of their own.
        sa.Index(
            "uq_login_throttle_platform_kind_key",
            "kind",
            "key",
            unique=True,
            postgresql_where=sa.text("tenant_id IS NULL"),
            sqlite_where=sa.text("tenant_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``account``, ``pair`` (address on one account), ``address``, ``sms_phone``, ``sms_address``.
    kind: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    key: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    #: Events since the count last started; forgotten once ``last_event_at`` is older than the kind's window.
    events: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_event_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    #: No attempt for this key before this time (an account: locked; an address: slowed).
    blocked_until: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    #: Accounts only: locks since the last successful sign-in; each lock lasts twice the one before.
    lockouts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class LoginCode(TenantOwned, Base):
    """A one-time sign-in code sent to a user's phone. Only an HMAC of it is stored."""

    __tablename__ = "login_code"
    __table_args__ = (sa.Index("ix_login_code_tenant_id_phone_index", "tenant_id", "phone_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    phone_index: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    salt: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    code_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    #: Set when the code signed someone in, or when a newer code replaced it.
    used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
