"""Workers sign themselves up on their city's pages: real name, ID number, a phone proved by an SMS code."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core import id_numbers, tenancy
from core.auth import login
from core.models.audit import AuditRecord
from core.models.person import Person
from core.models.user import User
from core.registry import memberships, people
from plugins.sms_console.models import ConsoleMessage
from tests.core.test_auth_kit import Browser, audit_actions, staff, tree  # noqa: F401

pytestmark = pytest.mark.plugins("sms_console")

PHONE = "13712345678"


def id_number(n: int = 1, region: str = "420506") -> str:
    first17 = f"{region}19900101{100 + 2 * n + 1:03d}"
    return first17 + id_numbers.check_character(first17)


def form(**changes) -> dict:
    return {"name": "张小红", "id_number": id_number(), "phone": PHONE} | changes


def last_code(db, tenant, jobs, phone=PHONE) -> str:
    jobs.drain()
    with db() as session, tenancy.tenant_scope(tenant):
        text = session.scalars(sa.select(ConsoleMessage.text).where(ConsoleMessage.phone == phone)
                               .order_by(ConsoleMessage.id.desc())).first()
    return re.search(r"验证码为(\d{6})", text).group(1)


def sign_up(browser, db, tenant, jobs, **changes):
    data = form(**changes)
    sent = browser.submit("/signup", data | {"action": "send"})
    assert sent.status_code == 200, sent.text
    code = changes.pop("code", None) or last_code(db, tenant, jobs, data["phone"])
    return browser.submit("/signup", data | {"action": "sign_up", "code": code})


def test_a_new_worker_signs_up_and_is_registered_as_a_person_linked_to_the_account(app, tree, db, jobs):
    browser = Browser(app, tree.tenant)
    response = sign_up(browser, db, tree.tenant, jobs, username="xiaohong", password="hong-2026!")

    assert response.status_code == 303 and response.location.endswith("/me")
    page = browser.get("/me").text
    assert "张小红" in page and "420506********" in page and id_number() not in page
    with db() as session, tenancy.tenant_scope(tree.tenant):
        user = session.scalar(sa.select(User).where(User.username == "xiaohong"))
        person = session.get(Person, user.person_id)
        assert (person.name, person.id_number, person.phone, user.phone) == ("张小红", id_number(), PHONE, PHONE)
        record = session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "user.sign_up"))
        assert record.after["source"] == "self_registration" and record.after["person"] == "registered"
        assert record.actor == "xiaohong" and PHONE not in str(record.after)
    assert browser.submit("/logout", {}).status_code == 303
    assert browser.sign_in("xiaohong", "hong-2026!").status_code == 303


def test_a_worker_on_record_is_linked_to_their_person_and_signs_in_by_sms_only(app, tree, db, jobs):
    with db() as session, tenancy.tenant_scope(tree.tenant):
        person = people.create(session, id_number=id_number(2), name="李四", actor="test")
        memberships.join(session, person=person, organization=tree.yiling_union, actor="test")
        person_id = person.id
    browser = Browser(app, tree.tenant)

    assert sign_up(browser, db, tree.tenant, jobs, name="李四", id_number=id_number(2)).status_code == 303

    assert "宜昌某某物流有限公司工会委员会" in browser.get("/me").text
    with db() as session, tenancy.tenant_scope(tree.tenant):
        user = session.scalar(sa.select(User).where(User.person_id == person_id))
        assert user.password_hash is None and user.username.startswith("sms-")
        assert session.get(Person, person_id).phone == PHONE, "the proved phone fills the empty one"
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
    assert login.may_use_codes(user)


@pytest.mark.parametrize("changes, field, says", [
    ({"name": ""}, "name", "真实姓名：必填"),
    ({"id_number": "42050619900101123X"}, "id_number", "身份证号：校验位不对，应为"),
    ({"phone": "2345"}, "phone", "手机号码："),
])
def test_a_wrong_field_is_named_and_what_was_typed_is_kept(app, tree, changes, field, says):
    browser = Browser(app, tree.tenant)
    response = browser.submit("/signup", form(**changes) | {"action": "send"})

    assert response.status_code == 422
    assert says in response.text
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', response.text)
    assert f'value="{form(**changes)["id_number"]}"' in response.text


def test_an_id_number_that_has_an_account_already_is_refused(app, tree, db, jobs):
    assert sign_up(Browser(app, tree.tenant), db, tree.tenant, jobs).status_code == 303

    again = sign_up(Browser(app, tree.tenant, address="203.0.113.20"), db, tree.tenant, jobs, phone="13712340000")
    assert again.status_code == 409 and "身份证号：已有账号" in again.text


def test_a_phone_bound_to_another_person_is_refused(app, tree, db, jobs):
    with db() as session, tenancy.tenant_scope(tree.tenant):
        people.create(session, id_number=id_number(3), name="王五", phone=PHONE, actor="test")

    response = sign_up(Browser(app, tree.tenant), db, tree.tenant, jobs)
    assert response.status_code == 409 and "手机号码：已属于本平台的其他账号或人员" in response.text


def test_what_the_registry_holds_is_told_only_to_someone_holding_a_valid_code(app, tree, db, jobs):
    with db() as session, tenancy.tenant_scope(tree.tenant):
        people.create(session, id_number=id_number(3), name="王五", phone=PHONE, actor="test")
    browser = Browser(app, tree.tenant)

    sent = browser.submit("/signup", form() | {"action": "send"})
    guessed = browser.submit("/signup", form() | {"action": "sign_up", "code": "999999"})

    assert sent.status_code == 200 and "已属于" not in sent.text
    assert guessed.status_code == 401 and "已属于" not in guessed.text


def test_knowing_a_name_and_id_number_is_not_enough_to_claim_someone_with_a_phone_on_record(app, tree, db, jobs):
    with db() as session, tenancy.tenant_scope(tree.tenant):
        people.create(session, id_number=id_number(4), name="赵六", phone="13800000004", actor="test")
    browser = Browser(app, tree.tenant)
    browser.submit("/signup", form(name="赵七", id_number=id_number(4)) | {"action": "send"})
    code = last_code(db, tree.tenant, jobs)

    wrong_name = browser.submit("/signup", form(name="赵七", id_number=id_number(4)) | {"action": "sign_up",
                                                                                     "code": code})
    other_phone = browser.submit("/signup", form(name="赵六", id_number=id_number(4)) | {"action": "sign_up",
                                                                                      "code": code})

    assert wrong_name.status_code == 422 and "与登记的姓名不一致" in wrong_name.text
    assert other_phone.status_code == 409 and "与登记的手机号码不一致" in other_phone.text, "a refusal spends no code"
    with db() as session, tenancy.tenant_scope(tree.tenant):
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_wrong_code_is_refused_and_a_code_works_once(app, tree, db, jobs):
    browser = Browser(app, tree.tenant)
    browser.submit("/signup", form() | {"action": "send"})
    code = last_code(db, tree.tenant, jobs)
    other = "000000" if code != "000000" else "111111"
    wrong = browser.submit("/signup", form() | {"action": "sign_up", "code": other})
    assert wrong.status_code == 401 and "验证码错误或已失效" in wrong.text
    assert re.search(r'id="code"[^>]*aria-invalid="true"', wrong.text)

    cookie = browser.client.get_cookie("session")
    assert browser.submit("/signup", form() | {"action": "sign_up", "code": code}).status_code == 303
    with db() as session, tenancy.tenant_scope(tree.tenant):
        session.execute(sa.delete(User))  # the account gone, the old cookie replayed: the code is spent
    replay = Browser(app, tree.tenant)
    replay.client.set_cookie("session", cookie.value, domain=cookie.domain)
    response = replay.submit("/signup", form() | {"action": "sign_up", "code": code})
    assert response.status_code == 401


def test_a_code_for_another_number_does_not_sign_up_this_one(app, tree, db, jobs):
    browser = Browser(app, tree.tenant)
    browser.submit("/signup", form() | {"action": "send"})
    code = last_code(db, tree.tenant, jobs)

    response = browser.submit("/signup", form(phone="13712340001") | {"action": "sign_up", "code": code})
    assert response.status_code == 401


def test_a_weak_password_is_named_before_the_code_is_spent(app, tree, db, jobs):
    browser = Browser(app, tree.tenant)
    browser.submit("/signup", form() | {"action": "send"})
    code = last_code(db, tree.tenant, jobs)

    weak = browser.submit("/signup", form(username="xh") | {"action": "sign_up", "code": code, "password": "123"})
    assert weak.status_code == 422 and "密码：" in weak.text
    assert browser.submit("/signup", form() | {"action": "sign_up", "code": code}).status_code == 303


def test_a_worker_downloads_their_own_data_and_the_read_is_on_record(app, tree, db, jobs):
    browser = Browser(app, tree.tenant)
    sign_up(browser, db, tree.tenant, jobs)

    response = browser.get("/me/export")

    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert response.json["person"]["id_number"] == id_number() and response.json["person"]["name"] == "张小红"
    assert "person.export" in audit_actions(db, tree.tenant)


def test_a_staff_account_without_a_person_has_no_data_to_download(app, tree, staff):
    staff(tree.tenant, "wang", ("chairman", tree.yiling_union))
    browser = Browser(app, tree.tenant)
    browser.sign_in("wang")
    assert browser.get("/me/export").status_code == 404
