"""The dashboard's charts (members by organization, new members by month, records to fix), which count the
caller's subtree only, and the plugin settings page of a tenant admin."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from core import id_numbers, tenancy
from core.auth import accounts
from core.models.audit import AuditRecord
from core.models.organization import Organization
from core.models.tenant import TenantPlugin
from core.registry import memberships, organizations, people
from tests.pages.kit import PASSWORD, SETUP_ACTOR, PageClient, sign_in
from tests.testplugin import plugin as testplugin

pytestmark = pytest.mark.plugins("sms_console", testplugin)


def id_number(n: int) -> str:
    first17 = f"42050619910303{101 + 2 * n:03d}"
    return first17 + id_numbers.check_character(first17)


@pytest.fixture
def yichang(cities, db):
    """宜昌: 夷陵区 with 王主席's union (three members: one joined this month, two long ago) and 西陵区 with a
    union of two members who joined this month; 周 is the federation admin of 夷陵区, 陈 the tenant admin."""
    this_month = id_numbers.today().replace(day=1)
    with db() as session, tenancy.tenant_scope(cities.yichang):
        union = session.scalar(sa.select(Organization).where(Organization.kind == "grassroots_union"))
        yiling = session.get(Organization, union.parent_id)
        city = session.get(Organization, yiling.parent_id)
        xiling = organizations.create(session, name="西陵区总工会", kind="county_federation", parent=city)
        other = organizations.create(session, name="西陵某某超市有限公司工会委员会", kind="grassroots_union", parent=xiling)
        joined = [("孙一", union, this_month), ("孙二", union, dt.date(2020, 3, 1)), ("孙三", union, dt.date(2021, 5, 1)),
                  ("周四", other, this_month), ("周五", other, this_month)]
        for n, (name, organization, on) in enumerate(joined):
            person = people.create(session, id_number=id_number(n), name=name, actor="test")
            memberships.join(session, person=person, organization=organization, on=on, actor="test")
        accounts.create_user(session, actor=SETUP_ACTOR, username="zhou", display_name="周主任", password=PASSWORD,
                             grants=[{"role": "federation_admin", "organization_id": yiling.id}])
        accounts.create_user(session, actor=SETUP_ACTOR, username="chen", display_name="陈管理员", password=PASSWORD,
                             grants=[{"role": "tenant_admin", "organization_id": None}])
    return cities.yichang


def chart(page: str, key: str) -> dict[str, int]:
    """A chart's table: label (or key) -> number."""
    section = re.search(rf'data-chart="{key}".*?</article>', page, re.S).group(0)
    rows = re.findall(r'<tr data-row="([^"]+)">.*?<td class="number">([\d,]+)</td>', section, re.S)
    return {label: int(number.replace(",", "")) for label, number in rows}


def this_month() -> str:
    return id_numbers.today().strftime("%Y-%m")


# --- the dashboard ------------------------------------------------------------------------------------------------


def test_a_tenant_admin_sees_members_by_county_and_every_join_of_the_last_twelve_months(app, yichang):
    page = PageClient(app, yichang, "chen").get("/dashboard").get_data(as_text=True)

    assert chart(page, "organizations") == {"夷陵区总工会": 3, "西陵区总工会": 2}
    months = chart(page, "months")
    assert len(months) == 12 and months[this_month()] == 3 and sum(months.values()) == 3
    assert chart(page, "quality")["members_without_phone"] == 5
    assert page.count("<svg") == 3 and 'role="img"' in page and "aria-label=\"新入会人数（按月）：" in page


def test_a_federation_admin_sees_only_their_county(app, yichang):
    page = PageClient(app, yichang, "zhou").get("/dashboard").get_data(as_text=True)

    assert chart(page, "organizations") == {"宜昌某某物流有限公司工会委员会": 3}
    assert sum(chart(page, "months").values()) == 1
    assert chart(page, "quality")["members_without_phone"] == 3
    assert "西陵区总工会" not in page and "周四" not in page


