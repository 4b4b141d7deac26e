"""Memberships that move, end to end in Chromium (宜工办〔2016〕22号 四(二)): a member transfers to another union on
a phone inside WeChat (360 px), a chairman moves a member out, a member leaving the city is held where they live,
and a member of a union outside the city who asks to transfer in joins. Staff work at a desk (1280 px); each SMS
is read at the tenant's gateway (sms_console), each result on the pages the people concerned open.

The rules behind each step are tested with the service functions, the API and Flask's test client in
tests/cities/yichang/; here, only that the pages carry them."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from cities.yichang.models import Application
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.unit import Unit
from core.registry import memberships
from tests.cities.yichang.conftest import worker_account, yichang  # noqa: F401  (the fixture)
from tests.pages.kit import sign_in
from tests.pages.test_yichang_flows import (  # noqa: F401  (logistics: a fixture)
    CHAIRMAN,
    COUNTY,
    PASSWORD,
    WECHAT,
    desk,
    logistics,
    menu,
    open_application,
    sign_in_on_phone,
)

pytestmark = [pytest.mark.browser, pytest.mark.plugins("sms_console", "yichang")]

LOGISTICS_UNION = "宜昌某某物流有限公司工会委员会"
#: A union of 西陵区 in the demo tree, under 学院街道总工会: another county than 夷陵区's admin's.
SOFTWARE_UNION = "宜昌示例软件有限公司工会委员会"
YILING_CENTRE = "夷陵区职工服务中心工会委员会"
XILING_CENTRE = "西陵区职工服务中心工会委员会"


def member_of(city, union_name: str, *, name: str, unit=None, username: str | None = None):
    """A person who is a member of ``union_name`` (at ``unit``), with an account of their own if ``username``."""
    person = city.person(name)
    city.run(lambda s: memberships.join(
        s, person=s.get(Person, person.id), unit=s.get(Unit, unit.id) if unit is not None else None,
        organization=s.scalars(sa.select(Organization).where(Organization.name == union_name)).one()))
    if username:
        worker_account(city, person, username)
    return person


def where_is(city, person) -> list[tuple[str, bool]]:
    """The person's memberships that are not ended, as (union, parked): the registry's one truth."""
    return city.run(lambda s: [tuple(row) for row in s.execute(
        sa.select(Organization.name, Membership.parked).join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.person_id == person.id, Membership.status != "ended"))])


def test_a_member_transfers_on_a_phone_and_the_membership_moves_to_the_new_union(
        yichang, logistics, server, browser, phone_page, shoot):
    tenant, page = yichang.tenant, phone_page
    worker = member_of(yichang, SOFTWARE_UNION, name="陈转会", username="chenzh")
    page.set_extra_http_headers({"User-Agent": WECHAT})
    sign_in_on_phone(page, server, tenant, "chenzh", "/me")

    menu(page, "入会转会")
    assert page.get_by_role("heading", level=1).inner_text() == "我要转会"
    assert SOFTWARE_UNION in page.get_by_label("申请人（自动绑定）").inner_text()
    assert page.get_by_text("从外地转入").count() == 0, "a member here transfers; no question of coming from outside"
    page.get_by_label("所属区域").select_option(label="小溪塔街道")
    page.get_by_label("现单位名称").fill("某某物流")
    page.get_by_role("radio", name=re.compile("宜昌某某物流有限公司")).check()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing wider than the phone"
    shoot(page, "yichang-transfer-phone")
    page.get_by_role("button", name="提交申请").click()

    assert "您的转会申请已提交" in page.get_by_test_id("acknowledgement").inner_text()
    application = yichang.get(Application, person_id=worker.id)
    assert (application.kind, application.channel) == ("transfer", "mobile")
    assert yichang.sms_to(worker.phone)[-1].startswith("您好！您的转会申请已提交")

    city = desk(browser, server, tenant, "city", "/yichang/applications?kind=transfer")
    open_application(city, application.id)
    assert city.get_by_role("heading", level=1).inner_text().startswith("转会申请 · 陈转会")
    assert SOFTWARE_UNION in city.locator("dl.facts").first.inner_text()  # 原工会
    city.get_by_role("button", name="分派", exact=True).click()
    assert "已分派给夷陵区总工会" in city.get_by_role("status").inner_text()
    assert yichang.sms_to(COUNTY)[-1].startswith("【任务提醒】宜昌市总工会分派给您一件转会申请")
    city.context.close()

    county = desk(browser, server, tenant, "yiling", f"/yichang/applications/{application.id}")
    assert LOGISTICS_UNION in county.get_by_test_id("union-facts").inner_text()
    county.get_by_label("另选工会（输入工会名称中的关键字）").fill("软件")
    county.get_by_role("button", name="查询工会").click()
    assert "没有名称含“软件”的基层工会或蓄水池工会" in county.locator("#verify").inner_text(), \
        "the union of another county is not offered to 夷陵区's admin"
    county.get_by_role("button", name="提交保存").click()
    assert f"申请已转{LOGISTICS_UNION}审批" in county.get_by_role("status").inner_text()
    assert yichang.sms_to(CHAIRMAN)[-1].startswith(f"【任务提醒】{LOGISTICS_UNION}有一件转会申请待审批")
    county.context.close()

    chairman = desk(browser, server, tenant, "wang", f"/yichang/applications/{application.id}")
    assert f"会籍将转入{LOGISTICS_UNION}" in chairman.locator("#decide").inner_text()
    assert chairman.get_by_role("link", name="《工会会员组织关系介绍信》").is_visible()
    chairman.get_by_role("button", name="同意", exact=True).click()
    assert "已同意" in chairman.get_by_role("status").inner_text()
    chairman.context.close()

    assert yichang.sms_to(worker.phone)[-1].startswith(
        f"您好！您的会籍转接申请已经通过审核，您的工会会员组织关系已由{SOFTWARE_UNION}转入{LOGISTICS_UNION}。")
    assert where_is(yichang, worker) == [(LOGISTICS_UNION, False)], "one membership, in the new union"
    menu(page, "申请状态")
    card = page.get_by_test_id(f"application-{application.id}")
    assert "已通过" in card.inner_text() and LOGISTICS_UNION in card.inner_text()
    menu(page, "我的会籍")
    mine = page.locator("main").inner_text()
    assert LOGISTICS_UNION in page.locator("dl.facts").first.inner_text()
    assert SOFTWARE_UNION in page.locator("ol.timeline").inner_text() and "宜昌某某物流有限公司" in mine


def test_a_chairman_moves_out_a_member_who_left_and_the_county_service_centre_holds_the_membership(
        yichang, logistics, server, browser, page, shoot):
    tenant = yichang.tenant
    member = member_of(yichang, LOGISTICS_UNION, name="赵离职", unit=logistics)
    other = member_of(yichang, LOGISTICS_UNION, name="钱在职", unit=logistics)
    page.goto(server.url(tenant, "/login?next=/yichang/applications"))
    sign_in(page, "wang", PASSWORD)
    page.get_by_role("link", name="工会会员迁出").click()
    assert page.get_by_role("heading", level=1).inner_text() == "工会会员迁出"
    page.get_by_label("会员姓名").fill("赵离职")
    page.get_by_role("button", name="查询", exact=True).click()
    rows = page.locator("table.data tbody tr")
    assert rows.count() == 1 and "宜昌某某物流有限公司" in rows.first.inner_text()
    rows.first.get_by_role("link", name="迁出").click()
    assert page.get_by_role("heading", level=1).inner_text() == "迁出会员：赵离职"
    shoot(page, "yichang-move-out-desktop")
    page.get_by_role("button", name="迁出", exact=True).click()

    assert f"赵离职已迁出，会籍暂由{YILING_CENTRE}管理" in page.get_by_role("status").inner_text()
    members = page.locator("table.data tbody").inner_text()
    assert "赵离职" not in members and "钱在职" in members, "no longer the chairman's member"
    assert yichang.sms_to(member.phone)[-1].startswith(
        f"您好！您的工会会员组织关系已由{LOGISTICS_UNION}迁出，暂由{YILING_CENTRE}管理")
    assert where_is(yichang, member) == [(YILING_CENTRE, True)]
    assert where_is(yichang, other) == [(LOGISTICS_UNION, False)]
    assert yichang.sms_to(other.phone) == []

    county = desk(browser, server, tenant, "yiling", "/yichang/members?q=赵离职")
    row = county.locator("table.data tbody tr").first
    assert YILING_CENTRE in row.inner_text() and "蓄水池" in row.inner_text()
    county.context.close()


def test_a_member_leaving_the_city_is_held_by_the_service_centre_of_the_county_they_live_in(
        yichang, logistics, server, browser, page, phone_page):
    tenant = yichang.tenant
    member = member_of(yichang, LOGISTICS_UNION, name="孙外出", unit=logistics, username="sunwc")
    yichang.staff("xiling", "federation_admin", "西陵区总工会")
    page.goto(server.url(tenant, f"/login?next=/yichang/members/{member.id}/move-out"))
    sign_in(page, "wang", PASSWORD)
    page.get_by_label(re.compile("调往市外")).check()
    page.get_by_role("button", name="迁出", exact=True).click()
    assert "请选择居住地" in page.locator("main").inner_text()
    assert page.get_by_label("居住地县（市、区）", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label(re.compile("调往市外")).is_checked(), "what was chosen stays"
    assert where_is(yichang, member) == [(LOGISTICS_UNION, False)], "a refused form changes nothing"

    page.get_by_label("居住地县（市、区）", exact=True).select_option(label="西陵区")
    page.get_by_role("button", name="迁出", exact=True).click()
    assert f"孙外出已迁出，会籍暂由{XILING_CENTRE}管理" in page.get_by_role("status").inner_text()
    assert yichang.sms_to(member.phone)[-1].startswith(
        f"您好！您的工会会员组织关系已由{LOGISTICS_UNION}迁出，暂由{XILING_CENTRE}管理")
    assert where_is(yichang, member) == [(XILING_CENTRE, True)]

    xiling = desk(browser, server, tenant, "xiling", "/yichang/members?q=孙外出")
    assert XILING_CENTRE in xiling.locator("table.data tbody tr").first.inner_text()
    xiling.context.close()
    sign_in_on_phone(phone_page, server, tenant, "sunwc", "/me")
    assert XILING_CENTRE in phone_page.locator("dl.facts").first.inner_text()


def test_a_member_of_a_union_outside_the_city_asking_to_transfer_in_is_handled_as_a_join(
        yichang, logistics, server, browser, page):
    tenant = yichang.tenant
    worker = yichang.person("周外地")
    worker_account(yichang, worker, "zhouwd")
    page.goto(server.url(tenant, "/login?next=/yichang/apply"))
    sign_in(page, "zhouwd", PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "我要入会"
    page.get_by_label("所属区域").select_option(label="小溪塔街道")
    page.get_by_label("单位名称", exact=True).fill("某某物流")
    page.get_by_role("radio", name=re.compile("宜昌某某物流有限公司")).check()
    page.get_by_label("我已是外地（宜昌以外）的工会会员，申请转入").check()
    page.get_by_role("button", name="提交申请").click()
    assert page.get_by_label("原工会名称").get_attribute("aria-invalid") == "true"
    assert "请填写您原来所在的工会" in page.locator("main").inner_text()

    page.get_by_label("原工会名称").fill("武汉某某物流有限公司工会委员会")
    page.get_by_role("button", name="提交申请").click()
    assert "您的入会申请已提交" in page.get_by_test_id("acknowledgement").inner_text()
    assert "入会（外地转入）" in page.locator("main").inner_text()
    application = yichang.get(Application, person_id=worker.id)
    assert (application.kind, application.from_outside, application.channel) == ("join", True, "web")
    assert yichang.sms_to(worker.phone)[-1].startswith("您好！您的入会申请已提交")

    city = desk(browser, server, tenant, "city")
    row = city.get_by_test_id(f"row-{application.id}")
    assert "入会" in row.inner_text() and "转会" not in row.inner_text()
    open_application(city, application.id)
    assert "武汉某某物流有限公司工会委员会（市外转入，按入会办理）" in city.locator("dl.facts").first.inner_text()
    city.get_by_role("button", name="分派", exact=True).click()
    city.context.close()
    county = desk(browser, server, tenant, "yiling", f"/yichang/applications/{application.id}")
    county.get_by_role("button", name="提交保存").click()
    county.context.close()
    chairman = desk(browser, server, tenant, "wang", f"/yichang/applications/{application.id}")
    assert chairman.get_by_role("link", name="《中华全国总工会入会申请书》").is_visible()
    chairman.get_by_role("button", name="同意", exact=True).click()
    chairman.context.close()

    assert yichang.sms_to(worker.phone)[-1].startswith("您好！您的入会申请已经通过审核，已为您办理入会相关手续")
    assert where_is(yichang, worker) == [(LOGISTICS_UNION, False)]
    page.goto(server.url(tenant, "/yichang/my"))
    badge = page.get_by_test_id(f"application-{application.id}").locator(".status-badge")
    assert (badge.inner_text(), badge.get_attribute("data-colour")) == ("已通过", "green")
