"""Tenants (one per city federation), the host names they answer on and the plugins they turned on."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TenantOwned, Timestamped, Versioned


class Tenant(Versioned, Timestamped, Base):
    """A city federation's space. Platform-level: not itself scoped by tenant."""

    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    #: logo_url, primary_color, accent_color, footer, contact_name, contact_phone
    branding: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    #: Bumped by every enable, disable or configure, so each process rebuilds its cached hook callers.
    plugins_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    domains: Mapped[list["TenantDomain"]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantDomain.host"
    )

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantDomain(Base):
    """A host name that resolves to a tenant. Read before any tenant is known, so it is platform-level."""

    __tablename__ = "tenant_domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False, index=True)
    host: Mapped[str] = mapped_column(sa.String(253), unique=True, nullable=False)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class TenantPlugin(TenantOwned, Versioned, Timestamped, Base):
    """A plugin turned on (or once on, now off) for a tenant, with its validated settings."""

    __tablename__ = "tenant_plugin"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    settings: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
