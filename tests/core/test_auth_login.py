"""Signing in with a password: sessions, CSRF, lockout, slowing down guessers, sign out (everywhere)."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa

from core import tenancy
from core.auth import login
from core.db import utcnow
from core.models.login import LoginThrottle
from tests.core.test_auth_kit import PASSWORD, Browser, audit_actions, staff, token_for, tree  # noqa: F401

ATTACKERS = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]


def test_a_chairman_signs_in_with_their_password_and_lands_where_they_were_going(tree, staff, app, db):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)

    page = browser.get("/password")
    assert page.status_code == 303 and "/t/yichang/login?next=/password" in page.headers["Location"]
    response = browser.submit("/login", {"username": "Wang", "password": PASSWORD, "next": "/password"})

    assert response.status_code == 303 and response.headers["Location"].endswith("/t/yichang/password")
    assert browser.me() == "wang"
    assert "user.sign_in" in audit_actions(db, tree.tenant)


def test_the_sign_in_page_is_in_chinese_with_every_control_labelled(tree, app):
    page = Browser(app, tree.tenant).get("/login").text

    assert '<html lang="zh-CN">' in page and 'name="viewport"' in page
    assert '<label for="username">用户名</label>' in page and '<label for="password">密码</label>' in page
    assert 'id="username"' in page and 'id="password"' in page and "手机验证码登录" in page


def test_a_wrong_password_is_refused_without_saying_whether_the_account_exists(tree, staff, app):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)

    wrong = browser.sign_in("wang", "not-the-password-1")
    nobody = browser.sign_in("nobody", "not-the-password-1")

    assert wrong.status_code == nobody.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in nobody.text
    assert browser.me() is None


def test_a_visitor_who_chose_english_is_refused_in_english(tree, staff, app):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)
    browser.get("/language/en")

    wrong = browser.sign_in("wang", "not-the-password-1")

    assert wrong.status_code == 401 and "Wrong username or password." in wrong.text and "用户名" not in wrong.text


def test_a_form_without_the_csrf_token_is_refused(tree, staff, app):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)

    missing = browser.submit("/login", {"username": "wang", "password": PASSWORD}, csrf=False)
    forged = browser.submit("/login", {"username": "wang", "password": PASSWORD, "csrf_token": "made-up"}, csrf=False)

    assert missing.status_code == forged.status_code == 403
    assert "页面已过期" in missing.text
    assert browser.me() is None
    browser.sign_in("wang")
    assert browser.submit("/logout", {}, csrf=False).status_code == 403
    assert browser.me() == "wang", "a forged sign-out form does not sign anyone out"
    no_header = browser.client.post("/t/yichang/api/v1/users/me/sign-out-everywhere", json={})
    assert no_header.status_code == 403 and no_header.json["code"] == "csrf_failed"


def test_a_session_cookie_copied_before_sign_out_everywhere_is_refused_after_it(tree, staff, app, db):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    owner = Browser(app, tree.tenant)
    owner.sign_in("wang")
    thief = Browser(app, tree.tenant, address="192.0.2.66")
    thief.client.set_cookie("session", owner.client.get_cookie("session").value)
    assert thief.me() == "wang"

    signed_out = owner.submit("/logout", {"everywhere": "1"})

    assert signed_out.status_code == 303
    assert thief.me() is None
    assert thief.get("/password").status_code == 303, "the copied cookie is sent to sign in again"
    assert owner.me() is None
    assert "user.sign_out_everywhere" in audit_actions(db, tree.tenant)


def test_signing_out_everywhere_keeps_api_tokens_unless_asked_to_revoke_them_too(tree, staff, app, db, api):
    user = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    kept, revoked = token_for(app, db, tree.tenant, user), token_for(app, db, tree.tenant, user)
    browser = Browser(app, tree.tenant)

    browser.sign_in("wang")
    browser.submit("/logout", {"everywhere": "1"})
    assert api(tree.tenant, kept).get("/api/v1/users/me").status_code == 200

    browser.sign_in("wang")
    browser.submit("/logout", {"everywhere": "1", "revoke_tokens": "1"})
    assert api(tree.tenant, kept).get("/api/v1/users/me").status_code == 401
    assert api(tree.tenant, revoked).get("/api/v1/users/me").status_code == 401


def test_signing_out_forgets_the_session_in_this_browser(tree, staff, app):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)
    browser.sign_in("wang")

    response = browser.submit("/logout", {})

    assert response.status_code == 303
    assert browser.me() is None
    assert "您已退出登录" in browser.get("/login").text


def test_a_thousand_wrong_passwords_from_several_addresses_lock_the_account_and_slow_those_addresses_while_another_account_signs_in_at_once(  # noqa: E501
    tree, staff, app, db
):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    staff(tree.tenant, "li", ("chairman", tree.xiling_union))
    attackers = [Browser(app, tree.tenant, address) for address in ATTACKERS]

    answers = [attackers[n % 4].sign_in("wang", f"guess-{n:04d}") for n in range(1000)]

    assert Counter(a.status_code for a in answers) == {401: 9, 429: 991}
    assert "账号的密码登录已暂时锁定" in answers[9].text
    for browser in attackers:
        last = browser.sign_in("wang", "guess-again-1")
        assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1, browser.address
        assert "尝试过于频繁" in last.text
    owner = Browser(app, tree.tenant, "203.0.113.77").sign_in("wang")
    assert owner.status_code == 429 and "暂时锁定" in owner.text, "even the right password waits out the lock"
    assert 0 < int(owner.headers["Retry-After"]) <= 15 * 60
    assert _lock_of(db, tree.tenant, "wang") == dt.timedelta(minutes=15)
    assert Browser(app, tree.tenant, "203.0.113.78").sign_in("li").status_code == 303
    assert attackers[0].sign_in("li").status_code == 303, "an address slowed on one account signs in to another"


def _lock_of(db, tenant, username) -> dt.timedelta:
    """How long the account's lock lasts, from the failure that set it."""
    with db() as session, tenancy.tenant_scope(tenant):
        row = session.scalars(sa.select(LoginThrottle).where(LoginThrottle.kind == "account",
                                                             LoginThrottle.key == username)).one()
    return row.blocked_until - row.last_event_at


