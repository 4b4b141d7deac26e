"""Units (单位): the employers whose workers join unions, and the national code lists that describe them."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TenantOwned, Timestamped, Versioned
from core.models.region import PATH

#: GB/T 4754-2017 国民经济行业分类, its 20 sections (门类).
INDUSTRIES: dict[str, str] = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}

#: Unit category (单位类别 / 经济类型) codes. 110–390 are the enterprise registration types of the National Bureau
#: of Statistics (企业登记注册类型, 1998, adjusted 2011); 400–700 are the non-enterprise employers a union registry
#: also holds, numbered on after them up to 700 for private non-enterprise units as the national rules name it.
#: See docs/units.md: the 400–650 numbers are ours until a federation's code table says otherwise.
ECONOMIC_TYPES: dict[str, str] = {
    "110": "国有企业",
    "120": "集体企业",
    "130": "股份合作企业",
    "141": "国有联营企业",
    "142": "集体联营企业",
    "143": "国有与集体联营企业",
    "149": "其他联营企业",
    "151": "国有独资公司",
    "159": "其他有限责任公司",
    "160": "股份有限公司",
    "171": "私营独资企业",
    "172": "私营合伙企业",
    "173": "私营有限责任公司",
    "174": "私营股份有限公司",
    "190": "其他企业",
    "210": "合资经营企业（港或澳、台资）",
    "220": "合作经营企业（港或澳、台资）",
    "230": "港、澳、台商独资经营企业",
    "240": "港、澳、台商投资股份有限公司",
    "290": "其他港、澳、台商投资企业",
    "310": "中外合资经营企业",
    "320": "中外合作经营企业",
    "330": "外资企业",
    "340": "外商投资股份有限公司",
    "390": "其他外商投资企业",
    "400": "个体工商户",
    "500": "机关",
    "600": "事业单位",
    "650": "社会团体",
    "700": "民办非企业单位",
}

#: The four head counts. Women, dispatched and migrant workers are counted among the employees.
HEAD_COUNTS = ("employees", "women", "dispatched", "migrant_workers")

def _counted_among_employees(column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IS NULL OR employees IS NULL OR {column} <= employees", name=f"{column}_le_employees")


def _bigrams_default(context) -> str:
    """For inserts that bring a name and no ``name_bigrams``: bulk inserts of dictionaries, which set no attribute."""
    return unit_search.name_bigrams(context.get_current_parameters().get("name") or "")


def _region_path_default(context) -> str:
    """For inserts that bring a ``region_id`` and no ``region_path``: one lookup per row, so bulk writers that
    know the path should send it."""
    region_id = context.get_current_parameters().get("region_id")
    if region_id is None:
        return ""
    return context.connection.scalar(sa.text("SELECT path FROM region WHERE id = :id"), {"id": region_id}) or ""


class Unit(TenantOwned, Versioned, Timestamped, Base):
    """An employer, named exactly as on its registration.

    ``credit_code`` is the unified social credit code (统一社会信用代码, GB 32100); older records may carry only
    a business registration number (工商注册号, 15 digits) or an organisation code (组织机构代码, GB 11714). A
    credit code's 9th to 17th characters are the organisation code, which is filled from it.
    ``organization_id`` is the grassroots or joint union that covers the unit; ``has_union`` is true whenever
    one does, and may be true without one when the union is not in the registry yet. While a unit has no union
    its workers wait in a reservoir. ``name_bigrams`` serves the name search (``core.registry.unit_search``).
    """

    __tablename__ = "unit"
    __table_args__ = (
        sa.Index(
            "uq_unit_tenant_id_credit_code",
            "tenant_id",
            "credit_code",
            unique=True,
            postgresql_where=sa.text("credit_code IS NOT NULL"),
            sqlite_where=sa.text("credit_code IS NOT NULL"),
        ),
        sa.Index(
            "uq_unit_tenant_id_registration_number",
            "tenant_id",
            "registration_number",
            unique=True,
            postgresql_where=sa.text("registration_number IS NOT NULL"),
            sqlite_where=sa.text("registration_number IS NOT NULL"),
        ),
        sa.Index(
            "uq_unit_tenant_id_organization_code",
            "tenant_id",
            "organization_code",
            unique=True,
            postgresql_where=sa.text("organization_code IS NOT NULL"),
            sqlite_where=sa.text("organization_code IS NOT NULL"),
        ),
        sa.Index("ix_unit_tenant_id_region_id", "tenant_id", "region_id"),
        sa.Index("ix_unit_tenant_id_region_path", "tenant_id", "region_path"),
        sa.Index("ix_unit_tenant_id_organization_id", "tenant_id", "organization_id"),
        sa.Index("ix_unit_tenant_id_name", "tenant_id", "name"),
        sa.CheckConstraint(" AND ".join(f"({c} IS NULL OR {c} >= 0)" for c in HEAD_COUNTS), name="head_counts"),
        _counted_among_employees("women"),
        _counted_among_employees("dispatched"),
        _counted_among_employees("migrant_workers"),
        sa.CheckConstraint("organization_id IS NULL OR has_union", name="covered_has_union"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    #: The name's search key as space-separated character bigrams, in order ("宜昌 昌某 某某 …"), kept in step
    #: with ``name`` by ``core.registry.unit_search``, which also owns the index over it.
    name_bigrams: Mapped[str] = mapped_column(sa.Text, nullable=False, default=_bigrams_default)
    credit_code: Mapped[str | None] = mapped_column(sa.String(18))
    registration_number: Mapped[str | None] = mapped_column(sa.String(15))
    organization_code: Mapped[str | None] = mapped_column(sa.String(9))
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id", ondelete="RESTRICT"))
    #: The region's materialised path (``/1/7/42/``), copied when the region is set: a region's subtree is a range
    #: on the unit itself, and the name search's index holds it. Regions do not move; if they ever do, copy again.
    region_path: Mapped[str] = mapped_column(PATH, nullable=False, default=_region_path_default)
    #: GB/T 4754 section letter, a key of ``INDUSTRIES``.
    industry: Mapped[str | None] = mapped_column(sa.String(1))
    #: Unit category code, a key of ``ECONOMIC_TYPES``.
    economic_type: Mapped[str | None] = mapped_column(sa.String(3))
    address: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    legal_representative: Mapped[str] = mapped_column(sa.String(50), nullable=False, default="")
    employees: Mapped[int | None] = mapped_column(sa.Integer)
    women: Mapped[int | None] = mapped_column(sa.Integer)
    dispatched: Mapped[int | None] = mapped_column(sa.Integer)
    migrant_workers: Mapped[int | None] = mapped_column(sa.Integer)
    has_union: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"))

    region = relationship("Region")
    covering_organization = relationship("Organization")


# The name search keeps its own structures beside this table (an FTS5 table on SQLite, a GIN index on PostgreSQL)
# and keeps ``name_bigrams`` in step with ``name``: importing it attaches both to the model, whoever imports first.
from core.registry import unit_search  # noqa: E402,F401
