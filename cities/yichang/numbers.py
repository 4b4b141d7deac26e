"""The numbers of online join and transfer (入会转会统计), for city and county admins.

Plain functions over SQL, each one statement (time to decision adds one calendar read per distinct day). Every
function takes ``roots``: the paths of the subtrees the caller may count (``toolkit.scope_paths(user,
"yichang.numbers")``: ``("/",)`` for a city admin, their county federation's path for a county admin). An
application counts where it is handled now (``handler_path``): a county admin sees what was dispatched to their
county and what went on to the unions below it, not what still waits at the city federation. Reservoir
counts go by the reservoir's place in the tree.

- applications by status, and by the county (县（市、区）) of the unit's region, or of the region the worker
  picked when there is no unit; a city-level unit counts as 市本级;
- time to decision (办结用时) in working days (``toolkit.calendar``) from submission to approval or rejection:
  median and 90th percentile, and how many took 0, 1, 2 … days;
- how many are overdue against the promise today (``applications.overdue``);
- members parked in each reservoir (蓄水池);
- units without a union whose parked members reach 60% of the formation threshold (督促建会人数), biggest first.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from cities.yichang import applications
from cities.yichang.models import OPEN_STATUSES, STATUSES, Application, FormationDrive
from core.toolkit import (
    RESERVOIR_KINDS,
    WHOLE_TENANT,
    Membership,
    Organization,
    Region,
    Unit,
    calendar,
    id_numbers,
    subtree_bounds,
)

PERMISSION = "yichang.numbers"
#: A unit is "near the threshold" from this share of ``formation_threshold`` on.
NEAR_SHARE = 0.6
NEAR_LIMIT = 20
#: What an application's decision is: the chairman's approval or anyone's rejection. Refusals at screening are
#: immediate and withdrawals are the applicant's, so neither says how fast the platform works.
DECIDED = ("approved", "rejected")
#: The time-to-decision chart's last column holds this many working days and more.
DAYS_SHOWN = 6
CITY_LEVEL = "市本级"
NO_PLACE = "未填区域"


@dataclass(frozen=True)
class CountyRow:
    """Applications of one county (or of the city level, or with no place) by status."""

    region_id: int | None
    code: str
    name: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DecisionTimes:
    decided: int
    median_days: float | None
    p90_days: float | None
    #: working days -> how many applications took that long
    by_days: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReservoirRow:
    organization_id: int
    name: str
    kind: str
    parked: int


@dataclass(frozen=True)
class UnitRow:
    unit_id: int
    name: str
    credit_code: str | None
    county: str
    parked: int
    #: the status of the unit's open formation drive, if one is open
    drive_status: str | None


@dataclass(frozen=True)
class Numbers:
    on: dt.date
    since: dt.date | None
    until: dt.date | None
    by_status: dict[str, int]
    by_county: list[CountyRow]
    decision: DecisionTimes
    overdue: int
    reservoirs: list[ReservoirRow]
    threshold: int
    near_at_least: int
    near_threshold: list[UnitRow]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def open(self) -> int:
        return sum(self.by_status.get(status, 0) for status in OPEN_STATUSES)


# --- scope -------------------------------------------------------------------------------------------------------


def within(column, roots) -> sa.ColumnElement:
    """``column`` (a materialised path) inside one of the subtrees at ``roots``: a range scan per root."""
    if WHOLE_TENANT[0] in roots:
        return sa.true()
    if not roots:
        return sa.false()
    return sa.or_(*[sa.and_(column >= low, column < high) for low, high in map(subtree_bounds, roots)])


def _period(since: dt.date | None, until: dt.date | None) -> sa.ColumnElement:
    """Applications submitted in ``[since, until]`` (either end open)."""
    conditions = []
    if since is not None:
        conditions.append(Application.submitted_on >= since)
    if until is not None:
        conditions.append(Application.submitted_on <= until)
    return sa.and_(sa.true(), *conditions)


# --- the numbers -------------------------------------------------------------------------------------------------


def by_status(session, roots, *, since=None, until=None) -> dict[str, int]:
    """Every status, with 0 for those no application is in."""
    found = dict(session.execute(
        sa.select(Application.status, sa.func.count())
        .where(within(Application.handler_path, roots), _period(since, until))
        .group_by(Application.status)).all())
    return {status: found.get(status, 0) for status in STATUSES}


def by_county(session, roots, *, since=None, until=None) -> list[CountyRow]:
    """Applications per county of the unit's region (the picked region without a unit), by status: one query,
    the county found as the ancestor of level ``county`` by path range. Counties in code order, then the city
    level, then applications with no place."""
    place, county = aliased(Region), aliased(Region)
    placed = place.id.is_not(None)  # no bound parameter: PostgreSQL matches it in GROUP BY
    rows = session.execute(
        sa.select(county.id, county.code, county.name, placed, Application.status, sa.func.count())
        .select_from(Application)
        .outerjoin(Unit, Unit.id == Application.unit_id)
        .outerjoin(place, place.id == sa.func.coalesce(Unit.region_id, Application.region_id))
        .outerjoin(county, sa.and_(county.level == "county", place.path >= county.path,
                                   place.path < county.path + "~"))
        .where(within(Application.handler_path, roots), _period(since, until))
        .group_by(county.id, county.code, county.name, placed, Application.status)).all()
    found: dict[tuple, dict[str, int]] = {}
    for county_id, code, name, is_placed, status, n in rows:
        key = (county_id, code or "", name or (CITY_LEVEL if is_placed else NO_PLACE))
        counts = found.setdefault(key, {})
        counts[status] = counts.get(status, 0) + n
    rows = [CountyRow(region_id, code, name, {s: counts.get(s, 0) for s in STATUSES})
            for (region_id, code, name), counts in found.items()]
    last = {CITY_LEVEL: 1, NO_PLACE: 2}
    return sorted(rows, key=lambda row: (0 if row.region_id else last[row.name], row.code))


def decision_times(session, roots, *, since=None, until=None) -> DecisionTimes:
    """Working days from submission to decision, for approved and rejected applications. The database counts
    applications per (submitted, decided) pair; the calendar numbers each distinct day once, so a year of
    applications costs a calendar read per day that occurs, not per application."""
    pairs = session.execute(
        sa.select(Application.submitted_on, Application.decided_on, sa.func.count())
        .where(Application.status.in_(DECIDED), Application.decided_on.is_not(None),
               within(Application.handler_path, roots), _period(since, until))
        .group_by(Application.submitted_on, Application.decided_on)).all()
    index = workday_index(session, {day for pair in pairs for day in pair[:2]})
    by_days: dict[int, int] = {}
    for submitted, decided, n in pairs:
        days = max(index[decided] - index[submitted], 0)
        by_days[days] = by_days.get(days, 0) + n
    return DecisionTimes(sum(by_days.values()), percentile(by_days, 0.5), percentile(by_days, 0.9),
                         dict(sorted(by_days.items())))


def workday_index(session, days) -> dict[dt.date, int]:
    """Each of ``days`` numbered by the working days after the first of them: ``index[b] - index[a]`` is
    ``calendar.workdays_between(session, a, b)``."""
    ordered = sorted(days)
    index: dict[dt.date, int] = {}
    for previous, day in zip([None] + ordered, ordered):
        index[day] = 0 if previous is None else index[previous] + calendar.workdays_between(session, previous, day)
    return index


def percentile(counts: dict[int, int], share: float) -> float | None:
    """The ``share`` quantile of values given as value -> how many, interpolated linearly between the two nearest
    ranks (as ``statistics.quantiles(method="inclusive")``): the median of 1, 2 is 1.5."""
    n = sum(counts.values())
    if n == 0:
        return None
    rank = (n - 1) * share
    low, high = math.floor(rank), math.ceil(rank)

    def value_at(position: int) -> int:
        seen = 0
        for value in sorted(counts):
            seen += counts[value]
            if position < seen:
                return value
        raise AssertionError("rank beyond the counts")

    below, above = value_at(low), value_at(high)
    return round(below + (above - below) * (rank - low), 2)


def overdue(session, roots, *, day: dt.date) -> int:
    """Open applications past their promise on ``day`` (督办), whenever they were submitted."""
    return session.scalar(sa.select(sa.func.count()).select_from(Application)
                          .where(applications.overdue(day), within(Application.handler_path, roots)))


def reservoirs(session, roots) -> list[ReservoirRow]:
    """Members parked in each active reservoir, those with none included; fullest first."""
    parked = sa.func.count(Membership.id)
    rows = session.execute(
        sa.select(Organization.id, Organization.name, Organization.kind, parked)
        .outerjoin(Membership, sa.and_(Membership.organization_id == Organization.id, Membership.status == "active",
                                       Membership.parked.is_(True)))
        .where(Organization.kind.in_(RESERVOIR_KINDS), Organization.status == "active",
               within(Organization.path, roots))
        .group_by(Organization.id, Organization.name, Organization.kind, Organization.path)
        .order_by(parked.desc(), Organization.path)).all()
    return [ReservoirRow(*row) for row in rows]


def near_threshold(session, roots, *, threshold: int, limit: int = NEAR_LIMIT) -> tuple[int, list[UnitRow]]:
    """Units without a union whose members parked in the caller's reservoirs number at least ``NEAR_SHARE`` of
    ``threshold``, most first, at most ``limit``; with the count they start at."""
    at_least = max(1, math.ceil(threshold * NEAR_SHARE))
    county = aliased(Region)
    parked = sa.func.count(Membership.id)
    rows = session.execute(
        sa.select(Unit.id, Unit.name, Unit.credit_code, county.name, parked)
        .select_from(Membership)
        .join(Organization, Organization.id == Membership.organization_id)
        .join(Unit, Unit.id == Membership.unit_id)
        .outerjoin(county, sa.and_(county.level == "county", Unit.region_path >= county.path,
                                   Unit.region_path < county.path + "~"))
        .where(Membership.status == "active", Membership.parked.is_(True), Organization.kind.in_(RESERVOIR_KINDS),
               Unit.has_union.is_(False), within(Organization.path, roots))
        .group_by(Unit.id, Unit.name, Unit.credit_code, county.name)
        .having(parked >= at_least)
        .order_by(parked.desc(), Unit.id).limit(limit)).all()
    drives = dict(session.execute(
        sa.select(FormationDrive.unit_id, FormationDrive.status)
        .where(FormationDrive.unit_id.in_([row[0] for row in rows]),
               FormationDrive.status.not_in(("approved", "closed")))).all()) if rows else {}
    return at_least, [UnitRow(unit_id, name, code, county_name or "", n, drives.get(unit_id))
                      for unit_id, name, code, county_name, n in rows]


def numbers(session, roots, *, threshold: int, day: dt.date | None = None, since: dt.date | None = None,
            until: dt.date | None = None) -> Numbers:
    """Everything the dashboard shows, for the subtrees at ``roots``; ``since``/``until`` narrow the
    applications counted by the day they were submitted (overdue, reservoirs and units are as of ``day``)."""
    day = day or id_numbers.today()
    at_least, units = near_threshold(session, roots, threshold=threshold)
    return Numbers(
        on=day, since=since, until=until,
        by_status=by_status(session, roots, since=since, until=until),
        by_county=by_county(session, roots, since=since, until=until),
        decision=decision_times(session, roots, since=since, until=until),
        overdue=overdue(session, roots, day=day),
        reservoirs=reservoirs(session, roots),
        threshold=threshold, near_at_least=at_least, near_threshold=units,
    )


@dataclass(frozen=True)
class Glance:
    """The dashboard widget's three numbers."""

    open: int
    overdue: int
    approved_this_month: int


def glance(session, roots, *, day: dt.date | None = None) -> Glance:
    """Open, overdue, and approved since the first of ``day``'s month: one statement."""
    day = day or id_numbers.today()
    open_, late, approved = session.execute(
        sa.select(sa.func.count().filter(Application.status.in_(OPEN_STATUSES)),
                  sa.func.count().filter(applications.overdue(day)),
                  sa.func.count().filter(Application.status == "approved",
                                         Application.decided_on >= day.replace(day=1)))
        .where(within(Application.handler_path, roots))).one()
    return Glance(open_, late, approved)
