"""Linking a user's account to their own person in the registry (``POST /api/v1/users/<id>/person``): by ID
number, a person of the caller's area, one account per person, on record."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core import tenancy
from core.id_numbers import check_character
from core.models.user import User
from core.registry import memberships, people
from tests.core.test_auth_kit import audit_actions, staff, token_for, tree  # noqa: F401

YILING_ID = "42050619850612001" + check_character("42050619850612001")
XILING_ID = "42050219900301002" + check_character("42050219900301002")
NOBODY_ID = "42050619700101003" + check_character("42050619700101003")


def _people(db, tree) -> None:
    """陈 a member in 夷陵区, 刘 a member in 西陵区."""
    with db() as session, tenancy.tenant_scope(tree.tenant):
        chen = people.create(session, id_number=YILING_ID, name="陈会员")
        memberships.join(session, person=chen, organization=tree.yiling_union, on=dt.date(2020, 3, 1))
        liu = people.create(session, id_number=XILING_ID, name="刘会员")
        memberships.join(session, person=liu, organization=tree.xiling_union, on=dt.date(2021, 7, 1))


def _person_of(db, tree, user_id: int) -> int | None:
    with db() as session, tenancy.tenant_scope(tree.tenant):
        return session.scalar(sa.select(User.person_id).where(User.id == user_id))


def test_a_county_admin_links_a_member_account_to_its_person_once(tree, staff, app, db, api):
    _people(db, tree)
    zhou = staff(tree.tenant, "zhou", ("federation_admin", tree.yiling))
    chen = staff(tree.tenant, "chen", ("member", tree.yiling_union))
    twin = staff(tree.tenant, "chen2", ("member", tree.yiling_union))
    as_zhou = api(tree.tenant, token_for(app, db, tree.tenant, zhou))

    linked = as_zhou.post(f"/api/v1/users/{chen.id}/person", json={"id_number": YILING_ID.lower()})
    assert linked.status_code == 200, linked.json
    assert linked.json == {"user_id": chen.id, "person_id": _person_of(db, tree, chen.id)}
    assert audit_actions(db, tree.tenant, actor="zhou")[-1] == "user.link_person"

    again = as_zhou.post(f"/api/v1/users/{twin.id}/person", json={"id_number": YILING_ID})
    assert again.status_code == 409 and _person_of(db, tree, twin.id) is None


def test_no_such_person_outside_the_area_and_a_bad_number_name_the_field(tree, staff, app, db, api):
    _people(db, tree)
    zhou = staff(tree.tenant, "zhou", ("federation_admin", tree.yiling))
    chen = staff(tree.tenant, "chen", ("member", tree.yiling_union))
    as_zhou = api(tree.tenant, token_for(app, db, tree.tenant, zhou))

    nobody = as_zhou.post(f"/api/v1/users/{chen.id}/person", json={"id_number": NOBODY_ID})
    in_xiling = as_zhou.post(f"/api/v1/users/{chen.id}/person", json={"id_number": XILING_ID})
    bad = as_zhou.post(f"/api/v1/users/{chen.id}/person", json={"id_number": "12345"})
    missing = as_zhou.post(f"/api/v1/users/{chen.id}/person", json={})

    assert nobody.status_code == 404 and nobody.json["errors"] == {"id_number": ["not registered"]}
    assert in_xiling.status_code == 404 and in_xiling.json == nobody.json, "a person outside says nothing more"
    assert bad.status_code == 422 and "id_number" in bad.json["errors"]
    assert missing.status_code == 422 and "id_number" in str(missing.json["errors"])
    assert _person_of(db, tree, chen.id) is None


def test_a_user_of_another_county_is_not_found_and_a_chairman_cannot_change_an_admin(tree, staff, app, db, api):
    _people(db, tree)
    wu = staff(tree.tenant, "wu", ("federation_admin", tree.xiling))
    chen = staff(tree.tenant, "chen", ("member", tree.yiling_union))
    boss = staff(tree.tenant, "boss", ("federation_admin", tree.yiling))
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))

    as_wu = api(tree.tenant, token_for(app, db, tree.tenant, wu))
    assert as_wu.post(f"/api/v1/users/{chen.id}/person", json={"id_number": YILING_ID}).status_code == 404
    as_wang = api(tree.tenant, token_for(app, db, tree.tenant, wang))
    assert as_wang.post(f"/api/v1/users/{boss.id}/person", json={"id_number": YILING_ID}).status_code == 404
    assert _person_of(db, tree, chen.id) is None and _person_of(db, tree, boss.id) is None
