"""The staff dashboard (工作台): what the signed-in staff member's part of the union tree holds, three charts of
it, and the widgets the tenant's enabled plugins add (``dashboard_widgets``).

Everything counts inside the caller's subtrees only (``core.auth.scope``), and each chart is one query:

- members by organization: the branches of the caller's area (the children of their root; the roots themselves
  when they hold several; the organizations under the city federation for the whole tenant), the ten biggest
  and the rest together;
- joins by month: ``joined`` and ``rejoined`` steps of the membership ledger in the last twelve months (a
  transfer is not a join);
- the data-quality counts (``core.registry.quality``), every check the caller may run, in one statement.

The charts are drawn as inline SVG by the template (no script, nothing from another host), each with a table
that says the same in words.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from core.app import db_session, runtime
from core.auth import WHOLE_TENANT, has_permission, require, scope_filter, scope_paths
from core.auth.scope import subtree_filter
from core.id_numbers import today
from core.models.membership import Membership, MembershipEntry
from core.models.organization import Organization
from core.models.unit import Unit
from core.registry import quality, units
from core.registry.imports import Scope
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page
from core.web.staff.common import visible_units

PERMISSION = "organizations.read"
#: Branches the organization chart names; the others are added up in one bar.
TOP = 10
MONTHS = 12
#: A bar's label longer than this is shortened (the full name is in the table and the bar's tooltip), so a chart
#: stays readable 360 px wide.
LABEL_LENGTH = 18


@dataclass(frozen=True)
class Counts:
    """What the dashboard's figures say, all inside the caller's subtrees."""

    organizations: int
    grassroots_unions: int
    units: int
    units_without_union: int
    members: int
    parked_members: int


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    #: Where the bar leads (a data-quality list), if anywhere.
    href: str | None = None
    key: str = ""
    #: What the chart writes by the bar, when not the label (shortened).
    axis: str = ""

    @property
    def short(self) -> str:
        if self.axis:
            return self.axis
        return self.label if len(self.label) <= LABEL_LENGTH else self.label[: LABEL_LENGTH - 1] + "…"


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    #: The heading of the table's first column.
    label_heading: str
    bars: list[Bar]

    @property
    def top(self) -> int:
        return max((bar.value for bar in self.bars), default=0) or 1

    def share(self, bar: Bar) -> float:
        """The bar's length, in per cent of the longest."""
        return round(100 * bar.value / self.top, 1)

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)

    @property
    def summary(self) -> str:
        """The whole chart in one sentence, for a screen reader."""
        return f"{self.title}：" + "；".join(f"{bar.label} {bar.value:,}" for bar in self.bars)


def counts(session, user) -> Counts:
    organizations_in_scope = scope_filter(user, PERMISSION, Organization.path)
    organizations = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Organization.kind == "grassroots_union"))
        .where(Organization.status == "active", organizations_in_scope)
    ).one()
    found_units = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(sa.not_(Unit.has_union)))
        .where(visible_units(session, user, "units.read"))
    ).one() if has_permission(user, "units.read") else (0, 0)
    members = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Membership.parked))
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.status == "active", organizations_in_scope)
    ).one()
    return Counts(organizations[0], organizations[1], found_units[0], found_units[1], members[0], members[1])


def _id_of(path: str) -> int:
    """The organization a path ends at: ``/1/7/42/`` -> 42."""
    return int(path.rstrip("/").rsplit("/", 1)[-1])


