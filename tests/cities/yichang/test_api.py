"""Online join and transfer through the API, as the worker and the staff of 宜昌 use it: each step with the token
of the role that takes it, each SMS observed at the tenant's gateway."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from cities.yichang import applications
from cities.yichang.models import Application
from core import id_numbers
from core.auth import accounts
from core.models.audit import AuditRecord
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.unit import Unit
from core.registry import memberships
from tests.cities.yichang.conftest import _Setup, new_id_number, new_phone
from tests.core.test_auth_kit import Browser, token_for
from tests.core.test_signup import sign_up

pytestmark = pytest.mark.plugins("sms_console", "yichang")

APPLICATIONS = "/api/v1/yichang/applications"


# --- the people at the desks ---------------------------------------------------------------------------------------


@pytest.fixture
def desk(yichang, app, db, api):
    """``desk(username, role, org_name, phone=)`` -> an API client holding that staff member's token."""

    def make(username, role, organization, *, phone=None):
        user = yichang.staff(username, role, organization, phone=phone)
        return api(yichang.tenant, token_for(app, db, yichang.tenant, user))

    return make


@pytest.fixture
def city_admin(desk):
    return desk("shi", "federation_admin", "宜昌市总工会")


@pytest.fixture
def county_admin(desk):
    """夷陵区's admin, who gets the dispatch SMS."""
    return desk("yiling", "federation_admin", "夷陵区总工会", phone="13800000001")


@pytest.fixture
def worker(yichang, app, db, api):
    """``worker(name, age=, phone=)`` -> (person, client): a person in the registry with an account linked to them,
    as a worker's sign-up makes it, and the account's token."""

    def make(name="张小红", *, age=30, sex="F", phone=None):
        phone = phone or new_phone()
        person = yichang.person(name, age=age, sex=sex, phone=phone)

        def account(session):
            user = accounts.create_user(session, actor=_Setup(), username=f"w{person.id}", phone=phone)
            accounts.link_person(session, user, session.get(Person, person.id), actor=_Setup())
            session.flush()
            session.expunge(user)
            return user

        user = yichang.run(account)
        return person, api(yichang.tenant, token_for(app, db, yichang.tenant, user))

    return make


def apply(client, unit=None, **form):
    body = {"unit_id": unit.id if unit is not None else None, "channel": "mobile"} | form
    return client.post(APPLICATIONS, json=body)


def step(client, application_id, name, body=None, etag=None):
    """Take a workflow step as the page does: read the application, then act with its ETag."""
    if etag is None:
        read = client.get(f"{APPLICATIONS}/{application_id}")
        assert read.status_code == 200, read.json
        etag = read.headers["ETag"]
    return client.post(f"{APPLICATIONS}/{application_id}/{name}", json=body, headers={"If-Match": etag})


def active_membership(yichang, person):
    return yichang.run(lambda session: (lambda m: (m.organization_id, m.parked) if m else None)(
        memberships.current(session, session.get(Person, person.id))))


# --- the flows ------------------------------------------------------------------------------------------------------


