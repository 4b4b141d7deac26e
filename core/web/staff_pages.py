"""Staff pages (desktop first). The dashboard: what the signed-in staff member's part of the union tree holds,
and the widgets the tenant's enabled plugins add (``dashboard_widgets``)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import g

from core.app import db_session, runtime
from core.auth import has_permission, require, scope_filter
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.unit import Unit
from core.web import core_pages, render_page, staff  # noqa: F401  (staff: the routes of the other staff pages)
from core.web.auth_pages import signed_in_page
from core.web.staff.common import visible_units


@dataclass(frozen=True)
class Counts:
    """What the dashboard's figures say, all inside the caller's subtrees."""

    organizations: int
    grassroots_unions: int
    units: int
    units_without_union: int
    members: int
    parked_members: int


def counts(session, user) -> Counts:
    organizations_in_scope = scope_filter(user, "organizations.read", Organization.path)
    organizations = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Organization.kind == "grassroots_union"))
        .where(Organization.status == "active", organizations_in_scope)
    ).one()
    units = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(sa.not_(Unit.has_union)))
        .where(visible_units(session, user, "units.read"))
    ).one() if has_permission(user, "units.read") else (0, 0)
    members = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Membership.parked))
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.status == "active", organizations_in_scope)
    ).one()
    return Counts(organizations[0], organizations[1], units[0], units[1], members[0], members[1])


def widgets(session, tenant, user) -> list:
    hooks = runtime().plugins.tenant_hooks(session, tenant)
    found = [w for batch in hooks.dashboard_widgets(tenant=tenant, user=user) for w in batch or ()]
    mine = [w for w in found if w.permission is None or has_permission(user, w.permission)]
    return sorted(mine, key=lambda w: (w.order, w.title))


@core_pages.get("/dashboard")
@signed_in_page
@require("organizations.read")
def dashboard():
    session = db_session()
    return render_page("core/dashboard.html", counts=counts(session, g.user), widgets=widgets(session, g.tenant, g.user))
