"""Memberships that move without an application (四(二)1–2) and parked members going home to a new union.

- A chairman moves out a member who left without applying (迁出): the membership waits in the service-centre
  union committee of the member's county, and the member gets an SMS.
- A member who leaves the city is held in the service-centre committee of the county they live in.
- When a unit forms a union, the members parked for it move there in bulk (四(一)1, 督促建会 3): the hourly job
  ``yichang.transfer_parked_members`` finds them, well inside the promised ``parked_transfer_days``.
"""
from __future__ import annotations

import sqlalchemy as sa

from cities.yichang import reservoirs, texts
from core.toolkit import (
    RESERVOIR_KINDS,
    InvalidInput,
    Membership,
    Organization,
    Person,
    Region,
    Unit,
    memberships,
)


def move_out(session, tenant, *, person: Person, actor=None, residence: Region | None = None,
             leaving_city: bool = False) -> Membership:
    """Move ``person`` out of their union into a service-centre committee: of ``residence`` (where a member who
    leaves the city lives), or else of the county of their union or unit."""
    current = memberships.current(session, person, lock=True)
    if current is None:
        raise InvalidInput(f"{person.name} has no membership to move out", errors={"person_id": ["不是会员"]})
    here = session.get(Organization, current.organization_id)
    if leaving_city and residence is None:
        raise InvalidInput("name the county the member lives in", errors={"residence_region_id": ["请选择居住地"]})
    place = residence
    if place is None:
        unit = session.get(Unit, current.unit_id) if current.unit_id else None
        place_id = (unit.region_id if unit is not None and unit.region_id else None) or here.region_id
        place = session.get(Region, place_id) if place_id else None
    keeper = reservoirs.service_centre_for(session, place)
    if keeper is None:
        raise InvalidInput("no service-centre union committee for the member's county",
                           errors={"residence_region_id": ["该县（市、区）没有职工服务中心工会委员会"]})
    note = "leaving the city" if leaving_city else "moved out by the chairman"
    membership = memberships.move_out(session, person=person, to=keeper, actor=actor, note=note)
    texts.send(session, tenant, "yichang.moved_out", phone=person.phone, dedupe_key=f"moved_out:{membership.id}",
               organization=keeper.name, from_organization=here.name)
    return membership


def parked_for(unit_id: int) -> sa.Select:
    """The current parked memberships of ``unit``'s workers, in any reservoir."""
    return (sa.select(Membership).join(Organization, Organization.id == Membership.organization_id)
            .where(Membership.unit_id == unit_id, Membership.status == "active", Membership.parked.is_(True),
                   Organization.kind.in_(RESERVOIR_KINDS)))


def transfer_parked(session, tenant, unit: Unit, *, actor=None) -> int:
    """Move every member parked for ``unit`` into the union that now covers it; returns how many moved."""
    if not (unit.has_union and unit.organization_id):
        return 0
    union = session.get(Organization, unit.organization_id)
    moved = 0
    for parked in session.scalars(parked_for(unit.id).order_by(Membership.id)).all():
        person = session.get(Person, parked.person_id)
        was = session.get(Organization, parked.organization_id)
        membership = memberships.transfer(session, person=person, to=union, unit=unit, actor=actor,
                                          note="the unit formed a union")
        texts.send(session, tenant, "yichang.parked_transferred", phone=person.phone,
                   dedupe_key=f"parked_transferred:{membership.id}", organization=union.name,
                   from_organization=was.name)
        moved += 1
    return moved


def units_with_parked_members_and_a_union() -> sa.Select:
    """Units that formed a union while members are still parked for them: the job's work list."""
    parked_here = sa.exists().where(Membership.unit_id == Unit.id, Membership.status == "active",
                                    Membership.parked.is_(True))
    return sa.select(Unit).where(Unit.has_union.is_(True), Unit.organization_id.is_not(None), parked_here)