def test_a_worker_signs_up_applies_on_the_mobile_page_and_is_a_member_after_dispatch_verification_and_approval(
        yichang, app, db, jobs, city_admin, county_admin, desk):
    union = yichang.union("宜昌某某物流有限公司工会委员会")
    unit = yichang.unit("宜昌某某物流有限公司", region="夷陵区", union=union.name)
    chairman = desk("wang", "chairman", union.name, phone="13800000002")
    phone, number = "13712345601", new_id_number(age=28)
    browser = Browser(app, yichang.tenant)
    assert sign_up(browser, db, yichang.tenant, jobs, name="张小红", id_number=number, phone=phone).status_code == 303

    applied = browser.api("POST", APPLICATIONS, json={"unit_id": unit.id, "region_id": yichang.region("夷陵区").id,
                                                      "channel": "mobile", "wants": "join"})
    assert applied.status_code == 201, applied.json
    assert (applied.json["kind"], applied.json["status"], applied.json["colour"]) == ("join", "submitted", "white")
    assert applied.json["id_number"] == number[:6] + "********" + number[-4:]
    application_id = applied.json["id"]
    assert "已提交" in yichang.sms_to(phone)[-1] and "前办结" in yichang.sms_to(phone)[-1]

    assert city_admin.get(f"{APPLICATIONS}/{application_id}/dispatch-target").json["name"] == "夷陵区总工会"
    dispatched = step(city_admin, application_id, "dispatch", {"organization_id": yichang.org("夷陵区总工会").id})
    assert dispatched.status_code == 200, dispatched.json
    assert (dispatched.json["status"], dispatched.json["handler"]) == ("dispatched", "夷陵区总工会")
    [task] = yichang.sms_to("13800000001")
    assert f"编号{application_id}" in task and "宜昌某某物流有限公司" in task and "完成信息校核" in task

    verified = step(county_admin, application_id, "verify", {"unit_id": unit.id})
    assert verified.status_code == 200, verified.json
    assert (verified.json["status"], verified.json["colour"], verified.json["organization"]) == (
        "verified", "yellow", union.name)
    assert "待审批" in yichang.sms_to("13800000002")[-1]

    approved = step(chairman, application_id, "approve")
    assert approved.status_code == 200, approved.json
    assert (approved.json["status"], approved.json["colour"]) == ("approved", "green")
    assert yichang.sms_to(phone)[-1].startswith("您好！您的入会申请已经通过审核，已为您办理入会相关手续")
    mine = browser.api("GET", f"{APPLICATIONS}/mine")
    assert [(a["id"], a["status_name"], a["colour"]) for a in mine.json] == [(application_id, "已通过", "green")]
    assert mine.json[0]["due_on"] == applied.json["due_on"]
    person_id = yichang.get(Application, id=application_id).person_id
    assert yichang.run(lambda s: s.scalar(sa.select(Membership.organization_id).where(
        Membership.person_id == person_id, Membership.status == "active"))) == union.id


def test_a_worker_whose_unit_has_no_union_is_told_in_the_approval_sms_where_the_membership_is_held(
        yichang, worker, city_admin, county_admin, desk):
    unit = yichang.unit("宜昌某某建材有限公司", region="夷陵区")
    person, me = worker("王大力", sex="M")
    application_id = apply(me, unit).json["id"]
    step(city_admin, application_id, "dispatch", {"organization_id": yichang.org("夷陵区总工会").id})

    verified = step(county_admin, application_id, "verify", {"unit_id": unit.id})
    assert (verified.json["organization"], verified.json["parked"]) == ("夷陵区职工服务中心工会委员会", True)
    approved = step(county_admin, application_id, "approve")  # the service centre's committee sits at the county

    assert approved.status_code == 200, approved.json
    assert active_membership(yichang, person) == (yichang.org("夷陵区职工服务中心工会委员会").id, True)
    assert "会籍暂时保留在夷陵区职工服务中心工会委员会" in yichang.sms_to(person.phone)[-1]


def test_a_member_who_applies_again_transfers_and_the_sms_names_both_unions(yichang, worker, city_admin,
                                                                             county_admin, desk):
    old_union, new_union = yichang.union("宜昌甲公司工会委员会"), yichang.union("宜昌乙公司工会委员会")
    new_unit = yichang.unit("宜昌乙公司", union=new_union.name)
    chairman = desk("yi", "chairman", new_union.name)
    person, me = worker()
    yichang.run(lambda s: memberships.join(s, person=s.get(Person, person.id),
                                           organization=s.get(Organization, old_union.id)))

    applied = apply(me, new_unit, wants="transfer")
    assert applied.json["kind"] == "transfer"
    step(city_admin, applied.json["id"], "dispatch", {"organization_id": yichang.org("夷陵区总工会").id})
    step(county_admin, applied.json["id"], "verify", {"unit_id": new_unit.id})
    approved = step(chairman, applied.json["id"], "approve")

    assert approved.json["status"] == "approved"
    assert active_membership(yichang, person) == (new_union.id, False)
    assert "已由宜昌甲公司工会委员会转入宜昌乙公司工会委员会" in yichang.sms_to(person.phone)[-1]


