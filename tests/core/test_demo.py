"""`gonghui demo`: two cities with realistic data and one login per role, the same on every run."""
from __future__ import annotations

import random

import sqlalchemy as sa
from stdnum.cn import uscc

from core import demo, demo_data, id_numbers, tenancy
from core.models.membership import Membership, MembershipEntry
from core.models.organization import Organization
from core.models.person import Person
from core.models.region import Region
from core.models.tenant import Tenant
from core.models.unit import Unit
from core.models.user import User


def test_the_demo_loads_both_cities_with_valid_numbers_and_a_login_per_role(app, db, tmp_path):
    state = app.extensions["gonghui"]
    with app.app_context():
        logins = demo.load(state, tmp_path)

    with db() as session:
        with tenancy.platform_scope("test: read the demo tenants"):
            tenants = {t.slug: t for t in session.scalars(sa.select(Tenant))}
        for slug, city in (("yichang", "4205"), ("changzhou", "3204")):
            with tenancy.tenant_scope(tenants[slug]):
                units = session.scalars(sa.select(Unit)).all()
                people = session.scalars(sa.select(Person)).all()
                members = session.scalars(sa.select(Membership).where(Membership.status == "active")).all()
                organizations = session.scalar(sa.select(sa.func.count()).select_from(Organization))
                counties = set(session.scalars(sa.select(Region.code).where(Region.level == "county")))

                assert len(units) == demo_data.UNITS and organizations == demo_data.ORGANIZATIONS
                assert all(uscc.is_valid(u.credit_code) and u.credit_code[2:6] == city for u in units)
                assert len({u.credit_code for u in units}) == len(units)
                assert len(people) == demo_data.PEOPLE
                assert all(id_numbers.parse(p.id_number).region_code in counties for p in people)
                assert 0.8 * len(people) < len(members) < 0.9 * len(people), "most people are members"
                assert any(m.parked for m in members) and sum(u.has_union for u in units) > 100
                assert session.scalar(sa.select(sa.func.count()).select_from(MembershipEntry)) >= len(members)
                member = session.scalar(sa.select(User).where(User.username == f"{slug}-member"))
                assert member.person_id is not None and member.phone is not None

    roles = {(login.tenant, login.role) for login in logins}
    for slug in ("yichang", "changzhou"):
        assert {role for tenant, role in roles if tenant == slug} == {
            "tenant_admin", "federation_admin", "chairman", "operator", "member"}

    with app.app_context():
        again = demo.load(state, tmp_path)
    assert [(l.username, l.password) for l in again] == [(l.username, l.password) for l in logins]
    with db() as session, tenancy.tenant_scope(tenants["yichang"]):
        assert session.scalar(sa.select(sa.func.count()).select_from(Unit)) == demo_data.UNITS, "nothing twice"


def test_the_demo_data_is_the_same_on_every_machine():
    def first_units(seed):
        rng = random.Random(seed)
        city = Region(name="宜昌市", code="420500", level="city", path="/1/")
        county = Region(name="夷陵区", code="420506", level="county", path="/1/2/")
        street = demo_data.Street(Region(id=3, name="夷陵区小溪塔街道", code="420506001", level="street", path="/1/2/3/"),
                                  county, "小溪塔")
        return [demo_data._unit(rng, city, street, n) for n in range(5)]

    assert first_units("gonghui-demo-yichang") == first_units("gonghui-demo-yichang")
    assert demo_data.credit_code_for("420506", 0) == demo_data.credit_code_for("420506", 0)
    assert uscc.is_valid(demo_data.credit_code_for("420506", 1999))