def test_the_lock_ends_after_its_period_and_each_further_lock_lasts_twice_as_long(tree, staff, app, db):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)
    for n in range(login.LOCK_AFTER):
        browser.address = f"198.51.100.{n}"  # one guess per address: only the account counts
        browser.sign_in("wang", f"guess-{n}")

    _pass_time(db, tree.tenant, minutes=16)
    for n in range(login.LOCK_AFTER):
        browser.address = f"198.51.101.{n}"
        browser.sign_in("wang", f"guess-{n}")
    second = browser.sign_in("wang")

    assert second.status_code == 429 and 0 < int(second.headers["Retry-After"]) <= 30 * 60
    assert _lock_of(db, tree.tenant, "wang") == dt.timedelta(minutes=30)
    _pass_time(db, tree.tenant, minutes=31)
    assert browser.sign_in("wang").status_code == 303


def _pass_time(db, tenant, *, minutes):
    with db() as session, tenancy.tenant_scope(tenant):
        rows = session.scalars(sa.select(LoginThrottle)).all()
        for row in rows:
            row.blocked_until = row.blocked_until and row.blocked_until - dt.timedelta(minutes=minutes)
            row.last_event_at = row.last_event_at and row.last_event_at - dt.timedelta(minutes=minutes)


def test_the_warning_names_the_attempts_left_before_the_lock(tree, staff, app):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)
    for n in range(login.LOCK_AFTER - 4):
        browser.address = f"198.51.100.{n}"
        assert "再错" not in browser.sign_in("wang", f"guess-{n}").text

    assert "再错 3 次" in browser.sign_in("wang", "guess-x").text


def test_a_right_password_clears_the_count_so_typos_never_add_up_to_a_lock(tree, staff, app):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)

    for _day in range(2):  # 18 typos in all: more than a lock needs, none of them in a row of ten
        for n in range(login.LOCK_AFTER - 1):
            browser.address = f"198.51.100.{n}"
            browser.sign_in("wang", "typo")
        assert browser.sign_in("wang").status_code == 303
        browser.submit("/logout", {})


def test_a_tenant_admin_lifts_a_lock_and_sees_it_on_the_user(tree, staff, app, db, api):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    as_admin = api(tree.tenant, token_for(app, db, tree.tenant, admin))
    browser = Browser(app, tree.tenant)
    for n in range(login.LOCK_AFTER):
        browser.address = f"198.51.100.{n}"
        browser.sign_in("wang", f"guess-{n}")
    wang = as_admin.get("/api/v1/users?q=wang").json[0]
    assert wang["locked_until"]

    assert as_admin.post(f"/api/v1/users/{wang['id']}/unlock").status_code == 204

    assert as_admin.get(f"/api/v1/users/{wang['id']}").json["locked_until"] is None
    assert Browser(app, tree.tenant, "203.0.113.5").sign_in("wang").status_code == 303
    assert "user.unlock" in audit_actions(db, tree.tenant)


