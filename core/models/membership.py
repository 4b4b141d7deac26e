"""Memberships (会籍) and their ledger: one current membership per person, every step on record."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TenantOwned, Timestamped, Versioned, utcnow

#: active: a member of ``organization``; retained (保留会籍): kept on retirement, unemployment or the unit's
#: closure; ended: history. Active and retained are both current: a person has at most one of them.
STATUSES = ("active", "retained", "ended")
#: Why a membership ended. The first two belong to the steps that start the next one (transfer, move out).
END_REASONS = {
    "transferred": "转出",
    "moved_out": "迁出",
    "retired": "退休",
    "left": "退会",
    "died": "去世",
    "removed": "除名",
    "deemed_withdrawn": "视为自动退会",
}
#: Why a membership is retained (保留会籍), and who keeps it: the unit's union on retirement and unemployment,
#: the upper union when the unit closed or went bankrupt.
RETAINED_BECAUSE = {"retirement": "退休", "unemployment": "失业", "closure": "单位撤销或破产"}
#: The steps of the ledger.
STEPS = {
    "joined": "入会",
    "rejoined": "重新入会",
    "transferred_out": "转出",
    "transferred_in": "转入",
    "moved_out": "迁出",
    "moved_in": "迁入",
    "parked": "进入蓄水池",
    "retained": "保留会籍",
    "ended": "会籍终止",
}


class Membership(TenantOwned, Versioned, Timestamped, Base):
    """One stint of a person in one organization. A transfer ends one and starts the next (``via_id``), so a
    person has one membership that moves ("一次入会、动态接转"), never two at once: the partial unique index
    allows one row per person and tenant that is not ended. A person's newest membership is their current one,
    if any is."""

    __tablename__ = "membership"
    __table_args__ = (
        sa.Index(
            "uq_membership_current",
            "tenant_id",
            "person_id",
            unique=True,
            postgresql_where=sa.text("status <> 'ended'"),
            sqlite_where=sa.text("status <> 'ended'"),
        ),
        sa.Index("ix_membership_tenant_id_person_id", "tenant_id", "person_id"),
        sa.Index("ix_membership_tenant_id_organization_id_status", "tenant_id", "organization_id", "status"),
        sa.Index("ix_membership_tenant_id_unit_id", "tenant_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="RESTRICT"), nullable=False)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"), nullable=False)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="active")
    #: Waiting in a reservoir (蓄水池) until the unit forms a union.
    parked: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    started_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    ended_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))  # one of END_REASONS
    retained_because: Mapped[str | None] = mapped_column(sa.String(20))  # one of RETAINED_BECAUSE
    retained_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    #: The membership this one continues (a transfer, a move out, a retention at the upper union).
    via_id: Mapped[int | None] = mapped_column(sa.ForeignKey("membership.id"))
    card_number: Mapped[str | None] = mapped_column(sa.String(30))

    @property
    def current(self) -> bool:
        return self.status != "ended"


class MembershipEntry(TenantOwned, Base):
    """The ledger: one append-only entry per step (one of ``STEPS``), with the date it took effect, the
    organization, who did it and why. A transfer writes two: ``transferred_out`` on the old membership,
    ``transferred_in`` on the new one."""

    __tablename__ = "membership_entry"
    __table_args__ = (
        sa.Index("ix_membership_entry_tenant_id_person_id", "tenant_id", "person_id"),
        sa.Index("ix_membership_entry_tenant_id_organization_id", "tenant_id", "organization_id"),
        # History stays as it happened: a merge of duplicate organizations repoints current rows, not these.
        {"info": {"append_only": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="RESTRICT"), nullable=False)
    membership_id: Mapped[int] = mapped_column(sa.ForeignKey("membership.id", ondelete="RESTRICT"), nullable=False)
    step: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(sa.Integer)
    actor: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    #: A coded reason where the step has one (an end reason, a retention reason), else "".
    reason: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    note: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)


class LedgerIsAppendOnly(RuntimeError):
    """Code tried to change or delete a ledger entry: a bug, never a user error."""


def _refuse(_mapper, _connection, target: MembershipEntry) -> None:
    raise LedgerIsAppendOnly(f"membership entry {target.id} cannot be changed or deleted")


event.listen(MembershipEntry, "before_update", _refuse)
event.listen(MembershipEntry, "before_delete", _refuse)

# The same function and trigger are created by migration core_0006; this copy serves ``create_all`` (the test
# kit). TRUNCATE fires no row trigger, so the test kit can still empty the table.
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION membership_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = 'membership_entry is append-only: ' || TG_OP || ' of entry ' || OLD.id || ' refused';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER membership_entry_append_only BEFORE UPDATE OR DELETE ON membership_entry
FOR EACH ROW EXECUTE FUNCTION membership_entry_append_only()
"""

for _statement in (APPEND_ONLY_FUNCTION, APPEND_ONLY_TRIGGER):
    event.listen(MembershipEntry.__table__, "after_create", sa.DDL(_statement).execute_if(dialect="postgresql"))
