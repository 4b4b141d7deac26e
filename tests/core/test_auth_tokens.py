"""API tokens: shown once, stored hashed, scoped, expiring, revocable, with their last use visible."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from click.testing import CliRunner

from core import tenancy
from core.auth.tokens import digest
from core.models.user import ApiToken
from tests.core.test_auth_kit import PASSWORD, Browser, audit_actions, staff, token_for, tree  # noqa: F401


def test_a_chairman_makes_a_token_sees_it_once_uses_it_and_revokes_it(tree, staff, app, db, api):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)
    browser.sign_in("wang")

    made = browser.api("POST", "/api/v1/tokens", json={"name": "统计脚本", "expires_in_days": 30})
    clear = made.json["token"]
    used = api(tree.tenant, clear).get("/api/v1/users/me")
    listed = browser.api("GET", "/api/v1/tokens").json
    revoked = browser.api("DELETE", f"/api/v1/tokens/{made.json['id']}")

    assert made.status_code == 201 and clear.startswith("gh_") and made.json["prefix"] == clear[:10]
    assert used.status_code == 200 and used.json["username"] == "wang"
    assert [t["name"] for t in listed] == ["统计脚本"] and "token" not in listed[0]
    assert listed[0]["last_used_at"] and listed[0]["active"]
    lifetime = _parse(listed[0]["expires_at"]) - _parse(listed[0]["created_at"])
    assert dt.timedelta(days=29) < lifetime <= dt.timedelta(days=30)
    assert revoked.status_code == 204
    assert api(tree.tenant, clear).get("/api/v1/users/me").status_code == 401
    assert browser.api("GET", "/api/v1/tokens").json[0]["active"] is False
    with db() as session, tenancy.tenant_scope(tree.tenant):
        assert session.scalar(sa.select(ApiToken.token_hash)) == digest(clear)
    assert {"token.create", "token.revoke"} <= set(audit_actions(db, tree.tenant, actor="wang"))


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def test_a_token_with_scopes_uses_only_those_permissions(tree, staff, app, db, api):
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    reader = api(tree.tenant, token_for(app, db, tree.tenant, admin, scopes=["users.read"]))

    assert reader.get("/api/v1/users").status_code == 200
    assert reader.post("/api/v1/users", json={"username": "wang"}).status_code == 403
    assert reader.get("/api/v1/plugins").status_code == 403
    widened = reader.post("/api/v1/tokens", json={"name": "wider"})
    assert widened.status_code == 422, "a scoped token cannot make a token with more"
    narrower = reader.post("/api/v1/tokens", json={"name": "same", "scopes": ["users.read"]})
    assert narrower.status_code == 201
    beyond = reader.post("/api/v1/tokens", json={"name": "x", "scopes": ["users.manage"]})
    assert beyond.status_code == 422 and beyond.json["errors"] == {"scopes": ["users.manage"]}


def test_a_token_cannot_hold_a_permission_its_user_lacks(tree, staff, app, db, api):
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))

    response = api(tree.tenant, token_for(app, db, tree.tenant, wang)).post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["plugins.manage", "no.such"]})

    assert response.status_code == 422 and response.json["errors"] == {"scopes": ["plugins.manage", "no.such"]}


def test_an_expired_token_is_refused(tree, staff, app, db, api):
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    clear = token_for(app, db, tree.tenant, wang)
    with db() as session, tenancy.tenant_scope(tree.tenant):
        session.execute(sa.update(ApiToken).values(expires_at=dt.datetime(2020, 1, 1)))

    assert api(tree.tenant, clear).get("/api/v1/users/me").status_code == 401


def test_a_tenant_admin_lists_and_revokes_the_tokens_of_a_user_in_their_area(tree, staff, app, db, api):
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    zhou = staff(tree.tenant, "zhou", ("federation_admin", tree.yiling))
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    wangs = token_for(app, db, tree.tenant, wang)
    as_admin, as_zhou = api(tree.tenant, token_for(app, db, tree.tenant, admin)), api(
        tree.tenant, token_for(app, db, tree.tenant, zhou))

    (listed,) = as_admin.get(f"/api/v1/users/{wang.id}/tokens").json
    assert as_zhou.get(f"/api/v1/users/{wang.id}/tokens").status_code == 403
    assert as_zhou.delete(f"/api/v1/tokens/{listed['id']}").status_code == 404
    assert api(tree.tenant, wangs).get("/api/v1/users/me").status_code == 200

    assert as_admin.delete(f"/api/v1/tokens/{listed['id']}").status_code == 204
    assert api(tree.tenant, wangs).get("/api/v1/users/me").status_code == 401


def test_another_tenants_token_id_is_not_found(tree, staff, app, db, api, make_tenant, make_user):
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    token_for(app, db, tree.tenant, wang)
    with db() as session, tenancy.tenant_scope(tree.tenant):
        token_id = session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == wang.id))
    changzhou = make_tenant("changzhou", name="常州市总工会")
    _admin, foreign = make_user(changzhou, roles=["tenant_admin"])

    assert api(changzhou, foreign).delete(f"/api/v1/tokens/{token_id}").status_code == 404
    assert api(changzhou, foreign).get(f"/api/v1/users/{wang.id}/tokens").status_code == 404


def test_a_platform_admin_manages_their_own_tokens_on_a_platform_host(app, api, make_user, tree, staff, db):
    _root, root_token = make_user(None)
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    token_for(app, db, tree.tenant, wang)
    on_platform = api(None, root_token)

    made = on_platform.post("/api/v1/tokens", json={"name": "ops", "expires_in_days": 7})
    ids = [t["id"] for t in on_platform.get("/api/v1/tokens").json]

    assert made.status_code == 201 and made.json["id"] in ids and len(ids) == 2
    assert api(None, made.json["token"]).get("/api/v1/tenants").status_code == 200
    assert api(tree.tenant, made.json["token"]).get("/api/v1/tenant").status_code == 401
    with db() as session, tenancy.tenant_scope(tree.tenant):
        wangs_id = session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == wang.id))
    assert on_platform.delete(f"/api/v1/tokens/{wangs_id}").status_code == 404, "a tenant's token is not here"


def test_gonghui_users_creates_a_tenant_admin_and_a_token_from_the_shell(tmp_path):
    from core.cli import main

    env = {
        "GONGHUI_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "GONGHUI_DATA_DIR": str(tmp_path),
        "GONGHUI_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "GONGHUI_REDIS_URL": None,
        "GONGHUI_PLUGINS": None,
        "GONGHUI_LOG_LEVEL": "WARNING",
    }
    runner = CliRunner()
    for args in (["db", "upgrade"], ["tenants", "create", "yichang", "宜昌市总工会"]):
        assert runner.invoke(main, args, env=env).exit_code == 0

    created = runner.invoke(main, ["users", "create", "admin", "--tenant", "yichang", "--role", "tenant_admin",
                                   "--phone", "13800001234"], input=f"{PASSWORD}\n{PASSWORD}\n", env=env)
    token = runner.invoke(main, ["users", "create-token", "admin", "--tenant", "yichang", "--days", "7"], env=env)
    bad_role = runner.invoke(main, ["users", "create", "xu", "--tenant", "yichang", "--role", "chairman",
                                    "--password", ""], env=env)
    root = runner.invoke(main, ["users", "create", "root", "--platform", "--password", PASSWORD], env=env)

    assert created.exit_code == 0, created.output
    assert token.exit_code == 0 and token.output.strip().startswith("gh_")
    assert bad_role.exit_code != 0 and "organization_id: required" in bad_role.output
    assert root.exit_code == 0, root.output
