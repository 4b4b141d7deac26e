"""The Yichang pages as workers and staff use them, through Flask's test client signed in by the sign-in form:
the worker's "入会转会" and "申请状态" (mobile), the staff's queues, steps, overdue list and move-out (desktop).
The browser tests of the whole flows are in tests/pages/test_yichang_flows.py."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from cities.yichang import applications
from cities.yichang.models import Application
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.region import Region
from core.models.unit import Unit
from core.registry import memberships, organizations
from core.rows import by_id
from tests.cities.yichang.conftest import worker_account
from tests.pages.kit import PageClient

pytestmark = pytest.mark.plugins("sms_console", "yichang")

PASSWORD = "correct horse battery staple"
PHONE_BROWSER = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) Mobile MicroMessenger/8.0"}


def signed_in(app, yichang, username: str) -> PageClient:
    return PageClient(app, yichang.tenant, username, PASSWORD)


def text_of(response) -> str:
    """The page's text without tags, spaces folded: what a reader sees."""
    body = re.sub(r"<script.*?</script>", "", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def region_id(yichang, name: str) -> int:
    return yichang.get(Region, name=name).id


def submitted(yichang, person, unit=None, *, region="夷陵区", on: dt.date | None = None, **form) -> int:
    def go(session):
        return applications.submit(
            session, yichang.tenant, person=session.get(Person, person.id),
            unit=session.get(Unit, unit.id) if unit else None,
            region=session.scalars(sa.select(Region).where(Region.name == region)).first(), on=on, **form).id
    return yichang.run(go)


def step(yichang, function, application_id, **kwargs):
    def go(session):
        found = {key: session.get(type(value), value.id) if hasattr(value, "id") else value
                 for key, value in kwargs.items()}
        function(session, yichang.tenant, by_id(session, Application, application_id), **found)
    yichang.run(go)
    return yichang.get(Application, id=application_id)


def version_of(yichang, application_id: int) -> str:
    return str(yichang.get(Application, id=application_id).version)


@pytest.fixture
def logistics(yichang):
    """宜昌某某物流有限公司 in 夷陵区, covered by its own union in 小溪塔街道; 王主席 (``wang``) chairs it."""
    union = yichang.union("宜昌某某物流有限公司工会委员会", region="小溪塔街道")
    yichang.run(lambda s: organizations.update(s, s.get(Organization, union.id),
                                               {"chairman_name": "王主席", "contact_phone": "13700000003"}))
    unit = yichang.unit("宜昌某某物流有限公司", region="夷陵区", union=union.name)
    yichang.staff("wang", "chairman", union.name, phone="13700000003")
    return unit


@pytest.fixture
def staff(yichang):
    """The city admin (``city``), the admins of 夷陵区 (``yiling``) and 西陵区 (``xiling``)."""
    yichang.staff("city", "tenant_admin", None, phone="13700000001")
    yichang.staff("yiling", "federation_admin", "夷陵区总工会", phone="13700000002")
    yichang.staff("xiling", "federation_admin", "西陵区总工会", phone="13700000004")


# --- the worker's pages ------------------------------------------------------------------------------------------


def test_a_worker_without_a_membership_gets_the_join_form_with_their_own_details_bound(app, yichang):
    worker = yichang.person("张小红", phone="13912345678")
    worker_account(yichang, worker, "xiaohong")

    page = signed_in(app, yichang, "xiaohong").get("/yichang/apply")

    assert page.status_code == 200
    text = text_of(page)
    assert "我要入会" in text and "我要转会" not in text
    assert "张小红" in text and "139****5678" in text
    assert worker.id_number not in page.get_data(as_text=True), "the ID number is masked"
    assert re.search(r'for="region_id">所属区域<span class="required"', page.get_data(as_text=True))
    assert "夷陵区（全区域）" in text and "小溪塔街道" in text


def test_a_member_gets_the_transfer_form_naming_their_union(app, yichang):
    union = yichang.union("宜昌甲公司工会委员会")
    worker = yichang.person("李四")
    yichang.run(lambda s: memberships.join(s, person=s.get(Person, worker.id),
                                           organization=s.get(Organization, union.id)))
    worker_account(yichang, worker, "lisi")

    text = text_of(signed_in(app, yichang, "lisi").get("/yichang/apply"))

    assert "我要转会" in text and "现单位名称" in text and "宜昌甲公司工会委员会" in text


def test_the_search_button_lists_units_by_keyword_with_their_credit_codes_and_keeps_what_was_typed(
        app, yichang, logistics):
    yichang.unit("宜昌某某物流仓储有限公司", region="西陵区")
    worker_account(yichang, yichang.person(), "worker")
    client = signed_in(app, yichang, "worker")

    page = client.post("/yichang/apply", data={"action": "search", "q": "物流", "region_id": region_id(yichang, "夷陵区"),
                                               "other_unit_name": "typed", "relation": "employee"})

    assert page.status_code == 200
    text = text_of(page)
    assert "宜昌某某物流有限公司" in text and logistics.credit_code in text
    assert "宜昌某某物流仓储有限公司" not in text, "the region narrows the search to its county"
    assert 'value="typed"' in page.get_data(as_text=True)
    assert yichang.run(lambda s: s.scalar(sa.select(sa.func.count()).select_from(Application))) == 0


def test_the_search_as_you_type_answers_with_the_list_alone(app, yichang, logistics):
    worker_account(yichang, yichang.person(), "worker")
    client = signed_in(app, yichang, "worker")

    fragment = client.get("/yichang/apply/units?q=某某物&region_id=")
    short = client.get("/yichang/apply/units?q=物")

    assert "<html" not in fragment.get_data(as_text=True)
    assert f'value="{logistics.id}"' in fragment.get_data(as_text=True)
    assert "至少输入单位名称中的两个字" in text_of(short)


def test_the_join_form_names_each_missing_field_and_keeps_what_was_typed(app, yichang):
    worker_account(yichang, yichang.person(), "worker")
    client = signed_in(app, yichang, "worker")

    page = client.post("/yichang/apply", data={"action": "submit", "q": "某某", "relation": "employee",
                                               "employment_form": "employee"})

    assert page.status_code == 422
    body = page.get_data(as_text=True)
    marked = r'id="region_id" name="region_id" aria-describedby="[^"]*region_id-error" aria-invalid="true" autofocus'
    assert re.search(marked, body), "the first wrong field is marked and takes the focus"
    assert "请选择单位所在的区域" in body
    assert 'value="某某"' in body

    page = client.post("/yichang/apply", data={"action": "submit", "region_id": region_id(yichang, "夷陵区"),
                                               "relation": "employee", "employment_form": "employee"})
    assert page.status_code == 422
    assert "请选择所在单位，或在“其他单位名称”中填写单位全称" in text_of(page)
    assert yichang.run(lambda s: s.scalar(sa.select(sa.func.count()).select_from(Application))) == 0


def test_a_worker_applies_to_a_unit_they_picked_and_is_told_the_promised_date(app, yichang, logistics):
    worker = yichang.person("张小红")
    worker_account(yichang, worker, "xiaohong")
    client = signed_in(app, yichang, "xiaohong")

    answer = client.post("/yichang/apply", headers=PHONE_BROWSER, data={
        "action": "submit", "region_id": region_id(yichang, "小溪塔街道"), "q": "物流", "unit_id": logistics.id,
        "relation": "employee", "employment_form": "employee"})

    assert answer.status_code == 303
    application = yichang.get(Application, person_id=worker.id)
    assert (application.kind, application.status, application.unit_id, application.channel) == (
        "join", "submitted", logistics.id, "mobile")
    due = f"{application.due_on.year}年{application.due_on.month}月{application.due_on.day}日"
    page = client.get(answer.headers["Location"].split("/t/yichang", 1)[1])
    assert "申请已提交" in text_of(page) and f"我们将在 {due} 前办结" in text_of(page)
    assert yichang.sms_to(worker.phone) == [f"您好！您的入会申请已提交，我们将在{due}前办结。可在“申请状态”中随时查看进度。宜昌市总工会"]


def test_a_worker_whose_unit_is_not_found_types_its_name(app, yichang):
    worker = yichang.person()
    worker_account(yichang, worker, "worker")

    answer = signed_in(app, yichang, "worker").post("/yichang/apply", data={
        "action": "submit", "region_id": region_id(yichang, "夷陵区"), "other_unit_name": "宜昌某某小餐馆",
        "relation": "employee", "employment_form": "employee"})

    assert answer.status_code == 303
    application = yichang.get(Application, person_id=worker.id)
    assert (application.unit_id, application.other_unit_name) == (None, "宜昌某某小餐馆")


def test_a_minor_is_refused_at_once_and_reads_why(app, yichang, logistics):
    worker = yichang.person(age=15, sex="M")
    worker_account(yichang, worker, "young")
    client = signed_in(app, yichang, "young")

    answer = client.post("/yichang/apply", data={"action": "submit", "region_id": region_id(yichang, "夷陵区"),
                                                 "unit_id": logistics.id, "relation": "employee",
                                                 "employment_form": "employee"})
    page = client.get(answer.headers["Location"].split("/t/yichang", 1)[1])

    assert "申请未通过资格审查" in text_of(page) and "未满16周岁" in text_of(page)
    status = client.get("/yichang/my")
    assert 'data-colour="red"' in status.get_data(as_text=True) and "未满16周岁" in text_of(status)


def test_the_status_page_shows_each_application_in_its_colour_and_withdraws_an_open_one(app, yichang, logistics):
    worker = yichang.person()
    worker_account(yichang, worker, "worker")
    first = submitted(yichang, worker, logistics)
    client = signed_in(app, yichang, "worker")

    page = client.get("/yichang/my")
    assert 'data-colour="white"' in page.get_data(as_text=True) and "待分派" in text_of(page)
    assert "您有一件正在办理的申请" in text_of(client.get("/yichang/apply")), "no second application while one is open"

    stale = client.post(f"/yichang/my/{first}/withdraw", data={"version": "0"})
    assert stale.status_code == 409 and "刚由他人办理过" in text_of(stale)
    answer = client.post(f"/yichang/my/{first}/withdraw", data={"version": version_of(yichang, first)})
    assert answer.status_code == 303
    assert yichang.get(Application, id=first).status == "withdrawn"
    assert "已撤回" in text_of(client.get("/yichang/my"))


def test_a_worker_sees_no_one_elses_application(app, yichang, logistics):
    other = submitted(yichang, yichang.person("别人"), logistics)
    worker_account(yichang, yichang.person(), "worker")
    client = signed_in(app, yichang, "worker")

    assert client.get(f"/yichang/my/{other}").status_code == 404
    assert client.post(f"/yichang/my/{other}/withdraw", data={"version": "1"}).status_code == 404
    assert client.get("/yichang/applications").status_code == 403


def test_someone_not_signed_in_is_sent_to_sign_in_and_brought_back(app, yichang):
    answer = app.test_client().get("/t/yichang/yichang/apply")

    assert answer.status_code == 303 and "/login?next=" in answer.headers["Location"]
    assert "yichang/apply" in answer.headers["Location"]


# --- menus ---------------------------------------------------------------------------------------------------------


def test_workers_see_their_two_entries_and_staff_theirs(app, yichang, staff, logistics):
    worker_account(yichang, yichang.person(), "worker")

    worker = text_of(signed_in(app, yichang, "worker").get("/yichang/my"))
    city = text_of(signed_in(app, yichang, "city").get("/yichang/applications"))
    chairman = text_of(signed_in(app, yichang, "wang").get("/yichang/applications"))

    assert "入会转会" in worker and "申请状态" in worker and "入会转会申请" not in worker
    assert "入会转会申请" in city and "超期督办" in city
    assert "入会转会申请" in chairman and "超期督办" not in chairman


# --- the staff's pages ---------------------------------------------------------------------------------------------


def test_the_queue_shows_each_caller_only_their_part_of_the_tree_in_the_seeds_colours(app, yichang, staff, logistics):
    yiling_app = submitted(yichang, yichang.person("夷陵人"), logistics)
    xiling_unit = yichang.unit("宜昌某某电子有限公司", region="西陵区")
    xiling_app = submitted(yichang, yichang.person("西陵人"), xiling_unit, region="西陵区")
    step(yichang, applications.dispatch, yiling_app, to=yichang.org("夷陵区总工会"))
    step(yichang, applications.dispatch, xiling_app, to=yichang.org("西陵区总工会"))
    step(yichang, applications.verify, yiling_app, unit=logistics)

    city = signed_in(app, yichang, "city").get("/yichang/applications").get_data(as_text=True)
    county = signed_in(app, yichang, "yiling").get("/yichang/applications").get_data(as_text=True)
    chairman = signed_in(app, yichang, "wang").get("/yichang/applications?kind=join").get_data(as_text=True)

    assert f'data-testid="row-{yiling_app}"' in city and f'data-testid="row-{xiling_app}"' in city
    assert f'data-testid="row-{xiling_app}"' not in county
    assert f'data-testid="row-{yiling_app}"' in county, "the county sees what it sent on to a union below it"
    assert re.search(rf'class="colour-yellow" data-colour="yellow" data-testid="row-{yiling_app}"', chairman)
    assert f'data-testid="row-{xiling_app}"' not in chairman
    assert "职工入会申请管理" in chairman
    assert "没有符合条件的申请" in text_of(signed_in(app, yichang, "wang").get("/yichang/applications?kind=transfer"))


def test_the_city_admin_dispatches_to_the_preselected_county_which_is_texted(app, yichang, staff, logistics):
    application_id = submitted(yichang, yichang.person(), logistics)
    client = signed_in(app, yichang, "city")

    page = client.get(f"/yichang/applications/{application_id}")
    yiling = yichang.org("夷陵区总工会")
    assert re.search(rf'<option value="{yiling.id}" selected>夷陵区总工会</option>', page.get_data(as_text=True))
    assert "verify" not in re.findall(r'id="(dispatch|verify|decide)"', page.get_data(as_text=True))

    answer = client.post(f"/yichang/applications/{application_id}/dispatch",
                         data={"organization_id": yiling.id, "version": version_of(yichang, application_id)})

    assert answer.status_code == 303
    assert yichang.get(Application, id=application_id).status == "dispatched"
    [text] = yichang.sms_to("13700000002")
    assert text.startswith(f"【任务提醒】宜昌市总工会分派给您一件入会申请（编号{application_id}，宜昌某某物流有限公司）")
    assert "已分派给夷陵区总工会" in text_of(client.get(f"/yichang/applications/{application_id}"))


def test_a_stale_form_is_refused_with_the_page_as_it_is_now(app, yichang, staff, logistics):
    application_id = submitted(yichang, yichang.person(), logistics)
    client = signed_in(app, yichang, "city")
    read_at = version_of(yichang, application_id)
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))  # another admin, meanwhile

    answer = client.post(f"/yichang/applications/{application_id}/dispatch",
                         data={"organization_id": yichang.org("西陵区总工会").id, "version": read_at})

    assert answer.status_code == 409
    assert "这件申请刚由他人办理过" in text_of(answer) and "待校核" in text_of(answer)
    assert yichang.get(Application, id=application_id).dispatched_to_id == yichang.org("夷陵区总工会").id