def test_a_minor_is_refused_at_once_the_refusal_is_on_record_and_texted(yichang, worker):
    person, me = worker("小明", age=15, sex="M")

    applied = apply(me, yichang.unit("宜昌丁公司"))

    assert applied.status_code == 201
    assert (applied.json["status"], applied.json["colour"], applied.json["reason_text"]) == (
        "refused", "red", "未满16周岁")
    [text] = yichang.sms_to(person.phone)
    assert text.startswith("您好！很抱歉！您暂时不符合《中国工会章程》规定的入会条件") and "未满16周岁" in text
    assert yichang.run(lambda s: list(s.scalars(sa.select(AuditRecord.action).where(
        AuditRecord.action.startswith("yichang.application."),
        AuditRecord.object_id == str(applied.json["id"]))))) == ["yichang.application.refuse"]


def test_the_city_admin_turns_down_an_application_whose_union_is_not_in_the_city(yichang, worker, city_admin):
    person, me = worker()
    application_id = apply(me, other_unit_name="武汉某某有限公司", region_id=yichang.region("夷陵区").id).json["id"]

    rejected = step(city_admin, application_id, "reject", {"reason": "not_in_city"})

    assert (rejected.status_code, rejected.json["status"], rejected.json["colour"]) == (200, "rejected", "red")
    assert "申请单位工会组织关系不在本市" in yichang.sms_to(person.phone)[-1]


def test_a_chairman_turns_down_an_application_to_a_unit_that_is_not_the_workers_own_and_asks_to_resubmit(
        yichang, worker, city_admin, county_admin, desk):
    union = yichang.union("宜昌辛公司工会委员会")
    unit = yichang.unit("宜昌辛公司", union=union.name)
    chairman = desk("xin", "chairman", union.name)
    person, me = worker()
    application_id = apply(me, unit).json["id"]
    step(city_admin, application_id, "dispatch", {"organization_id": yichang.org("夷陵区总工会").id})
    step(county_admin, application_id, "verify", {"unit_id": unit.id})

    assert step(chairman, application_id, "dispatch", {"organization_id": 1}).status_code == 403
    rejected = step(chairman, application_id, "reject", {"reason": "not_own_unit", "text": "经核实不是本单位职工"})

    assert (rejected.json["status"], rejected.json["reason_text"]) == ("rejected", "经核实不是本单位职工")
    assert "请核实所在单位后重新提交申请" in yichang.sms_to(person.phone)[-1]
    assert apply(me, unit).json["status"] == "submitted"


def test_a_phone_bound_to_another_person_is_refused_until_the_county_admin_releases_it(yichang, worker, desk):
    union = yichang.union("宜昌庚公司工会委员会")
    imported = yichang.person("王五", phone="13900001111")  # a record imported with the worker's phone
    yichang.run(lambda s: memberships.join(s, person=s.get(Person, imported.id),
                                           organization=s.get(Organization, union.id)))
    person, me = worker("李四", phone="13900001111")
    unit = yichang.unit("宜昌庚公司", union=union.name)
    refused = apply(me, unit)
    assert (refused.json["status"], refused.json["reason"]) == ("refused", "yichang.phone_bound")
    texts_before = len(yichang.sms_to("13900001111"))

    elsewhere = desk("xiling", "federation_admin", "西陵区总工会").post(
        "/api/v1/yichang/phone-releases", json={"phone": "139 0000 1111"})
    released = desk("yiling", "federation_admin", "夷陵区总工会").post(
        "/api/v1/yichang/phone-releases", json={"phone": "139 0000 1111"})

    assert elsewhere.status_code == 404 and elsewhere.json["code"] == "phone_not_held"
    assert released.status_code == 200, released.json
    assert released.json == {"phone": "139****1111", "kept_person_id": person.id, "released": [
        {"person_id": imported.id, "name": "王五", "organization": union.name}]}
    assert yichang.get(Person, id=imported.id).phone is None
    assert yichang.get(Person, id=person.id).phone == "13900001111"
    assert yichang.run(lambda s: s.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "yichang.phone.release"))) == 1
    assert len(yichang.sms_to("13900001111")) == texts_before, "releasing a phone sends no SMS"
    assert apply(me, unit).json["status"] == "submitted"


