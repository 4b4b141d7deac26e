"""Memberships (会籍): join, transfer, move out, park, retain, end, and re-join after an end.

"One join, dynamic transfer" (一次入会、动态接转): a person holds at most one current membership (active or
retained) per tenant. Every step locks the person's row and their current membership (SELECT ... FOR UPDATE), so
steps on one person queue up instead of racing; the partial unique index ``uq_membership_current`` is the last line
of defence, and a second current membership that reaches it is a Conflict, never a second row.

Each step is a plain function: the caller owns the transaction (no commit here); it writes ledger entries
(``MembershipEntry``, append-only), one audit record, and emits a domain event to the tenant's plugins.
After a Conflict or PreconditionFailed raised by a flush, the caller must roll back.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core import audit, events
from core.errors import Conflict, InvalidInput, PreconditionFailed
from core.id_numbers import today
from core.models.membership import END_REASONS, RETAINED_BECAUSE, Membership, MembershipEntry
from core.models.organization import RESERVOIR_KINDS, Organization
from core.models.person import Person
from core.models.unit import Unit

#: Where a member's membership can be held: a grassroots union or a reservoir. (A retained membership may be
#: kept by an upper union as well, on the unit's closure.)
MEMBER_KINDS = ("grassroots_union",) + RESERVOIR_KINDS
#: The reasons ``end`` takes; transfers and moves end a membership with their own.
END_BY_CHOICE = tuple(reason for reason in END_REASONS if reason not in ("transferred", "moved_out"))


if hasattr(events, "MembershipRetained"):
    MembershipRetained = events.MembershipRetained
else:  # until core/events.py has it (reported to the lead); then only the line above stays

    @dataclass(frozen=True)
    class MembershipRetained(events.Event):
        """A membership became retained (保留会籍) on retirement, unemployment or the unit's closure."""

        person_id: int
        membership_id: int
        because: str


class NotAMember(Conflict):
    code = "not_a_member"

    def __init__(self, person: Person):
        super().__init__(f"{person.name} has no current membership", errors={"membership": ["none"]})


class AlreadyAMember(Conflict):
    code = "already_a_member"

    def __init__(self):
        # The organization is not named: it may be outside the caller's subtree.
        super().__init__("this person already has a current membership: transfer it instead of joining again",
                         errors={"membership": ["already a member"]})


# --- read ---------------------------------------------------------------------------------------------------------


def current(session: Session, person: Person, *, lock: bool = False) -> Membership | None:
    """The person's current membership (active or retained), or None. ``lock``: lock the person's row and the
    membership's until the transaction ends, and read both afresh; every step does this first."""
    statement = sa.select(Membership).where(Membership.person_id == person.id, Membership.status != "ended")
    if lock:
        # The person's row is locked too: it exists even when no membership does, so racing joins queue as well.
        # (On SQLite this takes the database's write lock: core.db makes FOR UPDATE mean that there.)
        session.execute(sa.select(Person.id).where(Person.id == person.id).with_for_update())
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return session.scalars(statement).one_or_none()


def history(session: Session, person: Person) -> list[Membership]:
    """Every membership of the person, oldest first."""
    return list(session.scalars(
        sa.select(Membership).where(Membership.person_id == person.id).order_by(Membership.id)
    ))


def ledger(session: Session, person: Person) -> list[MembershipEntry]:
    """The person's ledger, in the order it was written."""
    return list(session.scalars(
        sa.select(MembershipEntry).where(MembershipEntry.person_id == person.id).order_by(MembershipEntry.id)
    ))


def view(membership: Membership) -> dict:
    """A membership as plain data (dates as ISO strings): for the audit trail, exports and the API."""
    return {
        "id": membership.id,
        "person_id": membership.person_id,
        "organization_id": membership.organization_id,
        "unit_id": membership.unit_id,
        "status": membership.status,
        "parked": membership.parked,
        "started_on": _iso(membership.started_on),
        "ended_on": _iso(membership.ended_on),
        "end_reason": membership.end_reason,
        "retained_because": membership.retained_because,
        "retained_on": _iso(membership.retained_on),
        "via_id": membership.via_id,
        "version": membership.version,
    }


def entry_view(entry: MembershipEntry) -> dict:
    return {
        "id": entry.id,
        "membership_id": entry.membership_id,
        "step": entry.step,
        "on": _iso(entry.on),
        "organization_id": entry.organization_id,
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "reason": entry.reason,
        "note": entry.note,
        "at": entry.at.isoformat(timespec="seconds") + "Z",
    }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


# --- the steps ----------------------------------------------------------------------------------------------------


