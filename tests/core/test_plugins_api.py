"""Tenant admins turn plugins on and off for their tenant; platform admins do it for any tenant."""
import pytest
import sqlalchemy as sa

from core import tenancy
from core.models.audit import AuditRecord
from core.models.tenant import Tenant, TenantPlugin


def test_a_tenant_admin_lists_enables_configures_and_disables_a_plugin(api, make_tenant, make_user):
    tenant = make_tenant("yichang")
    _user, token = make_user(tenant, roles=["tenant_admin"])
    client = api(tenant, token)

    listed = {p["name"]: p for p in client.get("/api/v1/plugins").json}
    assert listed["testplugin"]["enabled"] is False
    assert listed["testplugin"]["settings_schema"]["greeting"]["default"] == "你好"

    enabled = client.post("/api/v1/plugins/testplugin/enable", json={"settings": {"api_key": {"$env": "TP_KEY"}}})
    assert enabled.status_code == 200
    assert enabled.json["settings"] == {"greeting": "你好", "api_key": {"$env": "TP_KEY"}}
    assert api(tenant).get("/api/v1/testplugin/hello").status_code == 200

    etag = enabled.headers["ETag"]
    configured = client.put("/api/v1/plugins/testplugin/settings", json={"settings": {"greeting": "您好"}}, headers={"If-Match": etag})
    assert configured.json["settings"] == {"greeting": "您好"}
    stale = client.put("/api/v1/plugins/testplugin/settings", json={"settings": {}}, headers={"If-Match": etag})
    assert stale.status_code == 412

    assert client.post("/api/v1/plugins/testplugin/disable").json["enabled"] is False
    assert api(tenant).get("/api/v1/testplugin/hello").status_code == 404


def test_a_secret_in_plugin_settings_must_be_a_reference_never_a_value(api, make_tenant, make_user):
    tenant = make_tenant("yichang")
    _user, token = make_user(tenant, roles=["tenant_admin"])

    response = api(tenant, token).post("/api/v1/plugins/testplugin/enable", json={"settings": {"api_key": "s3cret"}})

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["settings.api_key"]


def test_an_unknown_plugin_is_404_and_a_member_may_not_manage_plugins(api, make_tenant, make_user):
    tenant = make_tenant("yichang")
    _admin, admin_token = make_user(tenant, roles=["tenant_admin"])
    _member, member_token = make_user(tenant, roles=["member"])

    assert api(tenant, admin_token).post("/api/v1/plugins/nosuch/enable", json={}).status_code == 404
    assert api(tenant, member_token).get("/api/v1/plugins").status_code == 403
    assert api(tenant).get("/api/v1/plugins").status_code == 401


def test_a_platform_admin_manages_plugins_of_any_tenant(platform_api, make_tenant, api):
    tenant = make_tenant("yichang")

    assert platform_api.post("/api/v1/tenants/yichang/plugins/testplugin/enable", json={}).status_code == 200
    assert api(tenant).get("/api/v1/testplugin/hello").status_code == 200
    states = {p["name"]: p["enabled"] for p in platform_api.get("/api/v1/tenants/yichang/plugins").json}
    assert states["testplugin"] is True


def test_enabling_and_disabling_are_audited_in_the_tenants_trail(api, make_tenant, make_user, db):
    tenant = make_tenant("yichang")
    user, token = make_user(tenant, roles=["tenant_admin"])
    client = api(tenant, token)
    client.post("/api/v1/plugins/testplugin/enable", json={})
    client.post("/api/v1/plugins/testplugin/disable")

    with db() as session, tenancy.tenant_scope(tenant):
        records = session.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)).all()
    assert [(r.action, r.actor_id) for r in records] == [("plugin.enable", user.id), ("plugin.disable", user.id)]
    assert records[1].before["enabled"] is True and records[1].after["enabled"] is False
    assert records[1].prev_hash == records[0].hash


def test_enabling_a_plugin_again_restores_the_settings_it_had(api, make_tenant, make_user):
    tenant = make_tenant("yichang")
    _user, token = make_user(tenant, roles=["tenant_admin"])
    client = api(tenant, token)
    client.post("/api/v1/plugins/testplugin/enable", json={"settings": {"greeting": "您好"}})
    client.post("/api/v1/plugins/testplugin/disable")

    again = client.post("/api/v1/plugins/testplugin/enable", json={})

    assert again.json["settings"]["greeting"] == "您好"


def test_a_body_that_is_not_json_is_refused_as_a_whole(api, make_tenant, make_user):
    tenant = make_tenant("yichang")
    _user, token = make_user(tenant, roles=["tenant_admin"])

    response = api(tenant, token).post(
        "/api/v1/plugins/testplugin/enable", data="{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400 or response.status_code == 422
    assert list(response.json["errors"]) == ["body"]


def _greeting(app, db, tenant_id):
    with db() as session:
        with tenancy.platform_scope("test: read the tenant"):
            tenant = session.get(Tenant, tenant_id)
        with tenancy.tenant_scope(tenant):
            return app.extensions["gonghui"].plugins.settings_of(session, tenant, "testplugin").get("greeting")


def test_a_settings_change_made_by_another_server_process_is_read_by_the_next_request(app, db, make_tenant):
    # Settings are kept per process by the tenant's plugins_version; another process's change moves it.
    tenant = make_tenant("yichang", plugins=["testplugin"], settings={"testplugin": {"greeting": "您好"}})
    assert _greeting(app, db, tenant.id) == "您好"

    with app.extensions["gonghui"].db.engine.begin() as other_process:
        other_process.execute(sa.update(TenantPlugin).where(TenantPlugin.tenant_id == tenant.id)
                              .values(settings={"greeting": "早上好"}))
        other_process.execute(sa.update(Tenant).where(Tenant.id == tenant.id)
                              .values(plugins_version=Tenant.plugins_version + 1))

    assert _greeting(app, db, tenant.id) == "早上好"


def test_a_settings_change_that_was_rolled_back_is_never_read(app, db, make_tenant):
    tenant = make_tenant("yichang", plugins=["testplugin"], settings={"testplugin": {"greeting": "您好"}})
    plugins = app.extensions["gonghui"].plugins
    with pytest.raises(RuntimeError), db() as session, tenancy.tenant_scope(session.merge(tenant)) as scoped:
        plugins.configure(session, scoped, "testplugin", {"greeting": "不算数"}, actor=None)
        assert plugins.settings_of(session, scoped, "testplugin")["greeting"] == "不算数"
        raise RuntimeError("the request failed after configuring")

    assert _greeting(app, db, tenant.id) == "您好"
    with db() as session, tenancy.tenant_scope(session.merge(tenant)) as scoped:  # the same version, committed
        plugins.configure(session, scoped, "testplugin", {"greeting": "早安"}, actor=None)
    assert _greeting(app, db, tenant.id) == "早安"


def test_changing_the_settings_a_caller_was_given_changes_nothing_stored(app, db, make_tenant):
    tenant = make_tenant("yichang", plugins=["testplugin"], settings={"testplugin": {"greeting": "您好"}})
    with db() as session, tenancy.tenant_scope(session.merge(tenant)) as scoped:
        app.extensions["gonghui"].plugins.settings_of(session, scoped, "testplugin")["greeting"] = "改了"
    assert _greeting(app, db, tenant.id) == "您好"
