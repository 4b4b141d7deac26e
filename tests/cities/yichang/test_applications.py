"""Applications from submission to decision, as the seed describes them (宜工办〔2016〕22号)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from cities.yichang import applications
from cities.yichang.models import Application
from core.errors import Conflict, InvalidInput
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.region import Region
from core.models.unit import Unit
from core.registry import memberships
from core.rows import by_id

pytestmark = pytest.mark.plugins("sms_console", "yichang")


def submit(yichang, person, *, unit=None, region=None, **form):
    def go(session):
        app = applications.submit(
            session, yichang.tenant, person=session.get(Person, person.id),
            unit=session.get(Unit, unit.id) if unit else None,
            region=session.scalars(sa.select(Region).where(Region.name == region)).first() if region else None,
            **form)
        return app.id
    return yichang.run(go)


def step(yichang, function, application_id, **kwargs):
    def go(session):
        found = {key: session.get(type(value), value.id) if hasattr(value, "id") and not isinstance(value, str)
                 else value for key, value in kwargs.items()}
        return function(session, yichang.tenant, by_id(session, Application, application_id), **found)
    yichang.run(go)
    return yichang.get(Application, id=application_id)


def active_membership(yichang, person):
    return yichang.run(lambda session: (lambda m: (m.organization_id, m.parked) if m else None)(
        memberships.current(session, session.get(Person, person.id))))


def test_a_worker_whose_unit_has_a_union_joins_it_after_dispatch_verification_and_approval(yichang):
    union = yichang.union("宜昌某某物流有限公司工会委员会")
    unit = yichang.unit("宜昌某某物流有限公司", region="夷陵区", union=union.name)
    worker = yichang.person("张小红", age=30)

    application_id = submit(yichang, worker, unit=unit, region="夷陵区")
    submitted = yichang.get(Application, id=application_id)
    assert (submitted.kind, submitted.status) == ("join", "submitted")
    assert (submitted.due_on - submitted.submitted_on).days >= 3  # three working days, never fewer calendar days

    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    verified = step(yichang, applications.verify, application_id, unit=unit)
    assert verified.organization_id == union.id and not verified.parked
    approved = step(yichang, applications.approve, application_id)

    assert approved.status == "approved"
    assert active_membership(yichang, worker) == (union.id, False)
    texts = yichang.sms_to(worker.phone)
    assert "已提交" in texts[0]
    assert texts[-1].startswith("您好！您的入会申请已经通过审核，已为您办理入会相关手续")
    assert "宜昌某某物流有限公司工会委员会竭诚为您提供热情周到的服务" in texts[-1]
    assert texts[-1].endswith("联系人：李明，联系电话：0717-6222000")


def test_a_worker_whose_unit_has_no_union_is_parked_in_the_service_centre_of_its_county(yichang):
    unit = yichang.unit("宜昌某某建材有限公司", region="夷陵区")
    worker = yichang.person("王大力", age=35, sex="M")

    application_id = submit(yichang, worker, unit=unit)
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    verified = step(yichang, applications.verify, application_id, unit=unit)
    step(yichang, applications.approve, application_id)

    centre = yichang.org("夷陵区职工服务中心工会委员会")
    assert verified.organization_id == centre.id and verified.parked
    assert active_membership(yichang, worker) == (centre.id, True)
    assert "会籍暂时保留在夷陵区职工服务中心工会委员会" in yichang.sms_to(worker.phone)[-1]


def test_workers_of_a_city_level_unit_without_a_union_are_parked_in_the_city_enterprise_committee(yichang):
    unit = yichang.unit("宜昌市某某集团有限公司", region="宜昌市")
    worker = yichang.person()

    application_id = submit(yichang, worker, unit=unit)
    assert applications.dispatch_target is not None
    step(yichang, applications.dispatch, application_id, to=yichang.org("宜昌市市直企业工会委员会"))
    verified = step(yichang, applications.verify, application_id, unit=unit)

    assert verified.organization_id == yichang.org("宜昌市市直企业工会委员会").id


def test_a_flexibly_employed_worker_in_the_urban_area_joins_the_grid_union_of_their_street(yichang):
    rider = yichang.person("赵外卖", employment_form="delivery_rider")

    application_id = submit(yichang, rider, region="小溪塔街道", employment_form="delivery_rider")
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    verified = step(yichang, applications.verify, application_id, unit=None)

    assert verified.organization_id == yichang.org("小溪塔街道网格工会").id


def test_a_member_applying_again_is_offered_a_transfer_and_approval_moves_the_membership(yichang):
    old_union = yichang.union("宜昌甲公司工会委员会")
    new_union = yichang.union("宜昌乙公司工会委员会")
    old_unit = yichang.unit("宜昌甲公司", union=old_union.name)
    new_unit = yichang.unit("宜昌乙公司", union=new_union.name)
    worker = yichang.person()
    first = submit(yichang, worker, unit=old_unit)
    for function, kwargs in ((applications.dispatch, {"to": yichang.org("夷陵区总工会")}),
                             (applications.verify, {"unit": old_unit}), (applications.approve, {})):
        step(yichang, function, first, **kwargs)

    second = submit(yichang, worker, unit=new_unit)
    assert yichang.get(Application, id=second).kind == "transfer"
    for function, kwargs in ((applications.dispatch, {"to": yichang.org("夷陵区总工会")}),
                             (applications.verify, {"unit": new_unit}), (applications.approve, {})):
        step(yichang, function, second, **kwargs)

    assert active_membership(yichang, worker) == (new_union.id, False)
    assert "已由宜昌甲公司工会委员会转入宜昌乙公司工会委员会" in yichang.sms_to(worker.phone)[-1]
    count = yichang.run(lambda s: s.scalar(sa.select(sa.func.count()).select_from(Membership)
                                           .where(Membership.person_id == worker.id, Membership.status != "ended")))
    assert count == 1


def test_a_transfer_from_outside_the_city_whose_membership_cannot_be_found_becomes_a_join(yichang):
    worker = yichang.person()
    unit = yichang.unit("宜昌丙公司")

    application = yichang.get(Application, id=submit(yichang, worker, unit=unit, wants="transfer",
                                                     previous_union="武汉某公司工会"))

    assert (application.kind, application.from_outside) == ("join", True)


@pytest.mark.parametrize("age, words", [(15, "未满16周岁"), (70, "已达到法定退休年龄")])
def test_minors_and_people_past_retirement_age_are_refused_with_the_refusal_sms(yichang, age, words):
    worker = yichang.person(age=age, sex="M")

    application = yichang.get(Application, id=submit(yichang, worker, unit=yichang.unit("宜昌丁公司")))

    assert (application.status, application.reason_text) == ("refused", words)
    [text] = yichang.sms_to(worker.phone)
    assert text.startswith("您好！很抱歉！您暂时不符合《中国工会章程》规定的入会条件") and words in text


def test_the_legal_representative_of_the_unit_is_refused(yichang):
    boss = yichang.person("钱老板")
    unit = yichang.unit("宜昌戊公司", legal_representative="钱老板")

    assert yichang.get(Application, id=submit(yichang, boss, unit=unit)).reason == "yichang.legal_representative"
    partner = yichang.person("孙合伙")
    assert yichang.get(Application, id=submit(yichang, partner, unit=unit, relation="partner")).status == "refused"


def test_a_second_open_application_is_refused_but_the_applicant_may_withdraw_and_resubmit(yichang):
    worker = yichang.person()
    unit = yichang.unit("宜昌己公司")
    first = submit(yichang, worker, unit=unit)

    assert yichang.get(Application, id=submit(yichang, worker, unit=unit)).reason == "yichang.duplicate"
    yichang.run(lambda s: applications.withdraw(s, yichang.tenant, by_id(s, Application, first),
                                                person=s.get(Person, worker.id)))
    assert yichang.get(Application, id=submit(yichang, worker, unit=unit)).status == "submitted"


def test_a_phone_bound_to_another_person_is_refused(yichang):
    yichang.person("甲", phone="13900001111")
    other = yichang.person("乙", phone="13900001111")  # an imported record, say: the registry allows it

    application = yichang.get(Application, id=submit(yichang, other, unit=yichang.unit("宜昌庚公司")))

    assert (application.status, application.reason) == ("refused", "yichang.phone_bound")


def test_a_chairman_rejects_an_application_to_a_unit_that_is_not_the_workers_own_and_asks_to_resubmit(yichang):
    union = yichang.union("宜昌辛公司工会委员会")
    unit = yichang.unit("宜昌辛公司", union=union.name)
    worker = yichang.person()
    application_id = submit(yichang, worker, unit=unit)
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    step(yichang, applications.verify, application_id, unit=unit)

    rejected = step(yichang, applications.reject, application_id, reason="not_own_unit")

    assert rejected.status == "rejected"
    assert "请核实所在单位后重新提交申请" in yichang.sms_to(worker.phone)[-1]
    assert yichang.get(Application, id=submit(yichang, worker, unit=unit)).status == "submitted"


def test_an_approval_after_the_person_joined_elsewhere_is_refused_and_leaves_one_membership(yichang):
    union = yichang.union("宜昌壬公司工会委员会")
    unit = yichang.unit("宜昌壬公司", union=union.name)
    worker = yichang.person()
    application_id = submit(yichang, worker, unit=unit)
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    step(yichang, applications.verify, application_id, unit=unit)
    other = yichang.union("宜昌癸公司工会委员会")
    yichang.run(lambda s: memberships.join(s, person=s.get(Person, worker.id), organization=s.get(Organization, other.id)))

    with pytest.raises(Conflict):
        step(yichang, applications.approve, application_id)
    assert active_membership(yichang, worker) == (other.id, False)


# --- verification stays in the verifier's area -------------------------------------------------------------------


def dispatched_to(yichang, handler: str, unit) -> int:
    application_id = submit(yichang, yichang.person(), unit=unit)
    step(yichang, applications.dispatch, application_id, to=yichang.org(handler))
    return application_id


def test_a_county_admin_cannot_hand_an_application_to_a_union_in_another_county(yichang):
    unit = yichang.unit("宜昌某某家具有限公司", region="夷陵区")
    yiling = yichang.staff("yiling", "federation_admin", "夷陵区总工会")
    application_id = dispatched_to(yichang, "夷陵区总工会", unit)

    with pytest.raises(InvalidInput) as refused:
        step(yichang, applications.verify, application_id, unit=unit, actor=yiling,
             organization=yichang.org("宜昌示例软件有限公司工会委员会"))  # 西陵区's

    assert list(refused.value.errors) == ["organization_id"]
    assert "宜昌示例软件有限公司工会委员会不在您的管辖范围内" in refused.value.errors["organization_id"][0]
    assert yichang.get(Application, id=application_id).status == "dispatched"
    verified = step(yichang, applications.verify, application_id, unit=unit, actor=yiling,
                    organization=yichang.org("龙泉镇工业园联合工会"))  # in 夷陵区: theirs to name
    assert verified.organization_id == yichang.org("龙泉镇工业园联合工会").id


def test_an_industry_union_admin_may_name_the_reservoir_the_rule_gives_but_no_other_outside_their_union(yichang):
    unit = yichang.unit("宜昌某某培训学校", region="夷陵区")  # no union: parked in 夷陵区's service centre
    teachers = yichang.staff("jiaoyu", "federation_admin", "宜昌市教育工会")
    application_id = dispatched_to(yichang, "宜昌市教育工会", unit)

    with pytest.raises(InvalidInput) as refused:
        step(yichang, applications.verify, application_id, unit=unit, actor=teachers,
             organization=yichang.org("西陵区职工服务中心工会委员会"))
    verified = step(yichang, applications.verify, application_id, unit=unit, actor=teachers,
                    organization=yichang.org("夷陵区职工服务中心工会委员会"))

    assert list(refused.value.errors) == ["organization_id"]
    assert (verified.organization_id, verified.parked) == (yichang.org("夷陵区职工服务中心工会委员会").id, True)


def test_a_county_admin_may_hand_an_application_to_the_units_own_union_in_another_county(yichang):
    union = yichang.union("宜昌某某连锁有限公司工会委员会", parent="西陵区总工会", region="西陵区")
    unit = yichang.unit("宜昌某某连锁有限公司夷陵分店", region="夷陵区", union=union.name)
    yiling = yichang.staff("yiling", "federation_admin", "夷陵区总工会")
    application_id = dispatched_to(yichang, "夷陵区总工会", unit)

    verified = step(yichang, applications.verify, application_id, unit=unit, organization=union, actor=yiling)

    assert verified.organization_id == union.id


def test_the_city_admin_may_hand_an_application_to_any_union_in_the_city(yichang):
    unit = yichang.unit("宜昌某某餐饮有限公司", region="夷陵区")
    city = yichang.staff("shi", "federation_admin", "宜昌市总工会")
    application_id = dispatched_to(yichang, "夷陵区总工会", unit)

    verified = step(yichang, applications.verify, application_id, unit=unit, actor=city,
                    organization=yichang.org("宜昌示例软件有限公司工会委员会"))

    assert verified.organization_id == yichang.org("宜昌示例软件有限公司工会委员会").id