def join(
    session: Session, *, person: Person, organization: Organization, unit: Unit | None = None,
    on: dt.date | None = None, parked: bool = False, actor=None, note: str = "",
) -> Membership:
    """``person`` joins ``organization`` (入会), or re-joins after an earlier membership ended. ``parked``: held
    in a reservoir until the unit forms a union. Refused while the person has a current membership."""
    if current(session, person, lock=True) is not None:
        raise AlreadyAMember()
    _check_holder(organization, RESERVOIR_KINDS if parked else MEMBER_KINDS)
    previous = session.scalars(
        sa.select(Membership).where(Membership.person_id == person.id).order_by(Membership.id.desc()).limit(1)
    ).first()
    if previous is not None and previous.end_reason == "died":
        raise Conflict(f"{person.name} died on {previous.ended_on}", code="deceased",
                       errors={"membership": ["ended: died"]})
    on = _check_on(on, previous.ended_on if previous is not None else None)
    membership = _start(session, person, organization, unit, on, parked=parked)
    _entry(session, membership, "rejoined" if previous is not None else "joined", on, actor, note=note)
    if parked:
        _entry(session, membership, "parked", on, actor, note=note)
    audit.record(session, "membership.join", obj=membership, after=view(membership), actor=actor)
    events.emit(session, events.MembershipStarted(person.id, membership.id, organization.id))
    return membership


def transfer(
    session: Session, *, person: Person, to: Organization, unit: Unit | None = None, on: dt.date | None = None,
    actor=None, note: str = "",
) -> Membership:
    """Move the person's membership to ``to`` (转会): the current one ends (transferred), the next starts with
    ``via_id`` pointing back. One membership before, one after. A retained membership transfers too (a retired or
    unemployed member re-employed at a unit with a union)."""
    old = _require_current(session, person)
    _check_holder(to, MEMBER_KINDS)
    if to.id == old.organization_id and old.status == "active":
        raise InvalidInput(f"{person.name} is a member of {to.name} already",
                           errors={"organization_id": ["the person's current organization"]})
    return _move(session, person, old, to, unit, on, actor, note, reason="transferred",
                 steps=("transferred_out", "transferred_in"), action="membership.transfer")


def move_out(
    session: Session, *, person: Person, to: Organization, on: dt.date | None = None, actor=None, note: str = "",
) -> Membership:
    """A chairman moves a member out of their union without an application (迁出), into the reservoir ``to``
    (the service-centre union committee, ...), where the membership waits, parked."""
    old = _require_current(session, person)
    _check_holder(to, RESERVOIR_KINDS)
    return _move(session, person, old, to, None, on, actor, note, reason="moved_out",
                 steps=("moved_out", "moved_in"), action="membership.move_out", parked=True)


def park(
    session: Session, *, person: Person, to: Organization, unit: Unit | None = None, on: dt.date | None = None,
    actor=None, note: str = "",
) -> Membership:
    """Hold the person's membership in the reservoir ``to`` while their unit has no union (its union was
    dissolved, or they were re-employed at a unit without one). ``unit`` defaults to the current one's."""
    old = _require_current(session, person)
    _check_holder(to, RESERVOIR_KINDS)
    unit_id = unit.id if unit is not None else old.unit_id
    return _move(session, person, old, to, unit_id, on, actor, note, reason="transferred",
                 steps=("transferred_out", "parked"), action="membership.park", parked=True)


def retain(
    session: Session, *, person: Person, because: str, on: dt.date | None = None, keeper: Organization | None = None,
    actor=None, note: str = "",
) -> Membership:
    """Retain the person's membership (保留会籍) on retirement or unemployment (the unit's union keeps it) or on
    the unit's closure or bankruptcy (the upper union keeps it: ``keeper``, by default the parent of the current
    organization). A membership kept elsewhere moves there: the current one ends (transferred) and a retained one
    starts at ``keeper``."""
    if because not in RETAINED_BECAUSE:
        raise InvalidInput(f"no reason {because!r}", errors={"because": [f"one of {', '.join(RETAINED_BECAUSE)}"]})
    old = _require_current(session, person)
    if old.status == "retained":
        raise Conflict(f"{person.name}'s membership is retained already", code="already_retained",
                       errors={"membership": [f"retained ({old.retained_because}) since {old.retained_on}"]})
    here = session.get(Organization, old.organization_id)
    if keeper is None and because == "closure":
        keeper = session.get(Organization, here.parent_id) if here.parent_id is not None else None
        if keeper is None:
            raise InvalidInput("name the union that keeps the membership", errors={"keeper_id": ["required"]})
    if keeper is not None and keeper.id != here.id:
        _check_holder(keeper, None, field="keeper_id")
        membership = _move(session, person, old, keeper, old.unit_id, on, actor, note, reason="transferred",
                           steps=("transferred_out", "retained"), action="membership.retain",
                           retained_because=because)
        events.emit(session, MembershipRetained(person.id, membership.id, because))
        return membership
    on = _check_on(on, old.started_on)
    before = view(old)
    old.status, old.retained_because, old.retained_on = "retained", because, on
    _flush(session)
    _entry(session, old, "retained", on, actor, reason=because, note=note)
    audit.record(session, "membership.retain", obj=old, before=before, after=view(old), actor=actor)
    events.emit(session, MembershipRetained(person.id, old.id, because))
    return old