def test_a_chairman_moves_out_a_member_who_left_and_the_member_is_texted(yichang, app, db, desk):
    union = yichang.union("宜昌某某机械有限公司工会委员会")
    chairman = desk("ji", "chairman", union.name)
    stranger = desk("other", "chairman", "宜昌示例物流有限公司工会委员会")
    member = yichang.person("赵六")
    yichang.run(lambda s: memberships.join(s, person=s.get(Person, member.id),
                                           organization=s.get(Organization, union.id)))
    url = f"/api/v1/yichang/members/{member.id}/move-out"
    etag = chairman.get(f"/api/v1/people/{member.id}/memberships/current").headers["ETag"]

    assert stranger.post(url, json={}, headers={"If-Match": etag}).status_code == 404
    assert chairman.post(url, json={}).status_code == 428
    moved = chairman.post(url, json={}, headers={"If-Match": etag})

    assert moved.status_code == 200, moved.json
    assert (moved.json["organization"], moved.json["parked"]) == ("夷陵区职工服务中心工会委员会", True)
    assert "已由宜昌某某机械有限公司工会委员会迁出，暂由夷陵区职工服务中心工会委员会管理" in yichang.sms_to(member.phone)[-1]
    assert chairman.post(url, json={}, headers={"If-Match": etag}).status_code == 404, "no longer their member"


def test_a_member_leaving_the_city_is_held_by_the_service_centre_of_the_county_they_live_in(yichang, desk):
    union = yichang.union("宜昌某某电子有限公司工会委员会")
    chairman = desk("dz", "chairman", union.name)
    member = yichang.person("钱七")
    yichang.run(lambda s: memberships.join(s, person=s.get(Person, member.id),
                                           organization=s.get(Organization, union.id)))
    url = f"/api/v1/yichang/members/{member.id}/move-out"
    etag = chairman.get(f"/api/v1/people/{member.id}/memberships/current").headers["ETag"]

    unnamed = chairman.post(url, json={"leaving_city": True}, headers={"If-Match": etag})
    moved = chairman.post(url, json={"leaving_city": True, "residence_region_id": yichang.region("西陵区").id},
                          headers={"If-Match": etag})

    assert unnamed.status_code == 422 and "residence_region_id" in unnamed.json["errors"]
    assert moved.json["organization"] == "西陵区职工服务中心工会委员会"


def test_a_county_admin_cannot_hand_an_application_to_a_union_in_another_county(yichang, worker, city_admin,
                                                                                  county_admin):
    unit = yichang.unit("宜昌某某家具有限公司", region="夷陵区")
    _person, me = worker()
    application_id = apply(me, unit).json["id"]
    step(city_admin, application_id, "dispatch", {"organization_id": yichang.org("夷陵区总工会").id})

    elsewhere = step(county_admin, application_id, "verify",
                     {"unit_id": unit.id, "organization_id": yichang.org("宜昌示例软件有限公司工会委员会").id})
    own = step(county_admin, application_id, "verify",
               {"unit_id": unit.id, "organization_id": yichang.org("龙泉镇工业园联合工会").id})

    assert elsewhere.status_code == 422 and list(elsewhere.json["errors"]) == ["organization_id"]
    assert "宜昌示例软件有限公司工会委员会不在您的管辖范围内" in elsewhere.json["errors"]["organization_id"][0]
    assert (own.status_code, own.json["organization"]) == (200, "龙泉镇工业园联合工会")


# --- who sees what --------------------------------------------------------------------------------------------------