def test_the_city_admin_rejects_an_application_as_not_eligible(app, yichang, staff, logistics):
    worker = yichang.person()
    application_id = submitted(yichang, worker, logistics)

    answer = signed_in(app, yichang, "city").post(f"/yichang/applications/{application_id}/reject", data={
        "reason": "not_in_city", "text": "", "version": version_of(yichang, application_id)})

    assert answer.status_code == 303
    rejected = yichang.get(Application, id=application_id)
    assert (rejected.status, rejected.reason_text) == ("rejected", "申请单位工会组织关系不在本市")
    assert "申请单位工会组织关系不在本市" in yichang.sms_to(worker.phone)[-1]


def test_the_county_admin_searches_a_unit_and_sees_its_union_with_chairman_phone_and_region(
        app, yichang, staff, logistics):
    worker = yichang.person()
    application_id = submitted(yichang, worker, other_unit_name="某某物流")
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    client = signed_in(app, yichang, "yiling")

    page = client.get(f"/yichang/applications/{application_id}")
    assert "查询单位" in text_of(page) and "夷陵区职工服务中心工会委员会" in text_of(page), \
        "no unit yet: the reservoir of the region the worker picked"
    found = client.get(f"/yichang/applications/{application_id}?unit_q=某某物流")
    assert "宜昌某某物流有限公司" in text_of(found) and logistics.credit_code in text_of(found)
    picked = client.get(f"/yichang/applications/{application_id}?unit_q=某某物流&unit_id={logistics.id}")
    facts = text_of(picked).split("查询工会", 1)[1]
    assert "宜昌某某物流有限公司工会委员会" in facts and "工会主席 王主席" in facts and "所在区域 小溪塔街道" in facts
    assert "联系电话 137****0003" in facts

    answer = client.post(f"/yichang/applications/{application_id}/verify", data={
        "unit_id": logistics.id, "version": version_of(yichang, application_id)})

    assert answer.status_code == 303
    verified = yichang.get(Application, id=application_id)
    assert (verified.status, verified.unit_id, verified.parked) == ("verified", logistics.id, False)
    assert yichang.sms_to("13700000003")[-1].startswith("【任务提醒】宜昌某某物流有限公司工会委员会有一件入会申请待审批")