def members_by_organization(session, user) -> Chart:
    """Active members per branch of the caller's area, the ``TOP`` biggest and the rest: one query."""
    roots = scope_paths(user, PERMISSION)
    branch = aliased(Organization)
    if roots == WHOLE_TENANT:
        branches = branch.depth == 1
    elif len(roots) == 1:
        branches = branch.parent_id == _id_of(roots[0])
    else:
        branches = branch.path.in_(roots)
    # A member sits in the branch whose subtree holds their organization; one directly at the root has none.
    rows = session.execute(
        sa.select(branch.name, sa.func.count())
        .select_from(Membership)
        .join(Organization, Organization.id == Membership.organization_id)
        .outerjoin(branch, sa.and_(branches, Organization.path >= branch.path, Organization.path < branch.path + "~"))
        .where(Membership.status == "active", subtree_filter(Organization.path, roots))
        .group_by(branch.id, branch.name)
        .order_by(sa.func.count().desc(), branch.name)
    ).all()
    named = [Bar(name, n) for name, n in rows if name is not None]
    own = sum(n for name, n in rows if name is None)
    bars = named[:TOP]
    rest = sum(bar.value for bar in named[TOP:])
    if rest:
        bars.append(Bar(_("All other organizations"), rest, key="others"))
    if own:
        bars.append(Bar(_("Directly at the top of your area"), own, key="own"))
    return Chart("organizations", _("Members by organization"), _("Organization"), bars)


def _month_starts(day: dt.date) -> list[dt.date]:
    """The first days of the ``MONTHS`` months up to the one of ``day``, oldest first."""
    starts = []
    year, month = day.year, day.month
    for _n in range(MONTHS):
        starts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def joins_by_month(session, user) -> Chart:
    """People who joined (or joined again) an organization of the caller's area, per month of the last
    ``MONTHS`` (Beijing dates, as the ledger keeps them): one query."""
    starts = _month_starts(today())
    year, month = sa.extract("year", MembershipEntry.on), sa.extract("month", MembershipEntry.on)
    rows = session.execute(
        sa.select(year, month, sa.func.count())
        .join(Organization, Organization.id == MembershipEntry.organization_id)
        .where(MembershipEntry.step.in_(("joined", "rejoined")), MembershipEntry.on >= starts[0],
               scope_filter(user, PERMISSION, Organization.path))
        .group_by(year, month)
    ).all()
    found = {(int(y), int(m)): n for y, m, n in rows}
    bars = [Bar(start.strftime("%Y-%m"), found.get((start.year, start.month), 0), key=start.strftime("%Y-%m"),
                axis=format_date(start, "LLL")) for start in starts]  # "11月", "Nov"
    return Chart("months", _("New members by month"), _("Month"), bars)


def quality_counts(session, user) -> Chart | None:
    """Every data-quality check the caller may run, counted in their subtrees, in one statement (a count per
    check, as ``quality.count`` runs it); None when they may run none."""
    checks = []
    for check in quality.CHECKS.values():
        roots = scope_paths(user, quality.read_permission(check))
        if roots:
            areas = units.federation_areas(session, roots) if check.area == "units" else ()
            checks.append((check, Scope(tuple(roots), areas)))
    if not checks:
        return None
    counted = [
        sa.select(sa.func.count()).select_from((check.counted or check.statement)(session, scope).order_by(None)
                                               .subquery()).scalar_subquery()
        for check, scope in checks
    ]
    values = session.execute(sa.select(*counted)).one()
    bars = [Bar(check.title, value, href=url_for("core_pages.quality_list", name=check.name), key=check.name)
            for (check, _scope), value in zip(checks, values)]
    return Chart("quality", _("Records to fix"), _("Check"), bars)


def charts(session, user) -> list[Chart]:
    found = [members_by_organization(session, user), joins_by_month(session, user), quality_counts(session, user)]
    return [chart for chart in found if chart is not None]


def widgets(session, tenant, user) -> list:
    hooks = runtime().plugins.tenant_hooks(session, tenant)
    found = [w for batch in hooks.dashboard_widgets(tenant=tenant, user=user) for w in batch or ()]
    mine = [w for w in found if w.permission is None or has_permission(user, w.permission)]
    return sorted(mine, key=lambda w: (w.order, w.title))


@core_pages.get("/dashboard")
@signed_in_page
@require(PERMISSION)
def dashboard():
    session = db_session()
    return render_page("core/dashboard.html", counts=counts(session, g.user), charts=charts(session, g.user),
                       widgets=widgets(session, g.tenant, g.user))
