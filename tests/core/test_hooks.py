"""Every hook, specified through the mechanism core really uses (``tests/testplugin`` implements them all).

Deployment hooks are seen from the application: routes, the OpenAPI document, the permission table, the
scheduler, the ``gonghui`` command, templates. Tenant hooks are called as core calls them,
``tenant_hooks(session, tenant).<hook>(tenant=..., ...)``: a tenant that enabled the test plugin gets its
answer, a tenant that did not gets nothing from it. Each test's name contains its hook's name, which
``tests/core/test_hookdocs.py`` checks.
"""
from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from core import tenancy
from core.cli import main
from core.contributions import (
    DashboardWidget,
    MenuItem,
    MessageTemplate,
    PeriodicJob,
    PrintableForm,
    ScreeningRefusal,
)
from core.errors import InvalidInput
from core.events import MembershipStarted, emit
from core.integrations import CardHolder, CardRequest, SmsMessage
from core.jobs import scheduler_for
from tests.testplugin.plugin import AcceptingIssuer, Note, RecordingGateway, write_note


@pytest.fixture
def on(make_tenant):
    """宜昌 enabled the test plugin."""
    return make_tenant("yichang", plugins=["testplugin"])


@pytest.fixture
def off(make_tenant):
    """常州 did not."""
    return make_tenant("changzhou")


@pytest.fixture
def tenant_hooks(app, db):
    """``with tenant_hooks(tenant) as (session, hooks)``: the tenant's hook callers, in its scope and unit of work."""

    @contextmanager
    def open_(tenant):
        with app.app_context(), db() as session, tenancy.tenant_scope(tenant):
            yield session, app.extensions["gonghui"].plugins.tenant_hooks(session, tenant)

    return open_


def flat(results) -> list:
    """Hooks that return lists answer with one list per plugin."""
    return [item for batch in results for item in batch or ()]


def notes(db, tenant) -> list[str]:
    with db() as session, tenancy.tenant_scope(tenant):
        return list(session.scalars(sa.select(Note.text).order_by(Note.id)))


# --- deployment hooks ------------------------------------------------------------------------------------------


def test_api_blueprints_are_mounted_under_api_v1_plugin_and_described_in_openapi(on, off, api):
    paths = api(None).get("/api/openapi.json").json["paths"]

    assert {"/api/v1/testplugin/hello", "/api/v1/testplugin/notes"} <= set(paths)
    assert api(on).get("/api/v1/testplugin/hello").json == {"hello": "world"}
    missing = api(off).get("/api/v1/testplugin/hello")
    assert (missing.status_code, missing.json["code"]) == (404, "not_found")


def test_page_blueprints_serve_pages_under_the_plugins_name(on, off, api):
    assert 'id="testplugin-page"' in api(on).get("/testplugin/page").text
    assert api(off).get("/testplugin/page").status_code == 404


def test_permissions_are_known_to_core_and_held_by_their_default_roles(app, on, make_user, api):
    assert app.extensions["gonghui"].permissions.roles_by_permission["testplugin.use"] == {"tenant_admin"}
    _admin, admin_token = make_user(on, roles=["tenant_admin"])
    _member, member_token = make_user(on, roles=["member"])

    assert api(on, admin_token).get("/api/v1/testplugin/guarded").json == {"allowed": True}
    assert api(on, member_token).get("/api/v1/testplugin/guarded").status_code == 403
    assert api(on).get("/api/v1/testplugin/guarded").status_code == 401


def test_periodic_jobs_are_run_by_the_scheduler_in_each_tenant_that_enabled_the_plugin(app, on, off, db, jobs):
    scheduler = scheduler_for(app)
    assert ("testplugin", PeriodicJob("testplugin.write_note", write_note, every_seconds=60)) in scheduler.jobs

    sent = scheduler.tick(now=1000.0)
    jobs.drain()

    assert [tenant_id for name, tenant_id in sent if name == "testplugin.write_note"] == [on.id]
    assert notes(db, on) == ["from the scheduler"]
    assert notes(db, off) == []
    assert scheduler.tick(now=1030.0) == [], "not due again before every_seconds have passed"


def test_cli_commands_run_as_gonghui_plugin_command_inside_the_application(app, monkeypatch, tmp_path):
    monkeypatch.setenv("GONGHUI_DATA_DIR", str(tmp_path))  # should the CLI read settings itself, not in the tree

    result = app.test_cli_runner().invoke(main, ["testplugin", "hello"])

    assert result.exit_code == 0, result.output + repr(result.exception)
    assert result.output == "hello from testplugin in gonghui\n"