def test_the_county_admin_may_pick_another_union_by_name(app, yichang, staff):
    application_id = submitted(yichang, yichang.person(), other_unit_name="龙泉某厂")
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    joint = yichang.org("龙泉镇工业园联合工会")
    client = signed_in(app, yichang, "yiling")

    found = client.get(f"/yichang/applications/{application_id}?unit_id=none&org_q=工业园")
    assert "龙泉镇工业园联合工会" in text_of(found)
    answer = client.post(f"/yichang/applications/{application_id}/verify", data={
        "unit_id": "none", "organization_id": joint.id, "version": version_of(yichang, application_id)})

    assert answer.status_code == 303
    assert yichang.get(Application, id=application_id).organization_id == joint.id


def test_the_chairman_approves_and_the_worker_is_a_member(app, yichang, staff, logistics):
    worker = yichang.person()
    application_id = submitted(yichang, worker, logistics)
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    step(yichang, applications.verify, application_id, unit=logistics)
    client = signed_in(app, yichang, "wang")

    page = client.get(f"/yichang/applications/{application_id}")
    body = page.get_data(as_text=True)
    assert f"/yichang/applications/{application_id}/forms/join_application" in body
    assert f"/yichang/applications/{application_id}/forms/registration" in body
    answer = client.post(f"/yichang/applications/{application_id}/approve",
                         data={"version": version_of(yichang, application_id)})

    assert answer.status_code == 303
    assert yichang.get(Application, id=application_id).status == "approved"
    assert yichang.get(Membership, person_id=worker.id).organization_id == logistics.organization_id
    trail = text_of(client.get(f"/yichang/applications/{application_id}"))
    assert "提交申请" in trail and "业务分派" in trail and "信息校核" in trail and "审核通过 · wang" in trail


