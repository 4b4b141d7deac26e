"""Signing in, out and changing the password, in Chromium, as staff at a desk and workers on a phone would."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core import tenancy
from core.auth import login
from core.errors import DomainError
from plugins.sms_console.models import ConsoleMessage
from tests.pages.kit import PASSWORD, PHONE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.plugins("sms_console")]


def test_a_chairman_signs_in_with_a_password_and_signs_out(cities, server, page, shoot):
    page.goto(server.url(cities.yichang, "/login"))
    shoot(page, "login-desktop")

    sign_in(page, "wang")

    assert page.get_by_test_id("account-name").inner_text() == "王主席"
    page.get_by_role("button", name="退出登录").click()
    assert page.get_by_role("status").inner_text() == "您已退出登录。"
    assert page.get_by_label("用户名").is_visible()


def test_a_wrong_password_keeps_the_user_name_and_marks_the_password(cities, server, page, shoot):
    page.goto(server.url(cities.yichang, "/login"))
    sign_in(page, "wang", "not-the-password")

    assert "用户名或密码错误" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("用户名").input_value() == "wang"
    assert page.get_by_label("密码", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label("密码", exact=True).input_value() == "", "a password is never sent back"
    shoot(page, "login-wrong-password")


def test_a_locked_account_is_told_when_to_try_again(app, cities, server, page, shoot):
    state = app.extensions["gonghui"]
    with app.app_context(), state.db.unit_of_work() as session, tenancy.tenant_scope(cities.yichang):
        for attempt in range(login.LOCK_AFTER):
            with pytest.raises(DomainError):
                login.sign_in_with_password(session, state.db.unit_of_work, tenant_id=cities.yichang.id,
                                            username="wang", password=f"guess-{attempt}", address=f"198.51.100.{attempt}")

    page.goto(server.url(cities.yichang, "/login"))
    sign_in(page, "wang")

    message = page.get_by_role("alert").inner_text()
    assert "密码登录已暂时锁定" in message and re.search(r"请于 \d\d:\d\d", message)
    assert "短信验证码登录" in message, "the lock says how else to get in"
    shoot(page, "login-locked")


def test_a_worker_signs_in_on_a_phone_with_the_code_sent_by_sms(cities, server, phone_page, db, jobs, shoot):
    page = phone_page
    page.goto(server.url(cities.yichang, "/login/sms"))
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    assert "验证码已发送" in page.get_by_role("status").inner_text()
    jobs.drain()
    with db() as session, tenancy.tenant_scope(cities.yichang):
        text = session.scalar(sa.select(ConsoleMessage.text).where(ConsoleMessage.phone == PHONE))
    code = re.search(r"验证码为(\d{6})", text).group(1)
    assert page.get_by_label("手机号码").input_value() == PHONE, "the number stays as typed"
    page.get_by_label("短信验证码").fill(code)
    shoot(page, "login-sms-phone")
    page.get_by_role("button", name="登录", exact=True).click()

    assert page.get_by_test_id("account-name").inner_text() == "李会员"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing wider than the phone"


def test_a_wrong_code_is_named_and_the_number_kept(cities, server, phone_page):
    page = phone_page
    page.goto(server.url(cities.yichang, "/login/sms"))
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_label("短信验证码").fill("000000")
    page.get_by_role("button", name="登录", exact=True).click()

    assert "验证码错误或已失效" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("短信验证码").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("手机号码").input_value() == PHONE


def test_a_user_changes_their_password_and_a_wrong_current_one_is_named(cities, server, page, shoot):
    page.goto(server.url(cities.yichang, "/login"))
    sign_in(page, "wang")
    page.get_by_role("link", name="账号安全").click()

    page.get_by_label("当前密码").fill("not-it-1")
    page.get_by_label("新密码", exact=True).fill("yichang-2027!")
    page.get_by_label("再次输入新密码").fill("yichang-2027!")
    page.get_by_role("button", name="修改密码").click()
    assert "当前密码不正确" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("当前密码").get_attribute("aria-invalid") == "true"
    shoot(page, "password-wrong-current")

    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("yichang-2027!")
    page.get_by_label("再次输入新密码").fill("yichang-2027!")
    page.get_by_role("button", name="修改密码").click()
    assert "密码已修改" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="退出登录").click()
    sign_in(page, "wang", "yichang-2027!")
    assert page.get_by_test_id("account-name").inner_text() == "王主席"


def test_signing_in_works_with_the_keyboard_alone(cities, server, page):
    page.goto(server.url(cities.changzhou, "/login"))
    # The page opens with the user name focused (autofocus applies once the page has loaded); Tab goes on to the
    # password.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("zhao")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    assert page.get_by_test_id("account-name").inner_text() == "赵管理员"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文", "the first stop skips the menus"
