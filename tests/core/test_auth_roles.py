"""Users and roles: a role acts on its organization's subtree and nothing else; nobody grants more than they hold."""
from __future__ import annotations

import sqlalchemy as sa

from core import tenancy
from core.auth import in_scope, scope_filter, scope_paths
from core.models.audit import AuditRecord
from core.models.organization import Organization
from tests.core.test_auth_kit import audit_actions, staff, token_for, tree  # noqa: F401


def as_user(app, db, api, tree, user):
    return api(tree.tenant, token_for(app, db, tree.tenant, user))


def test_a_federation_admin_of_yiling_grants_a_chairman_role_in_their_county_but_not_in_xiling(
    tree, staff, app, db, api
):
    zhou = staff(tree.tenant, "zhou", ("federation_admin", tree.yiling))
    as_zhou = as_user(app, db, api, tree, zhou)
    created = as_zhou.post("/api/v1/users", json={
        "username": "wang", "display_name": "王主席", "phone": "13800001234",
        "grants": [{"role": "member", "organization_id": tree.yiling_union.id}],
    })
    assert created.status_code == 201, created.json
    wang = created.json["id"]

    in_county = as_zhou.post(f"/api/v1/users/{wang}/grants",
                             json={"role": "chairman", "organization_id": tree.yiling_union.id})
    in_xiling = as_zhou.post(f"/api/v1/users/{wang}/grants",
                             json={"role": "chairman", "organization_id": tree.xiling_union.id})

    assert in_county.status_code == 201
    assert in_county.json == {"id": in_county.json["id"], "role": "chairman", "organization_id": tree.yiling_union.id,
                              "organization_name": "宜昌某某物流有限公司工会委员会"}
    assert in_xiling.status_code == 404 and in_xiling.json["errors"] == {"organization_id": ["not found"]}
    roles = [(g["role"], g["organization_id"]) for g in as_zhou.get(f"/api/v1/users/{wang}").json["grants"]]
    assert roles == [("member", tree.yiling_union.id), ("chairman", tree.yiling_union.id)]
    assert audit_actions(db, tree.tenant, actor="zhou") == ["role.grant", "user.create", "role.grant"]


def test_nobody_grants_a_role_stronger_than_their_own(tree, staff, app, db, api):
    zhou = staff(tree.tenant, "zhou", ("federation_admin", tree.yiling))
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    as_zhou, as_wang = as_user(app, db, api, tree, zhou), as_user(app, db, api, tree, wang)

    tenant_admin = as_zhou.post(f"/api/v1/users/{wang.id}/grants", json={"role": "tenant_admin"})
    above = as_zhou.post(f"/api/v1/users/{wang.id}/grants",
                         json={"role": "federation_admin", "organization_id": tree.city.id})
    chairman_makes_admin = as_wang.post(f"/api/v1/users/{wang.id}/grants",
                                        json={"role": "federation_admin", "organization_id": tree.yiling.id})
    chairman_adds_operator = as_wang.post("/api/v1/users", json={
        "username": "li", "grants": [{"role": "operator", "organization_id": tree.yiling_union.id}]})

    assert tenant_admin.status_code == 403
    assert above.status_code == 404, "the city federation is outside 夷陵区"
    assert chairman_makes_admin.status_code == 404, "夷陵区总工会 is above the chairman's union"
    assert chairman_adds_operator.status_code == 201


def test_a_role_is_held_only_where_it_belongs(tree, staff, app, db, api):
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    wang = staff(tree.tenant, "wang", ("member", tree.yiling_union))
    as_admin = as_user(app, db, api, tree, admin)

    def grant(role, organization):
        body = {"role": role, "organization_id": organization.id if organization is not None else None}
        return as_admin.post(f"/api/v1/users/{wang.id}/grants", json=body)

    assert grant("federation_admin", tree.yiling_union).status_code == 422
    assert grant("chairman", tree.yiling).status_code == 422
    assert grant("tenant_admin", tree.city).status_code == 422
    assert grant("chairman", None).status_code == 422
    assert grant("federation_admin", tree.yiling).status_code == 201
    assert grant("operator", tree.yiling_union).status_code == 201
    assert grant("operator", tree.yiling_union).status_code == 409