def test_the_chairman_rejects_with_a_reason_the_worker_reads(app, yichang, staff, logistics):
    worker = yichang.person()
    worker_account(yichang, worker, "worker")
    application_id = submitted(yichang, worker, logistics)
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    step(yichang, applications.verify, application_id, unit=logistics)

    answer = signed_in(app, yichang, "wang").post(f"/yichang/applications/{application_id}/reject", data={
        "reason": "not_own_unit", "text": "本单位无此职工", "version": version_of(yichang, application_id)})

    assert answer.status_code == 303
    status = signed_in(app, yichang, "worker").get("/yichang/my")
    assert 'data-colour="red"' in status.get_data(as_text=True) and "本单位无此职工" in text_of(status)


def test_staff_cannot_take_a_step_that_is_not_theirs_or_see_another_subtree(app, yichang, staff, logistics):
    application_id = submitted(yichang, yichang.person(), logistics)
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))

    xiling = signed_in(app, yichang, "xiling")
    assert xiling.get(f"/yichang/applications/{application_id}").status_code == 404
    assert xiling.post(f"/yichang/applications/{application_id}/verify",
                       data={"version": version_of(yichang, application_id)}).status_code == 404
    chairman = signed_in(app, yichang, "wang")
    assert chairman.get(f"/yichang/applications/{application_id}").status_code == 404, "not yet at their union"
    yiling = signed_in(app, yichang, "yiling")
    refused = yiling.post(f"/yichang/applications/{application_id}/approve",
                          data={"version": version_of(yichang, application_id)})
    assert refused.status_code == 403
    assert yichang.get(Application, id=application_id).status == "dispatched"


