"""Demo applications for ``gonghui demo``: some at every step, so each queue, colour and chart shows rows.

They are filed with the plugin's own functions, around the demo's chairman's union and county (the demo accounts
``<slug>-chairman`` and ``<slug>-county``), for demo people who are not members yet.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from cities.yichang import applications
from cities.yichang.models import Application
from core.toolkit import Membership, Organization, Person, Region, Unit, User, id_numbers

ACTOR = "demo"


def load(session, tenant) -> int:
    """File the demo applications once; returns how many were filed (0 when the tenant has some already)."""
    if session.scalar(sa.select(Application.id).limit(1)) is not None:
        return 0
    chairman = session.scalar(sa.select(User).where(User.username == f"{tenant.slug}-chairman"))
    if chairman is None or not chairman.grants:
        return 0
    union = session.get(Organization, chairman.grants[0].organization_id)
    county = session.scalars(sa.select(Organization).where(
        Organization.kind == "county_federation", Organization.id.in_(_ancestor_ids(union)))).first()
    with_union = session.scalars(sa.select(Unit).where(Unit.organization_id == union.id).limit(1)).first()
    without = session.scalars(sa.select(Unit).where(Unit.has_union.is_(False), Unit.region_path.startswith(
        _county_region_path(session, county))).order_by(Unit.id).limit(3)).all()
    if with_union is None or county is None or not without:
        return 0
    workers = iter(_not_yet_members(session, 16))
    today = id_numbers.today()
    filed = 0

    def file(unit, *, steps=(), days_ago=0, **form):
        nonlocal filed
        person = next(workers, None)
        if person is None:
            return
        application = applications.submit(session, tenant, person=person, unit=unit, actor=ACTOR,
                                          on=today - dt.timedelta(days=days_ago), **form)
        for step, kwargs in steps:
            step(session, tenant, application, actor=ACTOR, **kwargs)
        filed += 1

    dispatched = (applications.dispatch, {"to": county})
    for unit in (with_union, without[0], without[1]):
        file(unit)                                                               # white: waiting for the city admin
    file(with_union, steps=[dispatched], days_ago=6)                             # white and overdue at the county
    file(without[2], steps=[dispatched])                                         # white: at the county
    verified = [dispatched, (applications.verify, {"unit": with_union})]
    for _ in range(3):
        file(with_union, steps=verified)                                         # yellow: the chairman's queue
    file(with_union, steps=verified + [(applications.approve, {})], days_ago=3)  # green
    file(with_union, steps=verified + [(applications.approve, {})], days_ago=2)
    parked = [dispatched, (applications.verify, {"unit": without[0]}), (applications.approve, {})]
    file(without[0], steps=parked, days_ago=4)                                   # green, parked in a reservoir
    file(with_union, steps=verified + [(applications.reject, {"reason": "not_own_unit"})])  # red
    file(with_union, steps=[(applications.reject, {"reason": "not_in_city"})])   # red: the city admin said no
    file(with_union, relation="legal_representative")                            # red: refused on submission
    return filed


def _ancestor_ids(organization: Organization) -> list[int]:
    return [int(part) for part in organization.path.strip("/").split("/") if part]


def _county_region_path(session, county: Organization | None) -> str:
    region = session.get(Region, county.region_id) if county is not None and county.region_id else None
    return region.path if region is not None else "/"


def _not_yet_members(session, n: int) -> list[Person]:
    """Adults of working age with a phone and no membership, oldest records first."""
    someone = sa.exists().where(Membership.person_id == Person.id)
    cutoff = id_numbers.today().replace(year=id_numbers.today().year - 45)
    return list(session.scalars(sa.select(Person).where(~someone, Person.phone.is_not(None),
                                                        Person.birth_date > cutoff).order_by(Person.id).limit(n)))