def test_jinja_filters_are_usable_in_a_tenants_templates(app, on, api):
    assert "testplugin_quote" in app.jinja_env.filters
    assert "「会员服务」" in api(on).get("/testplugin/filtered").text


# --- tenant hooks ----------------------------------------------------------------------------------------------


def test_menu_items_come_only_from_plugins_the_tenant_enabled(on, off, tenant_hooks):
    item = MenuItem(label="测试菜单", endpoint="testplugin_pages.page", order=5)

    with tenant_hooks(on) as (_session, hooks):
        assert item in flat(hooks.menu_items(tenant=on, user=None))
    with tenant_hooks(off) as (_session, hooks):
        assert item not in flat(hooks.menu_items(tenant=off, user=None))


def test_dashboard_widgets_are_given_the_tenant_they_render_for(on, off, tenant_hooks):
    widget = DashboardWidget(title="测试小组件", template="testplugin/widget.html", context={"tenant": "yichang"})

    with tenant_hooks(on) as (_session, hooks):
        assert widget in flat(hooks.dashboard_widgets(tenant=on, user=None))
    with tenant_hooks(off) as (_session, hooks):
        assert [w for w in flat(hooks.dashboard_widgets(tenant=off, user=None)) if w.title == widget.title] == []


def test_printable_forms_render_print_ready_html_for_one_object(on, off, db, tenant_hooks):
    with db() as session, tenancy.tenant_scope(on):
        note = Note(text="王某某的会员登记表")
        session.add(note)
        session.flush()
        note_id = note.id

    with tenant_hooks(on) as (session, hooks):
        forms = {f.key: f for f in flat(hooks.printable_forms(tenant=on))}
        assert isinstance(forms["testplugin.note"], PrintableForm)
        assert forms["testplugin.note"].applies_to == "testplugin_note"
        assert "王某某的会员登记表" in forms["testplugin.note"].render(session, note_id)
    with tenant_hooks(off) as (_session, hooks):
        assert "testplugin.note" not in {f.key for f in flat(hooks.printable_forms(tenant=off))}


def test_importers_write_every_row_or_reject_the_whole_file_with_row_errors(on, off, db, tenant_hooks):
    with tenant_hooks(on) as (session, hooks):
        importer = {i.key: i for i in flat(hooks.importers(tenant=on))}["testplugin.notes"]
        assert importer.columns == ("text",)
        with pytest.raises(InvalidInput) as refused:
            importer.run(session, [{"text": "第一行"}, {"text": ""}], actor=None)
        assert refused.value.errors == {"row 3.text": ["empty"]}, "row 1 is the header of the spreadsheet"
    assert notes(db, on) == []

    with tenant_hooks(on) as (session, hooks):
        importer = {i.key: i for i in flat(hooks.importers(tenant=on))}["testplugin.notes"]
        assert importer.run(session, [{"text": "第一行"}, {"text": "第二行"}], actor=None) == 2
    assert notes(db, on) == ["第一行", "第二行"]

    with tenant_hooks(off) as (_session, hooks):
        assert "testplugin.notes" not in {i.key for i in flat(hooks.importers(tenant=off))}


def test_exporters_yield_rows_under_their_columns_and_only_the_tenants_own(on, off, db, tenant_hooks):
    for tenant, text in ((on, "宜昌的便条"), (off, "常州的便条")):
        with db() as session, tenancy.tenant_scope(tenant):
            session.add(Note(text=text))

    with tenant_hooks(on) as (session, hooks):
        exporter = {e.key: e for e in flat(hooks.exporters(tenant=on))}["testplugin.notes"]
        rows = exporter.rows(session, None)
        assert not isinstance(rows, list), "rows stream"
        assert exporter.columns == ("text",) and list(rows) == [("宜昌的便条",)]
    with tenant_hooks(off) as (_session, hooks):
        assert "testplugin.notes" not in {e.key for e in flat(hooks.exporters(tenant=off))}


