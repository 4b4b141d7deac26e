"""Who may not apply: the seed's screening (严把入会关口), run before any person sees an application.

The city admin's pre-check refuses minors and people past retirement age, from the birth date in the ID number;
the county admin's check refuses a unit's legal representative or partner. We also refuse what no person
should have to sort out by hand: a second open application, and a phone bound to another person in the tenant
(until a county admin releases it). Each rule returns a ``ScreeningRefusal`` whose message the applicant reads.
Other plugins add their own rules through the same hook (``screen_application``).
"""
from __future__ import annotations

import sqlalchemy as sa

from cities.yichang.models import OPEN_STATUSES, Application
from core.toolkit import Person, ScreeningRefusal, id_numbers


def too_young(application: dict, rules) -> ScreeningRefusal | None:
    if id_numbers.age_on(application["birth_date"], application["submitted_on"]) < rules.minimum_age:
        return ScreeningRefusal("yichang.minor", f"未满{rules.minimum_age}周岁", field="id_number")
    return None


def retired(application: dict, rules) -> ScreeningRefusal | None:
    # The ID number cannot tell which of the two women's retirement ages applies: only someone past the later
    # one is refused here; one between the two goes on, and the chairman, who knows the worker, decides.
    screen = id_numbers.retirement_screen(application["birth_date"], application["sex"],
                                          on=application["submitted_on"])
    if screen.certainly_past:
        return ScreeningRefusal("yichang.retired", "已达到法定退休年龄", field="id_number")
    return None


def legal_representative(application: dict, rules) -> ScreeningRefusal | None:
    if application["relation"] in ("legal_representative", "partner"):
        return ScreeningRefusal("yichang.legal_representative", "企业法人、合伙人不接受入会", field="relation")
    unit_boss = (application.get("unit_legal_representative") or "").strip()
    if unit_boss and unit_boss == application["name"].strip():
        return ScreeningRefusal("yichang.legal_representative", "申请人是所在单位的法定代表人", field="relation")
    return None


def open_application(session, application: dict) -> ScreeningRefusal | None:
    found = session.scalar(sa.select(Application.id).where(
        Application.person_id == application["person_id"], Application.status.in_(OPEN_STATUSES)).limit(1))
    if found is not None:
        return ScreeningRefusal("yichang.duplicate", f"已有一件正在办理的申请（编号{found}），可撤回后重新提交")
    return None


def phone_bound_elsewhere(session, application: dict) -> ScreeningRefusal | None:
    index = application.get("phone_index")
    if not index:
        return None
    other = session.scalar(sa.select(Person.id).where(Person.phone_index == index,
                                                      Person.id != application["person_id"]).limit(1))
    if other is not None:
        return ScreeningRefusal("yichang.phone_bound", "该手机号已绑定其他职工，请联系县（市、区）总工会解除绑定后再申请",
                                field="phone")
    return None


def refusals(session, application: dict, rules) -> list[ScreeningRefusal]:
    """Yichang's own rules, in the order the seed's reviewers apply them."""
    found = [too_young(application, rules), retired(application, rules), legal_representative(application, rules),
             open_application(session, application), phone_bound_elsewhere(session, application)]
    return [refusal for refusal in found if refusal is not None]