def test_a_chairman_sees_their_union_as_a_whole_and_only_the_checks_they_may_run(app, yichang):
    page = PageClient(app, yichang, "wang").get("/dashboard").get_data(as_text=True)

    assert chart(page, "organizations") == {"own": 3}
    assert sum(chart(page, "months").values()) == 1
    quality = chart(page, "quality")
    assert quality["members_without_phone"] == 3
    assert 'href="/t/yichang/quality/members_without_phone"' in page


def test_the_ten_biggest_branches_are_named_and_the_rest_added_up(app, cities, db):
    with db() as session, tenancy.tenant_scope(cities.yichang):
        county = session.scalar(sa.select(Organization).where(Organization.kind == "county_federation"))
        for n in range(12):
            union = organizations.create(session, name=f"第{n:02d}工会", kind="grassroots_union", parent=county)
            for k in range(n + 1 if n < 11 else 1):
                person = people.create(session, id_number=id_number(100 + n * 12 + k), name=f"会员{n}-{k}", actor="test")
                memberships.join(session, person=person, organization=union, actor="test")
        accounts.create_user(session, actor=SETUP_ACTOR, username="zhou", password=PASSWORD,
                             grants=[{"role": "federation_admin", "organization_id": county.id}])

    bars = chart(PageClient(app, cities.yichang, "zhou").get("/dashboard").get_data(as_text=True), "organizations")

    assert list(bars)[:2] == ["第10工会", "第09工会"] and len(bars) == 11
    assert bars["others"] == 2  # 第00 and 第11, one member each (王主席's union has none: no bar)
    assert sum(bars.values()) == sum(range(1, 12)) + 1


def test_the_dashboard_draws_its_charts_at_360_px(yichang, server, phone_page, shoot):
    page = phone_page
    page.goto(server.url(yichang, "/login?next=/dashboard"))
    sign_in(page, "chen")

    assert page.locator("[data-chart=organizations] svg [data-bar]").count() == 2
    assert page.locator("[data-chart=months] svg [data-bar]").count() == 12
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    page.get_by_text("以表格显示").first.click()
    shoot(page, "dashboard-charts-phone")


# --- plugin settings ----------------------------------------------------------------------------------------------


def test_only_a_tenant_admin_may_open_the_plugin_settings(app, yichang):
    assert PageClient(app, yichang, "zhou").get("/settings/plugins").status_code == 403
    admin = PageClient(app, yichang, "chen")
    page = admin.get("/settings/plugins").get_data(as_text=True)
    assert 'data-plugin="testplugin"' in page and 'data-plugin="sms_console"' in page
    assert re.search(r'data-plugin="sms_console">.*?已启用', page, re.S)
    assert 'href="/t/yichang/settings/plugins"' in admin.get("/dashboard").get_data(as_text=True)