def end(session: Session, *, person: Person, reason: str, on: dt.date | None = None, actor=None,
        note: str = "") -> Membership:
    """End the person's current membership: retired, left, died, removed, or deemed withdrawn (six months without
    dues or activities, after being spoken to). A person may re-join later, unless they died."""
    if reason not in END_BY_CHOICE:
        raise InvalidInput(f"no reason {reason!r}", errors={"reason": [f"one of {', '.join(END_BY_CHOICE)}"]})
    old = _require_current(session, person)
    on = _check_on(on, old.started_on)
    before = view(old)
    _close(old, on, reason)
    _flush(session)
    _entry(session, old, "ended", on, actor, reason=reason, note=note)
    audit.record(session, "membership.end", obj=old, before=before, after=view(old), actor=actor)
    events.emit(session, events.MembershipEnded(person.id, old.id, reason))
    return old


# --- the parts ----------------------------------------------------------------------------------------------------


def _require_current(session: Session, person: Person) -> Membership:
    membership = current(session, person, lock=True)
    if membership is None:
        raise NotAMember(person)
    return membership


def _check_holder(organization: Organization, kinds, field: str = "organization_id") -> None:
    if organization.status != "active":
        raise InvalidInput(f"{organization.name} is {organization.status}", errors={
            field: [f"{organization.name} is {organization.status}, not active"]})
    if kinds is not None and organization.kind not in kinds:
        raise InvalidInput(f"{organization.name} cannot hold this membership", errors={
            field: [f"a {' or '.join(kinds)}; {organization.name} is a {organization.kind}"]})


def _check_on(on: dt.date | None, not_before: dt.date | None) -> dt.date:
    """The date a step takes effect: today by default, never in the future, never before the last step."""
    today_ = today()
    on = on or today_
    if on > today_:
        raise InvalidInput("a step cannot take effect in the future", errors={"on": [f"after today ({today_})"]})
    if not_before is not None and on < not_before:
        raise InvalidInput("a step cannot take effect before the one before it",
                           errors={"on": [f"before {not_before}, the date of the previous step"]})
    return on


def _move(session: Session, person: Person, old: Membership, to: Organization, unit, on, actor, note: str, *,
          reason: str, steps: tuple[str, str], action: str, parked: bool = False,
          retained_because: str | None = None) -> Membership:
    """End ``old`` with ``reason`` and start the next membership at ``to``, in that order: the partial unique
    index sees one current membership at every moment."""
    on = _check_on(on, old.started_on)
    before = view(old)
    _close(old, on, reason)
    _flush(session)
    new = _start(session, person, to, unit, on, parked=parked, via=old, retained_because=retained_because)
    _entry(session, old, steps[0], on, actor, reason=reason, note=note)
    _entry(session, new, steps[1], on, actor, reason=retained_because or "", note=note)
    audit.record(session, action, obj=new, before=before, after=view(new), actor=actor)
    events.emit(session, events.MembershipTransferred(person.id, old.id, new.id))
    return new


def _close(membership: Membership, on: dt.date, reason: str) -> None:
    membership.status, membership.ended_on, membership.end_reason = "ended", on, reason


def _start(session: Session, person: Person, organization: Organization, unit, on: dt.date, *, parked: bool,
           via: Membership | None = None, retained_because: str | None = None) -> Membership:
    unit_id = unit.id if isinstance(unit, Unit) else unit
    membership = Membership(
        person_id=person.id,
        organization_id=organization.id,
        unit_id=unit_id,
        status="retained" if retained_because else "active",
        parked=parked,
        started_on=on,
        retained_because=retained_because,
        retained_on=on if retained_because else None,
        via_id=via.id if via is not None else None,
    )
    session.add(membership)
    _flush(session)
    return membership


def _entry(session: Session, membership: Membership, step: str, on: dt.date, actor, *, reason: str = "",
           note: str = "") -> MembershipEntry:
    actor_id, actor_label = _actor(actor)
    entry = MembershipEntry(
        person_id=membership.person_id,
        membership_id=membership.id,
        step=step,
        on=on,
        organization_id=membership.organization_id,
        actor_id=actor_id,
        actor=actor_label,
        reason=reason,
        note=(note or "")[:200],
    )
    session.add(entry)
    return entry


def _actor(actor) -> tuple[int | None, str]:
    if actor is None or isinstance(actor, str):
        return None, actor or "system"
    return getattr(actor, "id", None), getattr(actor, "username", str(actor))


def _flush(session: Session) -> None:
    """Flush; what a concurrent step left behind surfaces here as a domain error, not a 500."""
    try:
        session.flush()
    except StaleDataError:
        raise PreconditionFailed("someone changed this membership at the same time; read it again",
                                 errors={"If-Match": ["stale"]}) from None
    except IntegrityError as error:
        text = str(error.orig)
        if "uq_membership_current" in text or "membership.tenant_id, membership.person_id" in text:
            raise AlreadyAMember() from None
        raise