def test_demo_data_is_added_once_for_a_tenant_that_enabled_the_plugin(on, off, tenant_hooks):
    from tests.testplugin.plugin import Note

    for _ in range(2):  # gonghui demo may run again on the same database
        with tenant_hooks(on) as (session, hooks):
            hooks.demo_data(tenant=on, session=session)
        with tenant_hooks(off) as (session, hooks):
            hooks.demo_data(tenant=off, session=session)

    with tenant_hooks(on) as (session, _hooks):
        assert session.scalars(sa.select(Note.text)).all() == ["demo note"]
    with tenant_hooks(off) as (session, _hooks):
        assert session.scalars(sa.select(Note.text)).all() == []


def test_screen_application_refusals_are_collected_from_every_enabled_plugin(on, off, tenant_hooks):
    refusal = ScreeningRefusal(rule="testplugin.refuse", message="测试插件拒绝", field="name")

    with tenant_hooks(on) as (session, hooks):
        assert hooks.screen_application(tenant=on, session=session, application={"name": "refuse me"}) == [refusal]
        assert hooks.screen_application(tenant=on, session=session, application={"name": "张三"}) == []
    with tenant_hooks(off) as (session, hooks):
        assert hooks.screen_application(tenant=off, session=session, application={"name": "refuse me"}) == []


def test_reservoir_for_a_unit_without_a_union_is_the_first_answer_of_an_enabled_plugin(on, off, tenant_hooks):
    no_union = SimpleNamespace(region="夷陵区", covering_organization=None)
    with_union = SimpleNamespace(region="夷陵区", covering_organization="某某公司工会")
    person = SimpleNamespace(name="李四")

    with tenant_hooks(on) as (session, hooks):
        assert hooks.reservoir_for(tenant=on, session=session, person=person, unit=no_union) == "夷陵区职工服务中心工会委员会"
        assert hooks.reservoir_for(tenant=on, session=session, person=person, unit=with_union) is None
    with tenant_hooks(off) as (session, hooks):
        assert hooks.reservoir_for(tenant=off, session=session, person=person, unit=no_union) is None


def test_on_event_handlers_write_in_the_transaction_that_emitted_the_event(app, on, off, db):
    event = MembershipStarted(person_id=1, membership_id=2, organization_id=3)

    with app.app_context():
        with db() as session, tenancy.tenant_scope(on):
            emit(session, event)
        with pytest.raises(RuntimeError), db() as session, tenancy.tenant_scope(on):
            emit(session, event)
            raise RuntimeError("the change that caused the event fails")
        with db() as session, tenancy.tenant_scope(off):
            emit(session, event)

    assert notes(db, on) == ["event MembershipStarted"], "the second one rolled back with its transaction"
    assert notes(db, off) == []


def test_sms_gateway_of_the_tenant_accepts_a_message_with_the_outbox_id_as_client_reference(on, off, tenant_hooks):
    message = SmsMessage(phone="13800000000", text="您的入会申请已受理", client_ref="outbox-42")

    with tenant_hooks(on) as (_session, hooks):
        gateway = hooks.sms_gateway(tenant=on)
        assert isinstance(gateway, RecordingGateway)
        result = gateway.send(message)
        assert (result.accepted, result.provider_ref) == (True, "test-outbox-42")
        assert gateway.sent == [message]
    with tenant_hooks(off) as (_session, hooks):
        assert hooks.sms_gateway(tenant=off) is None


def test_card_issuer_of_the_tenant_issues_and_cancels_a_card(on, off, tenant_hooks):
    request = CardRequest(
        holder=CardHolder(name="王五", id_number="420502199001011234", phone="13800000000"),
        organization="宜昌市某某公司工会",
        client_ref="outbox-7",
    )

    with tenant_hooks(on) as (_session, hooks):
        issuer = hooks.card_issuer(tenant=on)
        assert isinstance(issuer, AcceptingIssuer)
        issued = issuer.issue(request)
        assert (issued.accepted, issued.card_ref) == (True, "card-outbox-7")
        assert issuer.cancel(issued.card_ref, "outbox-8").accepted
    with tenant_hooks(off) as (_session, hooks):
        assert hooks.card_issuer(tenant=off) is None


def test_message_templates_are_chinese_texts_with_format_fields(on, off, tenant_hooks):
    with tenant_hooks(on) as (_session, hooks):
        templates = {t.key: t for t in flat(hooks.message_templates(tenant=on))}
        assert isinstance(templates["testplugin.greeting"], MessageTemplate)
        assert templates["testplugin.greeting"].text.format(name="张三") == "张三，你好！"
    with tenant_hooks(off) as (_session, hooks):
        assert "testplugin.greeting" not in {t.key for t in flat(hooks.message_templates(tenant=off))}