def test_the_overdue_list_shows_the_city_and_county_admins_what_is_late(app, yichang, staff, logistics):
    long_ago = dt.date.today() - dt.timedelta(days=30)
    late = submitted(yichang, yichang.person("迟办"), logistics, on=long_ago)
    step(yichang, applications.dispatch, late, to=yichang.org("夷陵区总工会"))
    fresh = submitted(yichang, yichang.person("新办"), logistics)

    city = signed_in(app, yichang, "city").get("/yichang/overdue")
    county = signed_in(app, yichang, "yiling").get("/yichang/overdue")

    assert f'data-testid="row-{late}"' in city.get_data(as_text=True)
    assert f'data-testid="row-{fresh}"' not in city.get_data(as_text=True)
    assert f'data-testid="row-{late}"' in county.get_data(as_text=True) and "个工作日" in text_of(county)
    assert signed_in(app, yichang, "wang").get("/yichang/overdue").status_code == 403
    queue = signed_in(app, yichang, "city").get("/yichang/applications?overdue=1").get_data(as_text=True)
    assert f'data-testid="row-{late}"' in queue and f'data-testid="row-{fresh}"' not in queue


def test_a_chairman_moves_out_a_member_to_the_service_centre_of_the_county(app, yichang, staff, logistics):
    member = yichang.person("离职人")
    yichang.run(lambda s: memberships.join(s, person=s.get(Person, member.id),
                                           organization=s.get(Organization, logistics.organization_id),
                                           unit=s.get(Unit, logistics.id)))
    client = signed_in(app, yichang, "wang")
    assert "离职人" in text_of(client.get("/yichang/members"))
    current = yichang.get(Membership, person_id=member.id)

    refused = client.post(f"/yichang/members/{member.id}/move-out",
                          data={"membership_id": current.id, "version": current.version, "leaving_city": "1"})
    assert refused.status_code == 422 and "请选择居住地" in text_of(refused)
    answer = client.post(f"/yichang/members/{member.id}/move-out",
                         data={"membership_id": current.id, "version": current.version})

    assert answer.status_code == 303
    now = yichang.run(lambda s: memberships.current(s, s.get(Person, member.id)).organization_id)
    assert now == yichang.org("夷陵区职工服务中心工会委员会").id
    assert "暂由夷陵区职工服务中心工会委员会管理" in yichang.sms_to(member.phone)[-1]
    other = signed_in(app, yichang, "xiling")
    assert other.get(f"/yichang/members/{member.id}/move-out").status_code == 404
