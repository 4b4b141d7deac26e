"""People who sign in to staff pages or call the API, the roles they hold and their API tokens.

Platform admins belong to no tenant (``tenant_id`` is NULL); every other user belongs to exactly one.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from core.db import Base, TenantOwned, Timestamped, Versioned, utcnow


class _OptionalTenant(TenantOwned):
    @declared_attr
    def tenant_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("tenant.id", ondelete="RESTRICT"), nullable=True, index=True)


class User(_OptionalTenant, Versioned, Timestamped, Base):
    __tablename__ = "user_account"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "username"),
        sa.Index(
            "uq_user_account_platform_username",
            "username",
            unique=True,
            postgresql_where=sa.text("tenant_id IS NULL"),
            sqlite_where=sa.text("tenant_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    display_name: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    is_platform_admin: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    #: Bumped by "sign out everywhere": sessions carry the epoch they were issued under.
    session_epoch: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    grants: Mapped[list["RoleGrant"]] = relationship(back_populates="user", lazy="selectin")


class RoleGrant(TenantOwned, Base):
    """A role held by a user at an organization (NULL: the whole tenant)."""

    __tablename__ = "role_grant"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "user_id", "role", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    organization_id: Mapped[int | None] = mapped_column(sa.Integer)

    user: Mapped[User] = relationship(back_populates="grants")


class ApiToken(_OptionalTenant, Base):
    """A token for programs. Only its SHA-256 is stored; the token itself is shown once, at creation."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    scopes: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)

    user: Mapped[User] = relationship()
