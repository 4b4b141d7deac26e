"""Yichang's online join, end to end in Chromium (宜工办〔2016〕22号): a worker on a phone (360 px, as inside the
"宜昌工人" WeChat account) applies; the city admin dispatches, the county admin verifies and the chairman decides
on a desk (1280 px); the worker reads the outcome in "申请状态". Each SMS is read at the tenant's gateway
(sms_console). Screenshots go to docs/screenshots/yichang-*.png for the city admin's guide.

Three flows only, the browser being slow on a small machine; the pages' other rules are tested with Flask's test
client in tests/cities/yichang/test_pages.py."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from cities.yichang import applications
from cities.yichang.models import Application
from core.models.organization import Organization
from core.models.person import Person
from core.models.region import Region
from core.models.unit import Unit
from core.registry import organizations
from core.rows import by_id
from tests.cities.yichang.conftest import new_id_number, worker_account, yichang  # noqa: F401  (the fixture)
from tests.pages.conftest import DESKTOP
from tests.pages.kit import sign_in, sms_code

pytestmark = [pytest.mark.browser, pytest.mark.plugins("sms_console", "yichang")]

PASSWORD = "correct horse battery staple"
CITY, COUNTY, CHAIRMAN = "13700000001", "13700000002", "13700000003"
#: What WeChat's web view says it is: the application records the mobile way in (两终端).
WECHAT = ("Mozilla/5.0 (Linux; Android 13; V2118A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 "
          "Mobile Safari/537.36 XWEB/1160065 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 NetType/WIFI")


@pytest.fixture
def logistics(yichang):
    """宜昌某某物流有限公司 (夷陵区) with its union chaired by 王主席 (``wang``); the city admin ``city`` and the
    夷陵区 admin ``yiling``, each with a phone for their task texts."""
    union = yichang.union("宜昌某某物流有限公司工会委员会", region="小溪塔街道")
    yichang.run(lambda s: organizations.update(s, s.get(Organization, union.id),
                                               {"chairman_name": "王主席", "contact_phone": CHAIRMAN}))
    yichang.staff("city", "tenant_admin", None, phone=CITY)
    yichang.staff("yiling", "federation_admin", "夷陵区总工会", phone=COUNTY)
    yichang.staff("wang", "chairman", union.name, phone=CHAIRMAN)
    return yichang.unit("宜昌某某物流有限公司", region="夷陵区", union=union.name)


def chinese(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def desk(browser, server, tenant, username: str, path: str = "/yichang/applications"):
    """A desktop browser of ``username``, signed in and on ``path``."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(server.url(tenant, f"/login?next={path}"))
    sign_in(page, username, PASSWORD)
    return page


def menu(page, label: str) -> None:
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=label, exact=True).click()


def open_application(page, application_id: int):
    page.get_by_test_id(f"row-{application_id}").get_by_role("link", name="处理").click()


def sign_in_on_phone(page, server, tenant, username: str, path: str):
    page.goto(server.url(tenant, f"/login?next={path}"))
    sign_in(page, username, PASSWORD)


def test_a_worker_signs_up_on_a_phone_applies_and_is_approved_through_dispatch_and_verification(
        yichang, logistics, server, browser, phone_page, db, jobs, shoot):
    tenant, page, phone = yichang.tenant, phone_page, "13966660001"
    page.set_extra_http_headers({"User-Agent": WECHAT})
    page.goto(server.url(tenant, "/signup"))
    page.get_by_label("真实姓名").fill("张小红")
    page.get_by_label("身份证号").fill(new_id_number(age=30))
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_label("短信验证码").fill(sms_code(db, jobs, tenant, phone))
    page.get_by_label("用户名").fill("xiaohong")
    page.get_by_label("密码", exact=True).fill("hong-2026!")
    page.get_by_role("button", name="注册", exact=True).click()

    menu(page, "入会转会")
    assert page.get_by_role("heading", level=1).inner_text() == "我要入会"
    assert page.get_by_test_id("bound-name").inner_text() == "张小红"
    assert page.get_by_test_id("bound-phone").inner_text() == "139****0001"
    page.get_by_label("所属区域").select_option(label="小溪塔街道")
    page.get_by_label("单位名称", exact=True).fill("某某物流")  # the list follows the typing
    page.get_by_role("radio", name=re.compile("宜昌某某物流有限公司")).check()
    assert logistics.credit_code in page.locator("#chosen-unit").inner_text()
    shoot(page, "yichang-apply-phone")
    page.get_by_role("button", name="提交申请").click()

    assert page.get_by_role("heading", level=1).inner_text() == "申请已提交"
    application = yichang.get(Application, unit_id=logistics.id)
    assert f"我们将在{chinese(application.due_on)}前办结" in page.get_by_test_id("acknowledgement").inner_text()
    assert application.channel == "mobile"
    shoot(page, "yichang-acknowledgement-phone")
    assert yichang.sms_to(phone)[-1].startswith(f"您好！您的入会申请已提交，我们将在{chinese(application.due_on)}前办结")

    city = desk(browser, server, tenant, "city")
    row = city.get_by_test_id(f"row-{application.id}")
    assert row.get_attribute("data-colour") == "white"
    open_application(city, application.id)
    assert city.get_by_label("分派给").locator("option:checked").inner_text() == "夷陵区总工会"
    shoot(city, "yichang-dispatch-desktop")
    city.get_by_role("button", name="分派", exact=True).click()
    assert "已分派给夷陵区总工会" in city.get_by_role("status").inner_text()
    assert yichang.sms_to(COUNTY)[-1].startswith("【任务提醒】宜昌市总工会分派给您一件入会申请")
    city.context.close()

    county = desk(browser, server, tenant, "yiling")
    open_application(county, application.id)
    facts = county.get_by_test_id("union-facts").inner_text()
    assert "宜昌某某物流有限公司工会委员会" in facts and "王主席" in facts and "137****0003" in facts
    shoot(county, "yichang-verify-desktop")
    county.get_by_role("button", name="提交保存").click()
    assert "信息校核已保存" in county.get_by_role("status").inner_text()
    assert yichang.sms_to(CHAIRMAN)[-1].startswith("【任务提醒】宜昌某某物流有限公司工会委员会有一件入会申请待审批")
    county.context.close()

    chairman = desk(browser, server, tenant, "wang")
    assert chairman.get_by_test_id(f"row-{application.id}").get_attribute("data-colour") == "yellow"
    shoot(chairman, "yichang-queue-desktop")
    open_application(chairman, application.id)
    assert chairman.get_by_role("link", name="《中华全国总工会入会申请书》").get_attribute("href").endswith(
        f"/yichang/applications/{application.id}/forms/join_application")
    chairman.get_by_role("button", name="同意", exact=True).click()
    assert "已同意" in chairman.get_by_role("status").inner_text()
    chairman.context.close()

    assert yichang.sms_to(phone)[-1].startswith("您好！您的入会申请已经通过审核，已为您办理入会相关手续")
    menu(page, "申请状态")
    badge = page.get_by_test_id(f"application-{application.id}").locator(".status-badge")
    assert (badge.inner_text(), badge.get_attribute("data-colour")) == ("已通过", "green")
    shoot(page, "yichang-status-phone")