def test_a_federation_admin_sees_the_users_holding_roles_in_their_subtree_only(tree, staff, app, db, api):
    zhou = staff(tree.tenant, "zhou", ("federation_admin", tree.yiling))
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    li = staff(tree.tenant, "li", ("chairman", tree.xiling_union))
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    as_zhou = as_user(app, db, api, tree, zhou)

    names = [u["username"] for u in as_zhou.get("/api/v1/users").json]

    assert names == ["wang", "zhou"]
    assert as_zhou.get(f"/api/v1/users/{li.id}").status_code == 404
    assert as_zhou.get(f"/api/v1/users/{admin.id}").status_code == 404
    everyone = [u["username"] for u in as_user(app, db, api, tree, admin).get("/api/v1/users").json]
    assert everyone == ["admin", "li", "wang", "zhou"]


def test_a_user_holding_roles_in_two_counties_shows_each_admin_only_their_own(tree, staff, app, db, api):
    zhou = staff(tree.tenant, "zhou", ("federation_admin", tree.yiling))
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union), ("member", tree.xiling_union))
    as_zhou = as_user(app, db, api, tree, zhou)

    (wang,) = as_zhou.get("/api/v1/users?role=chairman").json

    assert [g["organization_name"] for g in wang["grants"]] == ["宜昌某某物流有限公司工会委员会"]


def test_a_federation_admin_may_not_change_someone_who_holds_a_role_above_them(tree, staff, app, db, api):
    zhou = staff(tree.tenant, "zhou", ("federation_admin", tree.yiling))
    boss = staff(tree.tenant, "boss", ("tenant_admin", None), ("member", tree.yiling_union))
    as_zhou = as_user(app, db, api, tree, zhou)
    etag = as_zhou.get(f"/api/v1/users/{boss.id}").headers["ETag"]

    response = as_zhou.patch(f"/api/v1/users/{boss.id}", json={"active": False}, headers={"If-Match": etag})

    assert response.status_code == 403
    grant_id = as_zhou.get(f"/api/v1/users/{boss.id}").json["grants"][0]["id"]
    assert as_zhou.delete(f"/api/v1/users/{boss.id}/grants/{grant_id}").status_code == 204, (
        "the member role in 夷陵区 is theirs to take away"
    )


def test_an_update_needs_the_etag_it_read_and_moves_it(tree, staff, app, db, api):
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    as_admin = as_user(app, db, api, tree, admin)
    etag = as_admin.get(f"/api/v1/users/{wang.id}").headers["ETag"]

    missing = as_admin.patch(f"/api/v1/users/{wang.id}", json={"display_name": "王主席"})
    first = as_admin.patch(f"/api/v1/users/{wang.id}", json={"display_name": "王主席"}, headers={"If-Match": etag})
    stale = as_admin.patch(f"/api/v1/users/{wang.id}", json={"display_name": "王"}, headers={"If-Match": etag})

    assert missing.status_code == 428 and stale.status_code == 412
    assert first.status_code == 200 and first.headers["ETag"] != etag
    assert as_admin.get(f"/api/v1/users/{wang.id}").json["display_name"] == "王主席"
    as_admin.post(f"/api/v1/users/{wang.id}/grants", json={"role": "member", "organization_id": tree.yiling_union.id})
    assert as_admin.get(f"/api/v1/users/{wang.id}").headers["ETag"] != first.headers["ETag"], "a new role moves it"


def test_a_phone_is_kept_encrypted_shown_masked_and_unique_in_its_tenant(tree, staff, app, db, api, make_tenant,
                                                                        make_user):
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    as_admin = as_user(app, db, api, tree, admin)
    body = {"username": "wang", "phone": "+86 138-0000-1234",
            "grants": [{"role": "chairman", "organization_id": tree.yiling_union.id}]}

    created = as_admin.post("/api/v1/users", json=body)
    taken = as_admin.post("/api/v1/users", json=body | {"username": "wang2"})
    found = as_admin.get("/api/v1/users?phone=13800001234").json

    assert created.json["phone"] == "138****1234"
    assert taken.status_code == 409 and taken.json["errors"] == {"phone": ["taken"]}
    assert [u["username"] for u in found] == ["wang"]
    with db() as session:
        stored = session.execute(sa.text("SELECT phone, phone_index FROM user_account WHERE username = 'wang'")).one()
    assert "13800001234" not in stored.phone and "13800001234" not in stored.phone_index
    changzhou = make_tenant("changzhou", name="常州市总工会")
    _other, other_token = make_user(changzhou, roles=["tenant_admin"])
    elsewhere = api(changzhou, other_token).post("/api/v1/users", json={"username": "wang", "phone": "13800001234"})
    assert elsewhere.status_code == 201, "another tenant's registry is its own"


