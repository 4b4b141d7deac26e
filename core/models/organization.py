"""The union tree (工会组织): the city federation down to grassroots unions, and the reservoir committees."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.crypto import Encrypted
from core.db import Base, TenantOwned, Timestamped, Versioned
from core.models.region import PATH

#: Every kind of node. The last three are reservoirs (蓄水池) that hold members while their unit has no union.
KINDS = (
    "city_federation",  # 市总工会
    "county_federation",  # 县（市、区）总工会
    "industry_union",  # 产业（行业）工会、局/公司工会联合会
    "street_federation",  # 乡镇（街道）总工会
    "grassroots_union",  # 基层工会 (``joint``: 联合工会 covering several units)
    "city_enterprise_committee",  # 市直企业工会委员会
    "service_centre_committee",  # 职工服务中心工会委员会
    "grid_union",  # 网格工会
)
RESERVOIR_KINDS = ("city_enterprise_committee", "service_centre_committee", "grid_union")
#: The regional federations (总工会) of GLOSSARY.md; an industry union is not one.
FEDERATION_KINDS = ("city_federation", "county_federation", "street_federation")
STATUSES = ("active", "dissolved", "merged")


class Organization(TenantOwned, Versioned, Timestamped, Base):
    """A node of the union tree. ``path`` is the materialised path of ids (``/1/7/42/``), so the subtree of
    any node is one range scan on ``(tenant_id, path)`` and "is X under Y" is a string prefix test."""

    __tablename__ = "organization"
    __table_args__ = (
        sa.Index("ix_organization_tenant_id_path", "tenant_id", "path"),
        sa.Index("ix_organization_tenant_id_parent_id", "tenant_id", "parent_id"),
        sa.Index("ix_organization_tenant_id_name", "tenant_id", "name"),
        sa.Index("ix_organization_tenant_id_region_id", "tenant_id", "region_id"),
        sa.Index("ix_organization_tenant_id_contact_phone_index", "tenant_id", "contact_phone_index"),
        # One active city federation per tenant: the root of its tree.
        sa.Index(
            "uq_organization_city_federation",
            "tenant_id",
            unique=True,
            postgresql_where=sa.text("kind = 'city_federation' AND status = 'active'"),
            sqlite_where=sa.text("kind = 'city_federation' AND status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Full name as on the seal.
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    #: A joint union (联合工会) covers several small units; only a grassroots union can be one.
    joint: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id", ondelete="RESTRICT"))
    #: Self-references are NO ACTION, not RESTRICT: SQLite checks RESTRICT row by row, so not even a statement
    #: that removes a whole tree at once (a test's clean-up) could pass. Organizations are never deleted anyway.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id"))
    path: Mapped[str] = mapped_column(PATH, nullable=False, default="")
    #: 0 for the city federation, parent's depth + 1 below it.
    depth: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    chairman_name: Mapped[str] = mapped_column(sa.String(50), nullable=False, default="")
    contact_name: Mapped[str] = mapped_column(sa.String(50), nullable=False, default="")
    contact_phone: Mapped[str | None] = mapped_column(Encrypted)
    #: ``core.crypto.blind_index("phone", ...)`` of the contact phone: find a union by its phone, exactly.
    contact_phone_index: Mapped[str | None] = mapped_column(sa.String(64))
    #: 工会法人资格证书 number.
    legal_person_cert_no: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    term_ends_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="active")
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id"))

    @property
    def reservoir(self) -> bool:
        return self.kind in RESERVOIR_KINDS
