"""What the Yichang plugin keeps: applications to join or transfer, and formation drives.

The registry (people, units, unions, memberships) stays in core; these tables only point into it. An application
is one row that moves through its statuses; every step is also an audit record (痕迹管理).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.toolkit import Base, TenantOwned, Timestamped, Versioned

#: join (入会) or transfer (转会/会籍转接).
KINDS = ("join", "transfer")

#: The life of an application. ``refused`` is screened out on submission (it never reached a person);
#: ``withdrawn`` by the applicant. The list colours of the seed: white = not yet verified, yellow = verified,
#: green = approved, red = refused or rejected.
STATUSES = ("submitted", "dispatched", "verified", "approved", "rejected", "refused", "withdrawn")
OPEN_STATUSES = ("submitted", "dispatched", "verified")
COLOURS = {
    "submitted": "white", "dispatched": "white", "verified": "yellow", "approved": "green",
    "rejected": "red", "refused": "red", "withdrawn": "grey",
}

#: What the applicant says they are at the unit; the seed refuses legal representatives and partners.
RELATIONS = ("employee", "legal_representative", "partner")

#: A formation drive's statuses: opened by the threshold, dispatched to a county, notice served, documents
#: uploaded and submitted, approved by the city (the union is formed), or closed without a union.
DRIVE_STATUSES = ("opened", "dispatched", "notified", "submitted", "approved", "closed")

#: The four documents a unit hands its upper union when it forms a union (seed, 督促建会 2(2)).
DRIVE_DOCUMENTS = {
    "preparatory_group": "关于建立工会筹备组的函",
    "formation_request": "关于建立工会组织的请示",
    "first_congress_request": "关于召开第一次会员代表大会的请示",
    "election_report": "关于第一次会员代表大会选举结果的报告",
}


class Application(TenantOwned, Versioned, Timestamped, Base):
    """One worker's application to join, or to transfer their membership (入会转会申请)."""

    __tablename__ = "yichang_application"
    __table_args__ = (
        sa.Index("ix_yichang_application_queue", "tenant_id", "status", "handler_path"),
        sa.Index("ix_yichang_application_person", "tenant_id", "person_id"),
        sa.Index("ix_yichang_application_unit", "tenant_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="submitted")
    #: web or mobile (the seed's two ways in, 两终端).
    channel: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="web")
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="RESTRICT"), nullable=False)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    #: The region the worker picked (所属区域) and the unit they picked, or the name they typed (其他单位名称).
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id", ondelete="RESTRICT"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"))
    other_unit_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    relation: Mapped[str] = mapped_column(sa.String(24), nullable=False, default="employee")
    employment_form: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="")
    #: A transfer asked for by someone whose membership is not in this tenant's registry becomes a join.
    from_outside: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    previous_union: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    #: The membership a transfer moves, when it was found.
    from_membership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("membership.id", ondelete="SET NULL"))
    #: Who handles it now: the city federation, then the county federation or industry union it was dispatched
    #: to, then the union that decides. Staff see an application when this path is in their subtree.
    handler_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"), nullable=False)
    handler_path: Mapped[str] = mapped_column(sa.String(400), nullable=False)
    dispatched_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"))
    #: The union that decides and that the membership goes to (a grassroots union, or a reservoir).
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"))
    parked: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    membership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("membership.id", ondelete="SET NULL"))
    #: Screening rule or rejection reason key, and the words shown to the applicant.
    reason: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    reason_text: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    submitted_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    #: The seed's promises in working days: accepted (dispatched and verified) within 1, decided within 3.
    accept_due_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    due_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    verified_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    decided_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    reminded_on: Mapped[dt.date | None] = mapped_column(sa.Date)


class FormationDrive(TenantOwned, Versioned, Timestamped, Base):
    """A drive to form a union at a unit from which many workers are parked (督促建会)."""

    __tablename__ = "yichang_formation_drive"
    __table_args__ = (
        # one open drive per unit; a closed or approved one may be followed by another
        sa.Index("uq_yichang_formation_drive_open_unit", "tenant_id", "unit_id", unique=True,
                 postgresql_where=sa.text("status NOT IN ('approved', 'closed')"),
                 sqlite_where=sa.text("status NOT IN ('approved', 'closed')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="opened")
    parked_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    handler_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"), nullable=False)
    handler_path: Mapped[str] = mapped_column(sa.String(400), nullable=False)
    opened_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    #: The formation notice is due within 30 working days of the threshold being reached.
    notice_due_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    notice_served_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    #: The union formed at the unit, once the city approves.
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"))
    approved_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    note: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")


class DriveDocument(TenantOwned, Timestamped, Base):
    """One uploaded document of a formation drive (one of ``DRIVE_DOCUMENTS``)."""

    __tablename__ = "yichang_drive_document"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "drive_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drive_id: Mapped[int] = mapped_column(sa.ForeignKey("yichang_formation_drive.id", ondelete="CASCADE"),
                                          nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
