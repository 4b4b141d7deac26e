"""A worker on a phone (360 px, as inside WeChat): signs up with the code texted to them, sees their own
membership and its history, downloads their data, and sees nobody else's."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core import id_numbers, tenancy
from core.models.organization import Organization
from core.registry import memberships, organizations, people
from tests.pages.kit import sms_code

pytestmark = [pytest.mark.browser, pytest.mark.plugins("sms_console")]

PHONE = "13766660001"


def id_number(n: int) -> str:
    first17 = f"420506199003{n:02d}{100 + 2 * n + 1:03d}"
    return first17 + id_numbers.check_character(first17)


def _worker_on_record(db, tenant) -> None:
    """张小红, a member since 2019 who moved to another union in 2024; and her colleague 陈明."""
    with db() as session, tenancy.tenant_scope(tenant):
        first = session.scalar(sa.select(Organization).where(Organization.kind == "grassroots_union"))
        second = organizations.create(session, name="宜昌某某超市有限公司工会委员会", kind="grassroots_union",
                                      parent=session.get(Organization, first.parent_id))
        person = people.create(session, id_number=id_number(1), name="张小红", actor="test")
        memberships.join(session, person=person, organization=first, on=dt.date(2019, 5, 6), actor="test")
        memberships.transfer(session, person=person, to=second, on=dt.date(2024, 3, 1), actor="test")
        colleague = people.create(session, id_number=id_number(2), name="陈明", actor="test")
        memberships.join(session, person=colleague, organization=second, on=dt.date(2020, 1, 2), actor="test")


def test_a_worker_signs_up_on_a_phone_and_sees_their_own_membership_and_history(
        cities, server, phone_page, db, jobs, shoot):
    _worker_on_record(db, cities.yichang)
    page = phone_page
    page.goto(server.url(cities.yichang, "/"))
    page.get_by_role("link", name="注册").click()
    page.get_by_label("真实姓名").fill("张小红")
    page.get_by_label("身份证号").fill(id_number(1)[:-1] + "0" if id_number(1)[-1] != "0" else id_number(1)[:-1] + "1")
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    assert "身份证号：校验位不对" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("身份证号").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("真实姓名").input_value() == "张小红", "what was typed stays"
    shoot(page, "signup-wrong-id-number-phone")

    page.get_by_label("身份证号").fill(id_number(1))
    page.get_by_role("button", name="获取验证码").click()
    assert "验证码已发送" in page.get_by_role("status").inner_text()
    page.get_by_label("短信验证码").fill(sms_code(db, jobs, cities.yichang, PHONE))
    page.get_by_label("用户名").fill("xiaohong")
    page.get_by_label("密码", exact=True).fill("hong-2026!")
    shoot(page, "signup-phone")
    page.get_by_role("button", name="注册", exact=True).click()

    assert "欢迎您，张小红" in page.get_by_role("status").inner_text()
    assert page.get_by_role("heading", name="我的会籍").is_visible()
    history = page.locator("ol.timeline").inner_text()
    assert "2019-05-06" in history and "2024-03-01" in history and "宜昌某某超市有限公司工会委员会" in history
    body = page.locator("body").inner_text()
    assert "420506********" in body and id_number(1) not in body and "陈明" not in body
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing wider than the phone"
    shoot(page, "my-membership-history-phone")

    with page.expect_download() as download:
        page.get_by_role("link", name="下载我的个人信息（JSON）").click()
    assert download.value.suggested_filename.endswith(".json")

    page.goto(server.url(cities.yichang, "/dashboard"))
    assert "陈明" not in page.locator("body").inner_text(), "no staff page for a worker"
    page.goto(server.url(cities.yichang, "/me"))
    page.get_by_role("button", name="退出登录").click()
    page.get_by_label("用户名").fill("xiaohong")
    page.get_by_label("密码", exact=True).fill("hong-2026!")
    page.get_by_role("button", name="登录", exact=True).click()
    assert page.get_by_test_id("account-name").inner_text() == "张小红"
