"""Workers and chairmen sign in with their phone and a one-time code sent through the tenant's SMS gateway."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from core import tenancy
from core.auth import login
from core.models.login import LoginCode
from plugins.sms_console.models import ConsoleMessage
from tests.core.test_auth_kit import Browser, staff, tree  # noqa: F401

PHONE = "13800001234"


def texts_to(db, tenant, phone=PHONE) -> list[str]:
    with db() as session, tenancy.tenant_scope(tenant):
        query = sa.select(ConsoleMessage.text).where(ConsoleMessage.phone == phone).order_by(ConsoleMessage.id)
        return list(session.scalars(query))


def code_in(text: str) -> str:
    return re.search(r"验证码为(\d{6})", text).group(1)


def ask_for_code(browser, phone=PHONE):
    return browser.submit("/login/sms", {"action": "send", "phone": phone})


def enter_code(browser, code, phone=PHONE):
    return browser.submit("/login/sms", {"action": "verify", "phone": phone, "code": code})


def test_a_chairman_signs_in_with_the_code_sent_to_their_phone(tree, staff, app, db, jobs):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union), phone=PHONE, password=None)
    browser = Browser(app, tree.tenant)

    asked = ask_for_code(browser, phone="138 0000 1234")
    jobs.drain()
    (text,) = texts_to(db, tree.tenant)
    signed_in = enter_code(browser, code_in(text))

    assert asked.status_code == 200 and "验证码已发送" in asked.text
    assert text.endswith("5分钟内有效。如非本人操作，请忽略本短信。")
    assert signed_in.status_code == 303
    assert browser.me() == "wang"


def test_the_code_is_stored_only_as_a_keyed_hash_and_works_once(tree, staff, app, db, jobs):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union), phone=PHONE)
    browser = Browser(app, tree.tenant)
    ask_for_code(browser)
    jobs.drain()
    code = code_in(texts_to(db, tree.tenant)[0])

    with db() as session, tenancy.tenant_scope(tree.tenant):
        stored = session.scalars(sa.select(LoginCode)).one()
        assert code not in (stored.code_hash, stored.salt) and len(stored.code_hash) == 64
    assert enter_code(browser, code).status_code == 303
    again = enter_code(Browser(app, tree.tenant, "192.0.2.3"), code)
    assert again.status_code == 401 and "验证码错误或已失效" in again.text


def test_a_code_expires_after_five_minutes(tree, staff, app, db, jobs):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union), phone=PHONE)
    browser = Browser(app, tree.tenant)
    ask_for_code(browser)
    jobs.drain()
    with db() as session, tenancy.tenant_scope(tree.tenant):
        for row in session.scalars(sa.select(LoginCode)):
            assert row.expires_at - row.created_at == dt.timedelta(minutes=5)
            row.expires_at = row.created_at - dt.timedelta(seconds=1)

    assert enter_code(browser, code_in(texts_to(db, tree.tenant)[0])).status_code == 401
    assert browser.me() is None


def test_a_code_takes_five_tries_then_even_the_right_one_is_refused(tree, staff, app, db, jobs):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union), phone=PHONE)
    browser = Browser(app, tree.tenant)
    ask_for_code(browser)
    jobs.drain()
    code = code_in(texts_to(db, tree.tenant)[0])
    wrong = "000000" if code != "000000" else "111111"

    for _ in range(login.CODE_ATTEMPTS):
        assert enter_code(browser, wrong).status_code == 401

    assert enter_code(browser, code).status_code == 401
    assert browser.me() is None


def test_a_phone_gets_a_code_once_a_minute_at_most(tree, staff, app, db, jobs):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union), phone=PHONE)
    browser = Browser(app, tree.tenant)

    first = ask_for_code(browser)
    second = ask_for_code(Browser(app, tree.tenant, "192.0.2.44"))
    jobs.drain()

    assert first.status_code == 200
    assert second.status_code == 429 and 1 <= int(second.headers["Retry-After"]) <= 60
    assert len(texts_to(db, tree.tenant)) == 1


def test_a_newer_code_replaces_the_older_one(tree, staff, app, db, jobs):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union), phone=PHONE)
    browser = Browser(app, tree.tenant)
    ask_for_code(browser)
    jobs.drain()
    with db() as session, tenancy.tenant_scope(tree.tenant):  # a minute later
        session.execute(sa.update(login.LoginThrottle).values(blocked_until=None))
    ask_for_code(browser)
    jobs.drain()
    old, new = (code_in(text) for text in texts_to(db, tree.tenant))

    if old != new:
        assert enter_code(browser, old).status_code == 401
    assert enter_code(browser, new).status_code == 303


def test_an_unknown_number_gets_the_same_answer_and_no_text(tree, app, db, jobs):
    browser = Browser(app, tree.tenant)

    asked = ask_for_code(browser, phone="13900009999")
    jobs.drain()

    assert asked.status_code == 200 and "如果该手机号已在本平台登记" in asked.text
    assert texts_to(db, tree.tenant, "13900009999") == []


def test_admins_sign_in_with_their_password_not_a_code(tree, staff, app, db, jobs):
    staff(tree.tenant, "zhou", ("federation_admin", tree.yiling), phone=PHONE)
    browser = Browser(app, tree.tenant)

    asked = ask_for_code(browser)
    jobs.drain()

    assert asked.status_code == 200
    assert texts_to(db, tree.tenant) == []


def test_a_number_that_is_not_a_mobile_number_is_named_as_such(tree, app):
    response = ask_for_code(Browser(app, tree.tenant), phone="0717-123")

    assert response.status_code == 422 and "11 位手机号码" in response.text


def test_the_code_page_is_in_chinese_with_every_control_labelled(tree, app):
    page = Browser(app, tree.tenant).get("/login/sms").text

    assert '<label for="phone">手机号码</label>' in page and '<label for="code">短信验证码</label>' in page
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