def test_each_desk_sees_the_applications_of_its_own_subtree_and_nothing_else(yichang, worker, city_admin,
                                                                              county_admin, desk):
    union = yichang.union("宜昌壬公司工会委员会")
    unit = yichang.unit("宜昌壬公司", union=union.name)
    chairman = desk("ren", "chairman", union.name)
    other_chairman = desk("wl", "chairman", "宜昌示例物流有限公司工会委员会")
    xiling_admin = desk("xiling", "federation_admin", "西陵区总工会")
    _person, me = worker()
    application_id = apply(me, unit).json["id"]
    url = f"{APPLICATIONS}/{application_id}"

    assert county_admin.get(url).status_code == 404, "not dispatched yet: only the city sees it"
    assert [a["id"] for a in city_admin.get(APPLICATIONS).json] == [application_id]
    step(city_admin, application_id, "dispatch", {"organization_id": yichang.org("夷陵区总工会").id})
    assert county_admin.get(url).status_code == 200
    assert xiling_admin.get(url).status_code == 404
    assert xiling_admin.get(APPLICATIONS).json == []
    assert step(xiling_admin, application_id, "verify", {"unit_id": unit.id}, etag="*").status_code == 404
    step(county_admin, application_id, "verify", {"unit_id": unit.id})

    assert [a["id"] for a in chairman.get(APPLICATIONS).json] == [application_id]
    assert other_chairman.get(url).status_code == 404
    assert other_chairman.get(APPLICATIONS).json == []
    assert step(other_chairman, application_id, "approve", etag="*").status_code == 404
    assert step(chairman, application_id, "approve").status_code == 200


def test_a_worker_reads_their_own_applications_newest_first_and_never_anothers(yichang, worker):
    unit = yichang.unit("宜昌己公司")
    _person, me = worker()
    _other, someone = worker("周八")
    first = apply(me, unit).json
    withdrawn = me.post(f"{APPLICATIONS}/{first['id']}/withdraw",
                        headers={"If-Match": me.get(f"{APPLICATIONS}/{first['id']}").headers["ETag"]})
    second = apply(me, unit).json

    mine = me.get(f"{APPLICATIONS}/mine")

    assert withdrawn.json["colour"] == "grey"
    assert [(a["id"], a["status"], a["colour"]) for a in mine.json] == [
        (second["id"], "submitted", "white"), (first["id"], "withdrawn", "grey")]
    assert all(a["due_on"] for a in mine.json)
    assert someone.get(f"{APPLICATIONS}/{second['id']}").status_code == 404
    assert someone.post(f"{APPLICATIONS}/{second['id']}/withdraw", headers={"If-Match": "*"}).status_code == 404
    assert someone.get(f"{APPLICATIONS}/mine").json == []
    assert someone.get(APPLICATIONS).status_code == 403, "the staff queue is for staff"


def test_an_account_not_linked_to_a_person_is_told_why_it_cannot_apply(yichang, api, city_admin):
    assert api(yichang.tenant).post(APPLICATIONS, json={}).status_code == 401

    refused = city_admin.post(APPLICATIONS, json={"other_unit_name": "宜昌某公司"})

    assert refused.status_code == 403 and refused.json["code"] == "no_linked_person"
    assert "ID number" in refused.json["message"]


def test_ids_that_do_not_exist_are_422_naming_the_field(yichang, worker, city_admin):
    _person, me = worker()

    bad_region = apply(me, other_unit_name="宜昌某公司", region_id=987654321)
    bad_unit = me.post(APPLICATIONS, json={"unit_id": 987654321})
    nothing = me.post(APPLICATIONS, json={})
    application_id = apply(me, other_unit_name="宜昌某公司").json["id"]
    bad_target = step(city_admin, application_id, "dispatch", {"organization_id": 987654321})
    not_a_handler = step(city_admin, application_id, "dispatch",
                         {"organization_id": yichang.org("宜昌示例物流有限公司工会委员会").id})

    assert [(r.status_code, list(r.json["errors"])) for r in (bad_region, bad_unit, nothing, bad_target,
                                                             not_a_handler)] == [
        (422, ["region_id"]), (422, ["unit_id"]), (422, ["unit_id"]), (422, ["organization_id"]),
        (422, ["organization_id"])]


# --- ETags ----------------------------------------------------------------------------------------------------------