def test_a_deactivated_user_cannot_sign_in_and_their_sessions_end(tree, staff, app, db, api):
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    admin = staff(tree.tenant, "admin", ("tenant_admin", None))
    as_admin = api(tree.tenant, token_for(app, db, tree.tenant, admin))
    browser = Browser(app, tree.tenant)
    browser.sign_in("wang")
    etag = as_admin.get(f"/api/v1/users/{wang.id}").headers["ETag"]

    as_admin.patch(f"/api/v1/users/{wang.id}", json={"active": False}, headers={"If-Match": etag})

    assert browser.me() is None
    refused = Browser(app, tree.tenant, "203.0.113.9").sign_in("wang")
    assert refused.status_code == 403 and "已停用" in refused.text


def test_changing_the_password_ends_every_other_session_but_this_one(tree, staff, app):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    desk, phone = Browser(app, tree.tenant), Browser(app, tree.tenant, "192.0.2.7")
    desk.sign_in("wang")
    phone.sign_in("wang")
    new = "new-secret-2027"

    weak = desk.submit("/password", {"current_password": PASSWORD, "new_password": "short",
                                     "new_password_again": "short"})
    wrong = desk.submit("/password", {"current_password": "not-it-123", "new_password": new,
                                      "new_password_again": new})
    changed = desk.submit("/password", {"current_password": PASSWORD, "new_password": new,
                                        "new_password_again": new})

    assert weak.status_code == 422 and "至少 8 个字符" in weak.text
    assert wrong.status_code == 401 and "当前密码不正确" in wrong.text
    assert changed.status_code == 303
    assert desk.me() == "wang" and phone.me() is None
    assert Browser(app, tree.tenant, "192.0.2.8").sign_in("wang", new).status_code == 303
    assert Browser(app, tree.tenant, "192.0.2.9").sign_in("wang", PASSWORD).status_code == 401


def test_a_session_counts_only_in_the_tenant_it_was_made_in(tree, staff, app, make_tenant):
    make_tenant("changzhou", name="常州市总工会")
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)
    browser.sign_in("wang")

    assert browser.client.get("/t/changzhou/api/v1/users/me").status_code == 401
    assert Browser(app, tree.tenant).client.get("/t/changzhou/login").status_code == 200


def test_the_sign_in_page_works_on_a_tenants_own_domain(make_tenant, staff, app, tree):
    from core.tenancy import update_tenant

    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    with app.app_context(), app.extensions["gonghui"].db.unit_of_work() as session:
        with tenancy.platform_scope("test: add a domain"):
            update_tenant(session, session.merge(tree.tenant), {"domains": ["gh.yichang.example"]})
    client = app.test_client()
    base = "http://gh.yichang.example"

    page = client.get(f"{base}/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"{base}/login", data={"csrf_token": token, "username": "wang", "password": PASSWORD})

    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get(f"{base}/api/v1/users/me").json["username"] == "wang"


def test_a_platform_admin_signs_in_on_a_platform_host_and_nowhere_else(app, make_user, tree):
    admin, _token = make_user(None, username="root", password=PASSWORD)
    on_tenant = Browser(app, tree.tenant)
    assert on_tenant.sign_in("root").status_code == 401
    assert on_tenant.get("/login/sms").status_code == 200

    platform = Browser(app)
    assert platform.get("/login/sms").status_code == 404
    assert platform.sign_in("root").status_code == 303
    assert platform.get("/api/v1/tenants").status_code == 200
    assert platform.client.get("/t/yichang/api/v1/users/me").status_code == 401


def test_counts_are_kept_per_tenant(tree, staff, app, make_tenant, make_user):
    changzhou = make_tenant("changzhou", name="常州市总工会")
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    make_user(changzhou, username="wang", password=PASSWORD, roles=["tenant_admin"])
    yichang_browser = Browser(app, tree.tenant)
    for n in range(login.LOCK_AFTER):
        yichang_browser.address = f"198.51.100.{n}"
        yichang_browser.sign_in("wang", f"guess-{n}")

    assert Browser(app, changzhou).sign_in("wang").status_code == 303


# --- behind a reverse proxy (GONGHUI_PROXY_HOPS) ------------------------------------------------------------------


def _addresses_counted(db, tenant) -> set[str]:
    with db() as session, tenancy.tenant_scope(tenant):
        return set(session.scalars(sa.select(LoginThrottle.key).where(LoginThrottle.kind == "address")))


def _guess_through_the_proxy(application, tenant, forwarded_for: str):
    """A wrong password from a client whose request reaches us through our proxy at 10.0.0.2."""
    browser = Browser(application, tenant, address="10.0.0.2")
    browser.client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return browser.sign_in("wang", "guess")


def test_with_no_proxy_configured_a_forwarded_address_is_the_clients_own_word_and_is_ignored(tree, staff, app, db):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))

    _guess_through_the_proxy(app, tree.tenant, "192.0.2.1")
    _guess_through_the_proxy(app, tree.tenant, "192.0.2.2")

    assert _addresses_counted(db, tree.tenant) == {"10.0.0.2"}, "a made-up X-Forwarded-For escapes no limit"