def test_a_worker_whose_unit_has_no_union_is_parked_in_the_county_service_centre(
        yichang, logistics, server, browser, phone_page, shoot):
    tenant, page = yichang.tenant, phone_page
    worker = yichang.person("王大力", age=35, sex="M")
    worker_account(yichang, worker, "dali")
    yichang.staff("centre", "chairman", "夷陵区职工服务中心工会委员会")
    sign_in_on_phone(page, server, tenant, "dali", "/yichang/apply")
    page.get_by_label("所属区域").select_option(label="小溪塔街道")
    page.get_by_label("单位名称", exact=True).fill("某某小餐馆")
    page.get_by_role("button", name="查询", exact=True).click()  # the form's own button, as without scripts
    assert "没有找到名称含“某某小餐馆”的单位" in page.get_by_role("status").first.inner_text()
    page.get_by_label("其他单位名称").fill("宜昌某某小餐馆")
    page.get_by_role("button", name="提交申请").click()
    application = yichang.get(Application, person_id=worker.id)
    assert (application.unit_id, application.other_unit_name) == (None, "宜昌某某小餐馆")
    yichang.run(lambda s: applications.dispatch(s, tenant, by_id(s, Application, application.id),
                                                to=s.scalars(sa.select(Organization).where(
                                                    Organization.name == "夷陵区总工会")).one()))

    county = desk(browser, server, tenant, "yiling", f"/yichang/applications/{application.id}")
    facts = county.get_by_test_id("union-facts").inner_text()
    assert "夷陵区职工服务中心工会委员会" in facts and "单位未建会，按规则暂存" in facts
    county.get_by_role("button", name="提交保存").click()
    county.context.close()
    centre = desk(browser, server, tenant, "centre", f"/yichang/applications/{application.id}")
    centre.get_by_role("button", name="同意", exact=True).click()
    centre.context.close()

    text = yichang.sms_to(worker.phone)[-1]
    assert "会籍暂时保留在夷陵区职工服务中心工会委员会" in text
    menu(page, "申请状态")
    card = page.get_by_test_id(f"application-{application.id}")
    assert "已通过" in card.inner_text() and "夷陵区职工服务中心工会委员会（暂存，单位建会后转入）" in card.inner_text()
    shoot(page, "yichang-parked-phone")


def test_a_chairman_rejects_with_a_reason_and_the_worker_reads_it_in_red(
        yichang, logistics, server, browser, phone_page, shoot):
    tenant, page = yichang.tenant, phone_page
    worker = yichang.person("刘明")
    worker_account(yichang, worker, "liuming")

    def submitted_and_verified(session):
        found = applications.submit(session, tenant, person=session.get(Person, worker.id),
                                    unit=session.get(Unit, logistics.id),
                                    region=session.scalars(sa.select(Region).where(Region.name == "夷陵区")).first())
        applications.dispatch(session, tenant, found, to=session.scalars(sa.select(Organization).where(
            Organization.name == "夷陵区总工会")).one())
        applications.verify(session, tenant, found, unit=session.get(Unit, logistics.id))
        return found.id
    application_id = yichang.run(submitted_and_verified)

    chairman = desk(browser, server, tenant, "wang", f"/yichang/applications/{application_id}")
    chairman.get_by_label("原因").select_option(label="申请单位不是本人所在单位")
    chairman.get_by_label("告知申请人的说明（可不填）").fill("本单位无此职工，请核实所在单位")
    shoot(chairman, "yichang-reject-desktop")
    chairman.get_by_role("button", name="不同意", exact=True).click()
    assert "已作不通过处理" in chairman.get_by_role("status").inner_text()
    chairman.context.close()

    assert "请核实所在单位后重新提交申请" in yichang.sms_to(worker.phone)[-1]
    sign_in_on_phone(page, server, tenant, "liuming", "/yichang/my")
    card = page.get_by_test_id(f"application-{application_id}")
    badge = card.locator(".status-badge")
    assert (badge.inner_text(), badge.get_attribute("data-colour")) == ("未通过", "red")
    assert "本单位无此职工，请核实所在单位" in card.inner_text()
    shoot(page, "yichang-rejected-phone")
