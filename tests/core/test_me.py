"""Who am I, and what do you hold about me: a signed-in user reads their own account, tenant and roles, and a
worker whose account is linked to their person in the registry exports everything held about them."""
from __future__ import annotations

import pytest

from core import tenancy
from core.auth import accounts
from core.errors import Conflict
from core.id_numbers import check_character
from core.models.user import RoleGrant, User
from core.registry import memberships, organizations, people

ID_BODY = "42050619900101123"
ID_NUMBER = ID_BODY + check_character(ID_BODY)


@pytest.fixture
def yichang(make_tenant):
    return make_tenant("yichang", name="宜昌市总工会")


@pytest.fixture
def union(db, yichang):
    with db() as session, tenancy.tenant_scope(yichang):
        city = organizations.create(session, name="宜昌市总工会", kind="city_federation")
        yiling = organizations.create(session, name="夷陵区总工会", kind="county_federation", parent=city)
        return organizations.create(session, name="宜昌某某物流有限公司工会委员会", kind="grassroots_union",
                                    parent=yiling)


@pytest.fixture
def worker(db, yichang, union, make_user):
    """张三, a member of the union, whose account the tenant admin linked to his person in the registry."""
    admin, _ = make_user(yichang, roles=["tenant_admin"], username="admin")
    user, token = make_user(yichang, username="zhangsan")
    with db() as session, tenancy.tenant_scope(yichang):
        session.add(RoleGrant(user_id=user.id, role="member", organization_id=union.id))
        person = people.create(session, id_number=ID_NUMBER, name="张三", phone="13800138000", actor="test")
        memberships.join(session, person=person, organization=union, actor="test")
        accounts.link_person(session, session.get(User, user.id), person,
                             actor=session.get(User, admin.id))
    return user, token, person


def test_a_signed_in_user_sees_who_they_are_their_tenant_and_where_they_hold_which_role(api, yichang, union, worker):
    user, token, person = worker

    me = api(yichang, token).get("/api/v1/me")

    assert me.status_code == 200
    assert (me.json["username"], me.json["person_id"]) == ("zhangsan", person.id)
    assert me.json["tenant"] == {"id": yichang.id, "slug": "yichang", "name": "宜昌市总工会"}
    assert me.json["roles"] == [{"role": "member", "organization_id": union.id, "organization_path": union.path,
                                 "organization_name": "宜昌某某物流有限公司工会委员会", "active": True}]
    assert "audit.read" not in me.json["permissions"]


def test_nobody_signed_in_is_nobody(api, yichang):
    assert api(yichang).get("/api/v1/me").status_code == 401
    assert api(yichang).get("/api/v1/me/export").status_code == 401


def test_a_worker_exports_everything_held_about_them_including_who_read_their_full_id_number(
    api, db, yichang, worker, make_user
):
    _user, token, person = worker
    _county, county_token = make_user(yichang, roles=["tenant_admin"], username="reader")
    assert api(yichang, county_token).get(f"/api/v1/people/{person.id}").status_code == 200

    export = api(yichang, token).get("/api/v1/me/export")

    assert export.status_code == 200
    assert export.json["person"]["id_number"] == ID_NUMBER
    assert export.json["person"]["phone"] == "13800138000"
    assert [m["organization_name"] for m in export.json["memberships"]] == ["宜昌某某物流有限公司工会委员会"]
    assert [r["by"] for r in export.json["id_number_reads"]] == ["zhangsan", "reader"], "this export included"


def test_an_account_linked_to_no_person_is_told_so(api, yichang, make_user):
    _user, token = make_user(yichang, roles=["operator"])

    response = api(yichang, token).get("/api/v1/me/export")

    assert response.status_code == 404
    assert response.json["code"] == "no_linked_person"
    assert "not linked to a person" in response.json["message"]


def test_a_token_limited_to_some_permissions_cannot_export_its_owners_personal_data(api, db, yichang, worker):
    from core.auth import create_token

    user, _token, _person = worker
    with db() as session, tenancy.tenant_scope(yichang):
        _made, scoped = create_token(session, session.get(User, user.id), name="program", scopes=["units.read"])

    assert api(yichang, scoped).get("/api/v1/me/export").status_code == 403


def test_a_person_has_at_most_one_account_in_a_tenant(db, yichang, worker, make_user):
    _user, _token, person = worker
    admin, _ = make_user(yichang, roles=["tenant_admin"])
    other, _ = make_user(yichang)

    with pytest.raises(Conflict), db() as session, tenancy.tenant_scope(yichang):
        accounts.link_person(session, session.get(User, other.id), person, actor=session.get(User, admin.id))


def test_a_platform_admin_on_a_platform_host_belongs_to_no_tenant_and_has_no_person(platform_api):
    me = platform_api.get("/api/v1/me")

    assert me.status_code == 200
    assert (me.json["tenant"], me.json["platform_admin"], me.json["roles"]) == (None, True, [])
    assert platform_api.get("/api/v1/me/export").status_code == 404