def test_behind_one_configured_proxy_each_client_is_counted_at_the_address_the_proxy_saw(
    tree, staff, app, db, gonghui_settings
):
    import dataclasses

    from core.app import create_app

    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    proxied = create_app(dataclasses.replace(gonghui_settings, proxy_hops=1))
    try:
        _guess_through_the_proxy(proxied, tree.tenant, "192.0.2.1")
        # What the client claimed comes first; our proxy appended the address it saw last, and only that counts.
        _guess_through_the_proxy(proxied, tree.tenant, "203.0.113.9, 192.0.2.2")
    finally:
        proxied.extensions["gonghui_jobs"].stop_worker()
        proxied.extensions["gonghui"].db.engine.dispose()

    assert _addresses_counted(db, tree.tenant) == {"192.0.2.1", "192.0.2.2"}


# --- clean-up -----------------------------------------------------------------------------------------------------


def test_every_hour_expired_codes_and_counts_that_hold_nobody_back_are_deleted_in_every_tenant(
    tree, staff, app, db, jobs, make_tenant
):
    from core.jobs import scheduler_for
    from core.models.login import LoginCode

    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    now = utcnow()
    day = dt.timedelta(days=1)
    with db() as session, tenancy.tenant_scope(tree.tenant):
        for name, expires in (("expired", now - dt.timedelta(minutes=1)), ("valid", now + dt.timedelta(minutes=4))):
            session.add(LoginCode(user_id=wang.id, phone_index=name, salt="s", code_hash="h", expires_at=expires))
        for key, last, blocked in (
            ("quiet for two days", now - 2 * day, None),
            ("locked long ago, and still locked", now - 2 * day, now + day),
            ("failed an hour ago", now - dt.timedelta(hours=1), None),
        ):
            session.add(LoginThrottle(kind="account", key=key, events=3, last_event_at=last, blocked_until=blocked))
    with db() as session, tenancy.platform_scope("test: a platform sign-in's count"):
        session.add(LoginThrottle(tenant_id=None, kind="address", key="203.0.113.1", events=1,
                                  last_event_at=now - 2 * day))

    sent = scheduler_for(app).tick(now=1000.0)
    jobs.drain()

    assert ("core.forget_sign_in_state", None) in sent, "one job covers every tenant and the platform"
    with db() as session, tenancy.platform_scope("test: read what is left"):
        assert sorted(session.scalars(sa.select(LoginCode.phone_index))) == ["valid"]
        assert sorted(session.scalars(sa.select(LoginThrottle.key))) == [
            "failed an hour ago", "locked long ago, and still locked"]


def test_a_deployment_hashes_at_full_cost_and_a_cheaper_hash_is_replaced_at_the_next_sign_in(
    tree, staff, app, db, gonghui_settings
):
    import dataclasses

    from core.app import create_app
    from core.auth import passwords
    from core.models.user import User
    from core.settings import Settings

    assert Settings().password_hashing == "rfc9106-low-memory", "only the test kit hashes cheaply"
    wang = staff(tree.tenant, "wang", ("chairman", tree.yiling_union))  # hashed by the test kit, cheaply
    deployment = create_app(dataclasses.replace(gonghui_settings, password_hashing="rfc9106-low-memory"))
    try:
        assert Browser(deployment, tree.tenant).sign_in("wang").status_code == 303
    finally:
        deployment.extensions["gonghui_jobs"].stop_worker()
        deployment.extensions["gonghui"].db.engine.dispose()

    with db() as session, tenancy.tenant_scope(tree.tenant):
        upgraded = session.get(User, wang.id).password_hash
    assert "$m=65536,t=3,p=4$" in upgraded
    assert not passwords._hasher_for("rfc9106-low-memory").check_needs_rehash(upgraded)
