"""Managing users on the staff pages: a tenant admin creates a user with a first role and hands over a one-time
password (or none, for SMS sign-in); deactivates, reactivates, resets a password, lifts a lock and links an
account to its person. A county admin does this only to users of their county; nobody to themselves."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core import tenancy
from core.auth import login
from core.db import utcnow
from core.models.audit import AuditRecord
from core.models.user import User
from tests.pages.kit import PageClient, sign_in
from tests.pages.test_staff_pages import XILING_ID, YILING_ID, text, world  # noqa: F401  (world: a fixture)

pytestmark = pytest.mark.plugins("sms_console")


def _one_time_password(response) -> str:
    return text(response).split('data-testid="one-time-password">')[1].split("<")[0]


def _actions(db, tenant) -> list[str]:
    with db() as session, tenancy.tenant_scope(tenant):
        return list(session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)))


def _user_id(db, tenant, username: str) -> int:
    with db() as session, tenancy.tenant_scope(tenant):
        return session.scalar(sa.select(User.id).where(User.username == username))


def test_a_tenant_admin_creates_a_user_who_signs_in_with_the_one_time_password(app, world, db):
    admin = PageClient(app, world.cities.yichang, "admin")
    assert "/users/new" in text(admin.get("/users"))
    made = admin.post("/users/new", data={"username": "Zhang", "display_name": "张干事", "phone": "",
                                          "role": "operator", "organization_id": world.yiling_union})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    password = _one_time_password(made)
    assert len(password) == 12

    PageClient(app, world.cities.yichang, "zhang", password)  # signs in with it
    assert "zhang" in text(admin.get("/users"))
    assert password not in text(admin.get("/users"))
    assert "user.create" in _actions(db, world.cities.yichang)


def test_a_member_who_signs_in_by_sms_gets_no_password(app, world, db):
    admin = PageClient(app, world.cities.yichang, "admin")
    made = admin.post("/users/new", data={"username": "zhao5", "phone": "13800005555", "role": "member",
                                          "organization_id": world.yiling_union, "sms_only": "1"})
    assert made.status_code == 200 and "只能用短信验证码登录" in _one_time_password(made)
    with db() as session, tenancy.tenant_scope(world.cities.yichang):
        assert session.scalar(sa.select(User.password_hash).where(User.username == "zhao5")) is None


def test_a_wrong_new_user_form_keeps_what_was_typed_and_names_the_field(app, world, db):
    admin = PageClient(app, world.cities.yichang, "admin")
    taken = admin.post("/users/new", data={"username": "yiling", "display_name": "重名的人", "phone": "138",
                                           "role": "chairman", "organization_id": world.yiling_union})
    assert taken.status_code == 409
    page = text(taken)
    assert 'value="重名的人"' in page and 'id="username-error"' in page and "该用户名已被使用" in page
    short_phone = admin.post("/users/new", data={"username": "qian", "phone": "138", "role": "chairman",
                                                 "organization_id": world.yiling_union})
    assert short_phone.status_code == 422 and 'id="phone-error"' in text(short_phone)
    admin_by_sms = admin.post("/users/new", data={"username": "qian", "role": "federation_admin",
                                                  "organization_id": world.yiling, "sms_only": "1"})
    assert admin_by_sms.status_code == 422 and 'id="sms_only-error"' in text(admin_by_sms)
    assert 'id="phone-error"' in text(admin_by_sms) and 'value="qian"' in text(admin_by_sms)
    with db() as session, tenancy.tenant_scope(world.cities.yichang):
        assert session.scalar(sa.select(User.id).where(User.username == "qian")) is None

    yiling = PageClient(app, world.cities.yichang, "yiling")
    outside = yiling.post("/users/new", data={"username": "sun", "role": "chairman",
                                              "organization_id": world.xiling_union})
    assert outside.status_code == 404 and 'id="organization_id-error"' in text(outside)


def test_deactivate_reactivate_and_reset_sign_the_user_out_and_are_on_record(app, world, db):
    admin = PageClient(app, world.cities.yichang, "admin")
    yiling = PageClient(app, world.cities.yichang, "yiling")
    user_id = world.yiling_admin
    assert admin.post(f"/users/{user_id}/deactivate").status_code == 303
    assert "已停用" in text(admin.get(f"/users/{user_id}"))
    assert yiling.get("/users").status_code in (302, 303, 401)  # the session is gone
    assert admin.post(f"/users/{user_id}/activate").status_code == 303

    reset = admin.post(f"/users/{user_id}/password")
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    password = _one_time_password(reset)
    PageClient(app, world.cities.yichang, "yiling", password)
    changes = [a for a in _actions(db, world.cities.yichang) if a in ("user.deactivate", "user.activate", "user.update")]
    assert changes == ["user.deactivate", "user.activate", "user.update"]

    me = PageClient(app, world.cities.yichang, "admin")
    admin_id = _user_id(db, world.cities.yichang, "admin")
    assert me.post(f"/users/{admin_id}/password").status_code == 422, "not your own: use the change-password page"


def test_a_county_admin_cannot_touch_a_user_of_another_county_or_the_tenant_admin(app, world):
    xiling = PageClient(app, world.cities.yichang, "xiling")
    assert xiling.post(f"/users/{world.yiling_admin}/deactivate").status_code == 404
    assert xiling.post(f"/users/{world.yiling_admin}/password").status_code == 404


def test_an_admin_lifts_a_lock(app, world, db):
    admin = PageClient(app, world.cities.yichang, "admin")
    with db() as session, tenancy.tenant_scope(world.cities.yichang):  # as wrong passwords leave it
        login.throttles(session, world.cities.yichang.id, [("account", "yiling")])["account"].blocked_until = \
            utcnow() + dt.timedelta(minutes=15)
    assert "解除锁定</button>" in text(admin.get(f"/users/{world.yiling_admin}"))
    assert admin.post(f"/users/{world.yiling_admin}/unlock").status_code == 303
    assert "解除锁定</button>" not in text(admin.get(f"/users/{world.yiling_admin}"))
    assert "user.unlock" in _actions(db, world.cities.yichang)


def test_an_account_is_linked_to_its_person_by_id_number(app, world, db):
    admin = PageClient(app, world.cities.yichang, "admin")
    user_id = world.yiling_admin
    assert admin.post(f"/users/{user_id}/person", data={"id_number": "12345"}).status_code == 422
    assert admin.post(f"/users/{user_id}/person", data={"id_number": YILING_ID}).status_code == 303
    page = text(admin.get(f"/users/{user_id}"))
    assert "陈会员" in page and YILING_ID not in page
    made = admin.post("/users/new", data={"username": "chen2", "role": "member",
                                          "organization_id": world.yiling_union})
    other = _user_id(db, world.cities.yichang, "chen2")
    assert made.status_code == 200
    taken = admin.post(f"/users/{other}/person", data={"id_number": YILING_ID})
    assert taken.status_code == 409 and 'id="id_number-error"' in text(taken)

    yiling = PageClient(app, world.cities.yichang, "yiling")
    outside = yiling.post(f"/users/{other}/person", data={"id_number": XILING_ID})
    assert outside.status_code == 404 and 'id="id_number-error"' in text(outside)


@pytest.mark.browser
def test_a_tenant_admin_creates_a_user_in_the_browser(world, server, page, shoot):
    page.goto(server.url(world.cities.yichang, "/login?next=/users/new"))
    sign_in(page, "admin")
    page.get_by_label("用户名", exact=True).fill("zhou")
    page.get_by_label("姓名", exact=True).fill("周干事")
    page.get_by_label("角色", exact=True).select_option(label="工会工作人员")
    page.get_by_label("所在组织").select_option(label="宜昌某某物流有限公司工会委员会")
    shoot(page, "staff-user-new-desktop")
    page.get_by_role("button", name="创建用户").click()
    assert len(page.get_by_test_id("one-time-password").inner_text()) == 12
