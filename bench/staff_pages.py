"""Server time of the staff pages on the demo data (``gonghui demo``): each page rendered ``--rounds`` times for
the tenant admin, the county admin, the chairman and a member of each demo city, through the application (no network, no browser),
p50 and p95 in milliseconds. The bar (issue 6): under 200 ms per page on PostgreSQL.

    GONGHUI_DATABASE_URL=postgresql+psycopg://.../gonghui_demo gonghui demo --no-serve
    GONGHUI_DATABASE_URL=postgresql+psycopg://.../gonghui_demo python bench/staff_pages.py

It reads the database ``gonghui demo`` filled and adds one API token per user it signs in with (pages accept
them as a browser's session); it changes nothing else, but the ID number reveal is a write: one audit record per
round.
"""
from __future__ import annotations

import argparse
import statistics
import time

import sqlalchemy as sa

from core import tenancy
from core.app import create_app
from core.auth import create_token
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.tenant import Tenant
from core.models.unit import Unit
from core.models.user import User


def _prepare(app, slug: str, role: str) -> tuple[str, dict]:
    """A token of ``<slug>-<role>`` and ids of objects in their area to open."""
    state = app.extensions["gonghui"]
    with app.app_context(), state.db.unit_of_work() as session:
        with tenancy.platform_scope("bench: find the tenant"):
            tenant = session.scalar(sa.select(Tenant).where(Tenant.slug == slug))
        with tenancy.tenant_scope(tenant):
            user = session.scalar(sa.select(User).where(User.username == f"{slug}-{role}"))
            root = user.grants[0].organization_path if user.grants[0].organization_id else "/"
            _token, clear = create_token(session, user, name="bench")
            inside = Organization.path.startswith(root)
            membership = session.scalar(
                sa.select(Membership).join(Organization, Organization.id == Membership.organization_id)
                .where(inside, Organization.kind == "grassroots_union", Membership.status == "active")
                .order_by(Membership.id))
            union = session.get(Organization, membership.organization_id)
            person = session.get(Person, membership.person_id)
            unit = session.scalar(sa.select(Unit).where(Unit.organization_id == union.id).order_by(Unit.id))
            ids = {"organization": union.id, "unit": unit.id if unit else None, "person": person.id,
                   "id_number": person.id_number, "user": user.id, "county": union.parent_id}
    return clear, ids


def pages(role: str, ids: dict) -> list[tuple[str, str, dict]]:
    if role == "member":  # a worker's own pages
        return [("my membership", "/me", {})]
    listed = [
        ("organization tree", "/organizations", {}),
        ("organization tree, a county open", f"/organizations?open={ids['county']}", {}),
        ("organization search", "/organizations?q=工会", {}),
        ("organization detail", f"/organizations/{ids['organization']}", {}),
        ("units, recent", "/units", {}),
        ("units, search 有限", "/units?q=有限&fragment=1", {}),
        ("units, search 物流", "/units?q=物流&fragment=1", {}),
        ("person lookup", "/people", {"method": "POST", "data": {"id_number": ids["id_number"]}}),
        ("person", f"/people/{ids['person']}", {}),
        ("audit trail", "/audit", {}),
        ("audit trail, units", "/audit?action=unit.", {}),
        ("users", "/users", {}),
        ("user", f"/users/{ids['user']}", {}),
        ("tokens", "/tokens", {}),
        ("dashboard", "/dashboard", {}),
        ("data quality", "/quality", {}),
        ("imports", "/imports", {}),
    ]
    if role == "admin":
        listed.append(("plugin settings", "/settings/plugins", {}))
    if ids["unit"]:
        listed += [("unit detail", f"/units/{ids['unit']}", {}), ("unit edit form", f"/units/{ids['unit']}/edit", {})]
    return listed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    arguments = parser.parse_args()
    app = create_app()
    client = app.test_client()
    print(f"{'who':<18} {'page':<36} {'p50 ms':>7} {'p95 ms':>7}")
    worst = 0.0
    for slug in ("yichang", "changzhou"):
        for role in ("admin", "county", "chairman", "member"):
            token, ids = _prepare(app, slug, role)
            headers = {"Authorization": f"Bearer {token}"}
            for name, path, options in pages(role, ids):
                probe = client.open(f"/t/{slug}{path}", method=options.get("method", "GET"),
                                    data=options.get("data"), headers=headers)
                if probe.status_code == 403:  # not this role's page (a chairman has no audit trail)
                    continue
                times = []
                for _round in range(arguments.rounds + 2):
                    start = time.perf_counter()
                    answer = client.open(f"/t/{slug}{path}", method=options.get("method", "GET"),
                                         data=options.get("data"), headers=headers)
                    times.append((time.perf_counter() - start) * 1000)
                    assert answer.status_code in (200, 303), (path, answer.status_code)
                times = sorted(times[2:])  # the first two warm the caches
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                worst = max(worst, p95)
                print(f"{slug + '-' + role:<18} {name:<36} {statistics.median(times):7.1f} {p95:7.1f}")
    print(f"worst p95: {worst:.1f} ms")


if __name__ == "__main__":
    main()