def test_two_admins_dispatching_one_application_the_second_is_told_it_changed(yichang, worker, city_admin, desk):
    other_admin = desk("boss", "tenant_admin", None)
    _person, me = worker()
    application_id = apply(me, other_unit_name="宜昌某公司", region_id=yichang.region("夷陵区").id).json["id"]
    etag = city_admin.get(f"{APPLICATIONS}/{application_id}").headers["ETag"]
    assert other_admin.get(f"{APPLICATIONS}/{application_id}").headers["ETag"] == etag

    first = step(city_admin, application_id, "dispatch", {"organization_id": yichang.org("夷陵区总工会").id}, etag)
    second = step(other_admin, application_id, "dispatch", {"organization_id": yichang.org("西陵区总工会").id}, etag)
    missing = other_admin.post(f"{APPLICATIONS}/{application_id}/dispatch", json={"organization_id": 1})
    again = step(other_admin, application_id, "dispatch", {"organization_id": yichang.org("西陵区总工会").id})

    assert first.status_code == 200 and first.headers["ETag"] != etag
    assert second.status_code == 412 and second.json["code"] == "precondition_failed"
    assert missing.status_code == 428
    assert again.status_code == 409 and again.json["code"] == "wrong_status"
    assert yichang.get(Application, id=application_id).dispatched_to_id == yichang.org("夷陵区总工会").id


def test_an_applicant_withdrawing_with_a_stale_etag_gets_412(yichang, worker):
    _person, me = worker()
    application_id = apply(me, other_unit_name="宜昌某公司").json["id"]
    etag = me.get(f"{APPLICATIONS}/{application_id}").headers["ETag"]

    withdrawn = me.post(f"{APPLICATIONS}/{application_id}/withdraw", headers={"If-Match": etag})
    stale = me.post(f"{APPLICATIONS}/{application_id}/withdraw", headers={"If-Match": etag})

    assert withdrawn.json["status"] == "withdrawn"
    assert stale.status_code == 412


# --- the queue ------------------------------------------------------------------------------------------------------


def test_the_city_admin_filters_the_queue_by_status_kind_colour_unit_name_and_what_is_overdue(
        yichang, worker, city_admin):
    unit = yichang.unit("宜昌某某食品有限公司")
    _a, first = worker("甲")
    _b, second = worker("乙")
    late_person = yichang.person("丙")
    new = apply(first, unit).json["id"]
    other = apply(second, other_unit_name="宜昌某某纺织有限公司").json["id"]
    step(city_admin, other, "dispatch", {"organization_id": yichang.org("夷陵区总工会").id})
    long_ago = id_numbers.today() - dt.timedelta(days=30)
    late = yichang.run(lambda s: applications.submit(s, yichang.tenant, person=s.get(Person, late_person.id),
                                                     unit=s.get(Unit, unit.id), on=long_ago).id)

    def ids(query):
        response = city_admin.get(f"{APPLICATIONS}?{query}")
        assert response.status_code == 200, response.json
        return [a["id"] for a in response.json]

    assert ids("") == [late, other, new]
    assert ids("oldest_first=true") == [new, other, late]
    assert ids("status=submitted") == [late, new]
    assert ids("kind=transfer") == []
    assert ids("colour=white") == [late, other, new]
    assert ids("colour=green") == []
    assert ids("overdue=true") == [late]
    assert ids("overdue=false") == [other, new]
    assert ids("q=食品") == [late, new]
    assert ids("q=纺织") == [other]
    assert ids("page_size=1&page=2") == [other]
    assert city_admin.get(f"{APPLICATIONS}?colour=purple").status_code == 422


def test_the_dispatch_target_follows_the_units_place(yichang, worker, city_admin):
    _a, first = worker("甲")
    _b, second = worker("乙")
    county_unit = apply(first, yichang.unit("宜昌某某运输有限公司", region="夷陵区")).json["id"]
    city_unit = apply(second, yichang.unit("宜昌市某某集团有限公司", region="宜昌市")).json["id"]

    def target(application_id):
        return city_admin.get(f"{APPLICATIONS}/{application_id}/dispatch-target").json["name"]

    assert target(county_unit) == "夷陵区总工会"
    assert target(city_unit) == "宜昌市市直企业工会委员会"