def test_a_tenant_admin_turns_a_plugin_on_with_settings_and_a_wrong_one_is_named(app, db, yichang):
    admin = PageClient(app, yichang, "chen")

    refused = admin.post("/settings/plugins/testplugin", data={"setting-greeting": "您好", "setting-api_key": "not a name!"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'id="setting-api_key-error"' in body and 'value="您好"' in body
    assert re.search(r'<label for="setting-greeting">问候语', body)  # the schema's label, not the field's name
    with db() as session, tenancy.tenant_scope(yichang):
        assert session.scalar(sa.select(TenantPlugin).where(TenantPlugin.plugin == "testplugin")) is None

    saved = admin.post("/settings/plugins/testplugin", data={"setting-greeting": "您好", "setting-api_key": "TEST_KEY"})
    assert saved.status_code == 303
    page = admin.get("/settings/plugins/testplugin").get_data(as_text=True)
    assert "$env:TEST_KEY" in page and 'value="TEST_KEY"' in page
    with db() as session, tenancy.tenant_scope(yichang):
        row = session.scalar(sa.select(TenantPlugin).where(TenantPlugin.plugin == "testplugin"))
        assert row.enabled and row.settings == {"greeting": "您好", "api_key": {"$env": "TEST_KEY"}}
        assert session.scalar(sa.select(AuditRecord.action).where(AuditRecord.object_type == "tenant_plugin")
                              .order_by(AuditRecord.id.desc())) == "plugin.enable"


def test_a_tenant_admin_changes_the_settings_then_turns_the_plugin_off_and_on_again(app, db, yichang):
    admin = PageClient(app, yichang, "chen")
    admin.post("/settings/plugins/testplugin", data={"setting-greeting": "您好"})
    version = re.search(r'name="version" value="(\d+)"',
                        admin.get("/settings/plugins/testplugin").get_data(as_text=True)).group(1)

    assert admin.post("/settings/plugins/testplugin",
                      data={"version": version, "setting-greeting": "早上好"}).status_code == 303
    stale = admin.post("/settings/plugins/testplugin", data={"version": version, "setting-greeting": "晚上好"})
    assert stale.status_code == 409 and 'value="晚上好"' in stale.get_data(as_text=True)

    assert admin.post("/settings/plugins/testplugin/disable").status_code == 303
    assert re.search(r'data-plugin="testplugin">.*?未启用',
                     admin.get("/settings/plugins").get_data(as_text=True), re.S)
    assert admin.post("/settings/plugins/testplugin/enable").status_code == 303
    with db() as session, tenancy.tenant_scope(yichang):
        row = session.scalar(sa.select(TenantPlugin).where(TenantPlugin.plugin == "testplugin"))
        assert row.enabled and row.settings["greeting"] == "早上好"


def test_a_form_without_the_csrf_token_changes_nothing(app, db, yichang):
    admin = PageClient(app, yichang, "chen")
    answer = admin.client.post("/t/yichang/settings/plugins/testplugin", data={"setting-greeting": "您好"})
    assert answer.status_code == 403
    with db() as session, tenancy.tenant_scope(yichang):
        assert session.scalar(sa.select(TenantPlugin).where(TenantPlugin.plugin == "testplugin")) is None


def test_an_unknown_plugin_is_not_found(app, yichang):
    assert PageClient(app, yichang, "chen").get("/settings/plugins/no_such_plugin").status_code == 404


def test_a_tenant_admin_sets_up_a_plugin_at_a_desk(yichang, server, page, shoot):
    page.goto(server.url(yichang, "/login?next=/dashboard"))
    sign_in(page, "chen")
    shoot(page, "dashboard-charts-desktop")
    page.get_by_role("link", name="插件", exact=True).click()
    shoot(page, "plugin-settings-desktop")

    page.get_by_role("link", name="测试插件").click()
    page.get_by_label("api_key").fill("not a name!")
    page.get_by_role("button", name="按以上设置启用").click()
    assert page.get_by_label("api_key").get_attribute("aria-invalid") == "true"
    assert page.locator("#setting-api_key-error").is_visible()
    shoot(page, "plugin-settings-refused")

    page.get_by_label("api_key").fill("TESTPLUGIN_KEY")
    page.get_by_role("button", name="按以上设置启用").click()
    assert page.get_by_role("status").inner_text() == "“测试插件”已启用。"
    assert page.locator("dd code").filter(has_text="$env:TESTPLUGIN_KEY").count() == 1


def test_every_control_of_the_dashboard_and_the_plugin_pages_has_a_label(app, yichang):
    admin = PageClient(app, yichang, "chen")
    for path in ("/dashboard", "/settings/plugins", "/settings/plugins/testplugin", "/settings/plugins/sms_console"):
        page = admin.get(path).get_data(as_text=True)
        labelled = set(re.findall(r'<label[^>]* for="([^"]+)"', page))
        controls = [m for m in re.findall(r"<(?:input|select|textarea)\b([^>]*)>", page) if 'type="hidden"' not in m]
        ids = [re.search(r'\bid="([^"]+)"', c) for c in controls]
        assert all(i and i.group(1) in labelled for i in ids), (path, controls)
        assert all(b.strip() for b in re.findall(r"<button[^>]*>([^<]*)</button>", page)), path