def test_a_tenant_keeps_at_least_one_active_tenant_admin(tree, staff, app, db, api):
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    as_admin = as_user(app, db, api, tree, admin)
    me = as_admin.get(f"/api/v1/users/{admin.id}")
    grant_id = me.json["grants"][0]["id"]

    revoke = as_admin.delete(f"/api/v1/users/{admin.id}/grants/{grant_id}")
    deactivate = as_admin.patch(f"/api/v1/users/{admin.id}", json={"active": False},
                                headers={"If-Match": me.headers["ETag"]})

    assert revoke.status_code == deactivate.status_code == 409
    assert revoke.json["code"] == "last_tenant_admin"


def test_user_changes_are_audited_with_the_phone_masked(tree, staff, app, db, api):
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    as_admin = as_user(app, db, api, tree, admin)
    created = as_admin.post("/api/v1/users", json={
        "username": "wang", "phone": "13800001234", "password": "first-secret-1",
        "grants": [{"role": "chairman", "organization_id": tree.yiling_union.id}]})
    wang = created.json["id"]
    grant_id = created.json["grants"][0]["id"]
    as_admin.patch(f"/api/v1/users/{wang}", json={"password": "reset-secret-2"},
                   headers={"If-Match": created.headers["ETag"]})
    as_admin.delete(f"/api/v1/users/{wang}/grants/{grant_id}")

    with db() as session, tenancy.tenant_scope(tree.tenant):
        records = session.scalars(sa.select(AuditRecord).where(AuditRecord.actor == "admin")
                                  .order_by(AuditRecord.seq)).all()
    assert [r.action for r in records] == ["role.grant", "user.create", "user.update", "role.revoke"]
    text = repr([(r.before, r.after) for r in records])
    assert "138****1234" in text and "13800001234" not in text and "secret" not in text


def test_a_weak_password_or_a_bad_name_is_refused_with_the_field_named(tree, staff, app, db, api):
    as_admin = as_user(app, db, api, tree, staff(tree.tenant, "admin", ("tenant_admin", None)))

    response = as_admin.post("/api/v1/users", json={"username": "a b", "password": "12345678"})

    assert response.status_code == 422
    assert set(response.json["errors"]) == {"username"}
    weak = as_admin.post("/api/v1/users", json={"username": "wang", "password": "12345678"})
    assert weak.status_code == 422 and weak.json["errors"]["password"]


def test_members_and_outsiders_cannot_read_users(tree, staff, app, db, api):
    member = staff(tree.tenant, "worker", ("member", tree.yiling_union))

    assert as_user(app, db, api, tree, member).get("/api/v1/users").status_code == 403
    assert api(tree.tenant).get("/api/v1/users").status_code == 401
    assert as_user(app, db, api, tree, member).get("/api/v1/users/me").json["username"] == "worker"


def test_the_scope_check_asks_the_database_nothing_once_the_caller_is_known(tree, staff, app, db):
    zhou = staff(tree.tenant, "zhou", ("federation_admin", tree.yiling), ("chairman", tree.xiling_union))
    statements = []
    engine = app.extensions["gonghui"].db.engine

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with app.test_request_context(), db() as session, tenancy.tenant_scope(tree.tenant):
            caller = session.get(type(zhou), zhou.id)  # what every request does to know who is calling
            statements.clear()
            answers = [in_scope(caller, "organizations.read", tree.yiling_union.path) for _ in range(1000)]
            roots = scope_paths(caller, "organizations.manage")
            in_xiling = in_scope(caller, "organizations.read", tree.xiling_union.path)
            not_city = in_scope(caller, "organizations.read", tree.city.path)
            asked = list(statements)
            found = session.scalars(sa.select(Organization.name).where(
                scope_filter(caller, "organizations.manage", Organization.path)).order_by(Organization.path)).all()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)

    assert all(answers) and in_xiling and not not_city
    assert asked == [], "the grants came with the caller, each with its organization's path"
    assert roots == (tree.yiling.path,)
    assert found == ["夷陵区总工会", "宜昌某某物流有限公司工会委员会"]
