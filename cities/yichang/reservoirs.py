"""Where a membership waits while the worker's unit has no union: the seed's reservoirs (蓄水池, 四(一)1).

- a city-level unit (its region is the city itself) → the city enterprise union committee (市直企业工会委员会);
- a unit of a county, district or county-level city → that county's service-centre union committee
  (职工服务中心工会委员会);
- a flexibly employed worker with no unit, in the urban districts (a setting) → the grid union whose grid or
  street holds the region they picked (网格工会); outside the urban area, or where no grid union covers the place,
  the county's service-centre committee.

A member moved out of their union, or leaving the city, waits in the service-centre committee of their county
(四(二)1–2): ``service_centre_for``.
"""
from __future__ import annotations

import sqlalchemy as sa

from core.toolkit import InvalidInput, Organization, Region

#: Employment forms whose workers the seed calls flexibly employed (灵活就业人员): no fixed employer.
FLEXIBLE_FORMS = ("flexible", "part_time", "truck_driver", "courier", "delivery_rider", "ride_hailing_driver",
                  "online_streamer", "domestic_worker")


def ancestors(session, region: Region | None) -> list[Region]:
    """``region`` and the regions above it, nearest first."""
    if region is None:
        return []
    ids = [int(part) for part in region.path.strip("/").split("/") if part]
    found = {r.id: r for r in session.scalars(sa.select(Region).where(Region.id.in_(ids)))}
    return [found[i] for i in reversed(ids) if i in found]


def county_of(session, region: Region | None) -> Region | None:
    return next((r for r in ancestors(session, region) if r.level == "county"), None)


def _reservoir(session, kind: str, region_ids: list[int]) -> Organization | None:
    """The active reservoir of ``kind`` at the first of ``region_ids`` that has one."""
    if not region_ids:
        return None
    rows = session.scalars(sa.select(Organization).where(
        Organization.kind == kind, Organization.status == "active", Organization.region_id.in_(region_ids))
        .order_by(Organization.id)).all()
    by_region = {}
    for row in rows:
        by_region.setdefault(row.region_id, row)
    return next((by_region[i] for i in region_ids if i in by_region), None)


def city_committee(session) -> Organization | None:
    return session.scalars(sa.select(Organization).where(
        Organization.kind == "city_enterprise_committee", Organization.status == "active")
        .order_by(Organization.id).limit(1)).first()


def service_centre_for(session, region: Region | None) -> Organization | None:
    county = county_of(session, region)
    return _reservoir(session, "service_centre_committee", [county.id]) if county is not None else None


def choose(session, rules, *, unit, region: Region | None, employment_form: str) -> Organization:
    """The reservoir for a worker of ``unit`` (None: no unit) who picked ``region``. Raises ``InvalidInput``
    naming ``organization_id`` when the tenant's tree has no reservoir for the place, so the verifier picks one."""
    place = session.get(Region, unit.region_id) if unit is not None and unit.region_id else region
    chain = ancestors(session, place)
    if unit is None and employment_form in FLEXIBLE_FORMS:
        county = county_of(session, place)
        if county is not None and county.code in rules.urban_districts:
            below_county = [r.id for r in chain if r.level in ("grid", "community", "street")]
            grid = _reservoir(session, "grid_union", below_county)
            if grid is not None:
                return grid
    if place is None or place.level == "city":
        found = city_committee(session)
    else:
        found = service_centre_for(session, place) or city_committee(session)
    if found is None:
        raise InvalidInput("no reservoir union holds members of this place; choose the union",
                           errors={"organization_id": ["本区域没有蓄水池工会，请选择会籍所在组织"]})
    return found
