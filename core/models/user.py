"""People who sign in to staff pages or call the API, the roles they hold and their API tokens.

Platform admins belong to no tenant (``tenant_id`` is NULL); every other user belongs to exactly one.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, column_property, declared_attr, mapped_column, relationship

from core.crypto import Encrypted
from core.db import Base, TenantOwned, Timestamped, Versioned, utcnow
from core.models.organization import Organization


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
        # One phone per tenant, through its blind index (the phone itself is stored encrypted).
        sa.Index("uq_user_account_tenant_id_phone_index", "tenant_id", "phone_index", unique=True),
        # A person has at most one account in a tenant.
        sa.UniqueConstraint("tenant_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored in lower case; sign-in compares lower case.
    username: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    display_name: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    #: A mainland mobile number (11 digits), encrypted; ``phone_index`` finds it (``crypto.blind_index("phone")``).
    phone: Mapped[str | None] = mapped_column(Encrypted)
    phone_index: Mapped[str | None] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    is_platform_admin: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    #: Bumped by "sign out everywhere", a password change and deactivation: sessions carry the epoch they were
    #: issued under, so every session issued before stops working.
    session_epoch: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    #: The worker's own person in the registry (``GET /api/v1/me/export``); NULL for staff with no such link.
    #: SET NULL: removing a person leaves the account, unlinked. ``use_alter``: person refers back to
    #: user_account (``filled_in_by_user_id``), so ``create_all`` adds this key after both tables exist.
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL", use_alter=True))

    # No order_by: "ORDER BY id" leads SQLite to walk the tenant's whole index instead of the user's grants.
    grants: Mapped[list["RoleGrant"]] = relationship(back_populates="user", lazy="selectin",
                                                     cascade="all, delete-orphan")


class RoleGrant(TenantOwned, Base):
    """A role held by a user at an organization (NULL: the whole tenant, for ``tenant_admin``)."""

    __tablename__ = "role_grant"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id", "role", "organization_id"),
        # "Who holds a role in this subtree": the user list of a federation admin.
        sa.Index("ix_role_grant_tenant_id_organization_id", "tenant_id", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"))
    # Read with the grant itself, in the query that loads a user's grants, so the data scope of a request needs
    # no query of its own (core.auth.scope). None for a grant without an organization.
    organization_path: Mapped[str | None] = column_property(
        sa.select(Organization.path).where(Organization.id == organization_id).scalar_subquery()
    )
    organization_status: Mapped[str | None] = column_property(
        sa.select(Organization.status).where(Organization.id == organization_id).scalar_subquery()
    )

    user: Mapped[User] = relationship(back_populates="grants")


class ApiToken(_OptionalTenant, Base):
    """A token for programs. Only its SHA-256 is stored; the token itself is shown once, at creation.

    ``scopes`` lists the permissions the token may use (empty: every permission of its user).
    """

    __tablename__ = "api_token"
    __table_args__ = (sa.Index("ix_api_token_tenant_id_user_id", "tenant_id", "user_id"),)

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


# The sign-in state belongs with the accounts: importing the users registers its tables too.
from core.models import login as _login  # noqa: E402,F401
