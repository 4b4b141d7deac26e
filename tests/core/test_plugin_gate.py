"""A plugin a tenant has not enabled does not exist for that tenant, on every channel."""
import sqlalchemy as sa

from core import tenancy
from tests.testplugin.plugin import Note, write_note


def test_a_disabled_plugins_api_and_pages_answer_404_and_an_enabled_ones_answer(make_tenant, api):
    on = make_tenant("yichang", plugins=["testplugin"])
    off = make_tenant("changzhou")

    assert api(on).get("/api/v1/testplugin/hello").json == {"hello": "world"}
    assert api(off).get("/api/v1/testplugin/hello").status_code == 404
    assert api(on).get("/testplugin/page").status_code == 200
    assert api(off).get("/testplugin/page").status_code == 404


def test_a_disabled_plugins_templates_are_not_in_the_tenants_loader(make_tenant, api):
    on = make_tenant("yichang", plugins=["testplugin"])
    off = make_tenant("changzhou")

    assert "testplugin-home" in api(on).get("/").text
    assert "testplugin-home" not in api(off).get("/").text
    assert "欢迎使用" in api(on).get("/").text, "the override extends core's page through the core: prefix"


def test_a_disabled_plugins_menu_items_are_not_shown(make_tenant, api):
    on = make_tenant("yichang", plugins=["testplugin"])
    off = make_tenant("changzhou")

    assert "测试菜单" in api(on).get("/").text
    assert "测试菜单" not in api(off).get("/").text


def test_a_disabled_plugins_hooks_are_not_called(app, make_tenant, db):
    on = make_tenant("yichang", plugins=["testplugin"])
    off = make_tenant("changzhou")
    plugins = app.extensions["gonghui"].plugins

    with db() as session:
        with tenancy.tenant_scope(on):
            refusals = plugins.tenant_hooks(session, on).screen_application(
                tenant=on, session=session, application={"name": "refuse me"}
            )
            assert [r.rule for r in refusals] == ["testplugin.refuse"]
        with tenancy.tenant_scope(off):
            assert plugins.tenant_hooks(session, off).screen_application(
                tenant=off, session=session, application={"name": "refuse me"}
            ) == []


def test_a_queued_job_of_a_plugin_the_tenant_disabled_meanwhile_is_skipped(app, make_tenant, db, jobs):
    tenant = make_tenant("yichang", plugins=["testplugin"])
    plugins = app.extensions["gonghui"].plugins
    with db() as session, tenancy.tenant_scope(tenant):
        plugins.disable(session, tenant, "testplugin", actor="test")

    write_note.send(tenant=tenant, text="after disable")
    jobs.drain()

    with db() as session, tenancy.tenant_scope(tenant):
        assert session.scalars(sa.select(Note.text)).all() == []


def test_a_job_of_an_enabled_plugin_runs_in_its_tenant(make_tenant, api, db, jobs):
    tenant = make_tenant("yichang", plugins=["testplugin"])

    assert api(tenant).post("/api/v1/testplugin/notes").status_code == 202
    jobs.drain()

    with db() as session, tenancy.tenant_scope(tenant):
        assert session.scalars(sa.select(Note.text)).all() == ["from the api"]
        assert session.scalar(sa.select(Note.tenant_id)) == tenant.id


def test_periodic_jobs_are_sent_once_to_each_tenant_that_enabled_the_plugin(app, make_tenant, db, jobs):
    from core.jobs import scheduler_for

    first = make_tenant("yichang", plugins=["testplugin"])
    second = make_tenant("xiangyang", plugins=["testplugin"])
    make_tenant("changzhou")

    sent = scheduler_for(app).tick(now=1000.0)

    assert sorted(t for name, t in sent if name == "testplugin.write_note") == sorted([first.id, second.id])
    assert scheduler_for(app).tick(now=1000.0) != [] and scheduler_for(app).tick(now=1000.0)


def test_enabling_a_plugin_for_one_tenant_changes_nothing_for_another(make_tenant, api, app, db):
    first = make_tenant("yichang")
    second = make_tenant("changzhou")
    assert api(first).get("/api/v1/testplugin/hello").status_code == 404

    with db() as session, tenancy.tenant_scope(first):
        app.extensions["gonghui"].plugins.enable(session, first, "testplugin", {}, actor="test")

    assert api(first).get("/api/v1/testplugin/hello").status_code == 200
    assert api(second).get("/api/v1/testplugin/hello").status_code == 404
    assert "测试菜单" not in api(second).get("/").text
