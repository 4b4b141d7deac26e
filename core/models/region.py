"""The administrative areas of a tenant's city (区域): city, county/district, street/town, community/village, grid."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TenantOwned, Timestamped, Versioned

LEVELS = ("city", "county", "street", "community", "grid")

#: A materialised path of ids, ``/1/7/42/``. Byte order on PostgreSQL: under a linguistic collation (zh_CN,
#: en_US, ICU) punctuation is ignored at first and ``/1/10/`` sorts after ``/1/~``, which would break the range
#: scan of ``core.auth.subtree_bounds``. SQLite compares bytes already.
PATH = sa.String(255).with_variant(postgresql.VARCHAR(255, collation="C"), "postgresql")


class Region(TenantOwned, Versioned, Timestamped, Base):
    """One area. ``code`` is the national division code (统计用区划代码: 6 digits down to a county, 9 for a street
    or town, 12 for a community or village); a grid gets a code of the tenant's own, its parent's code + ``G001``.

    ``path`` is the materialised path of ids (``/1/7/42/``): a subtree is one indexed range scan.
    """

    __tablename__ = "region"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        sa.Index("ix_region_tenant_id_path", "tenant_id", "path"),
        sa.Index("ix_region_tenant_id_parent_id", "tenant_id", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    level: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    #: NO ACTION rather than RESTRICT, as for organizations (see ``Organization.parent_id``).
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"))
    path: Mapped[str] = mapped_column(PATH, nullable=False, default="")
