"""The printed forms (flow 10): the chairman opens an application and prints its forms, filled from the
application and the registry, as an A4 page and as a PDF; a county admin prints the formation notice."""
from __future__ import annotations

import base64
import datetime as dt
import re
import zlib

import pytest
import sqlalchemy as sa

from cities.yichang import applications, forms
from cities.yichang.models import Application, FormationDrive
from core import audit
from core.masking import mask_id_number
from core.models.organization import Organization
from core.models.person import Person
from core.models.unit import Unit
from core.registry import people
from core.rows import by_id
from tests.cities.yichang.conftest import _Setup
from tests.core.test_auth_kit import Browser

pytestmark = pytest.mark.plugins("sms_console", "yichang")

PASSWORD = "correct horse battery staple"
DETAILS = {"ethnicity": "土家族", "education": "bachelor", "political_status": "中共党员", "native_place": "湖北秭归",
           "household_type": "rural", "position": "仓库管理员"}


# --- building applications the way the services do ------------------------------------------------------------


def worker(yichang, name: str = "张小红", sex: str = "F"):
    made = yichang.person(name, age=30, sex=sex)
    yichang.run(lambda session: people.update(session, session.get(Person, made.id), DETAILS, actor=_Setup()))
    return yichang.get(Person, id=made.id)


def submit(yichang, person, unit) -> int:
    return yichang.run(lambda session: applications.submit(
        session, yichang.tenant, person=session.get(Person, person.id), unit=session.get(Unit, unit.id)).id)


def step(yichang, function, application_id: int, **kwargs) -> None:
    def go(session):
        found = {key: session.get(type(value), value.id) for key, value in kwargs.items()}
        function(session, yichang.tenant, by_id(session, Application, application_id), **found)
    yichang.run(go)


def carried_to_decision(yichang, person, unit, *, approve: bool = False) -> int:
    """Submitted, dispatched to 夷陵区总工会 and verified: in the chairman's queue (and approved, if asked)."""
    application_id = submit(yichang, person, unit)
    step(yichang, applications.dispatch, application_id, to=yichang.org("夷陵区总工会"))
    step(yichang, applications.verify, application_id, unit=unit)
    if approve:
        step(yichang, applications.approve, application_id)
    return application_id


@pytest.fixture
def join(yichang):
    """张小红 applies to join the union of 宜昌某某物流有限公司; her application waits for its chairman."""
    union = yichang.union("宜昌某某物流有限公司工会委员会")
    unit = yichang.unit("宜昌某某物流有限公司", union=union.name)
    person = worker(yichang)
    return carried_to_decision(yichang, person, unit), person


@pytest.fixture
def transfer(yichang):
    """王大力, a member of 宜昌甲公司's union, asks to transfer to 宜昌乙公司's; it waits for the new chairman."""
    old_union, new_union = yichang.union("宜昌甲公司工会委员会"), yichang.union("宜昌乙公司工会委员会")
    old_unit = yichang.unit("宜昌甲公司", union=old_union.name)
    new_unit = yichang.unit("宜昌乙公司", union=new_union.name)
    person = worker(yichang, "王大力", sex="M")
    carried_to_decision(yichang, person, old_unit, approve=True)
    return carried_to_decision(yichang, person, new_unit), person


def signed_in(app, yichang, username: str, role: str, organization: str) -> Browser:
    yichang.staff(username, role, organization)
    browser = Browser(app, yichang.tenant)
    assert browser.sign_in(username, PASSWORD).status_code == 303
    return browser


def reads_of_id_number(yichang, person) -> list[str]:
    return yichang.run(lambda session: [record.actor for record in session.scalars(
        audit.reads_of(session.get(Person, person.id), "id_number"))])


def pdf_text(data: bytes) -> str:
    """The text drawn on the pages of a PDF that reportlab wrote (pypdf is not a dependency): each content stream
    decoded, each string shown with Tj read as UTF-16BE in the UCS-2 CID font and as Latin-1 in any other."""
    cid_fonts = set(re.findall(rb"/Encoding /UniGB-UCS2-H /Name /(F\d+)", data))
    text, font = [], None
    for stream in re.findall(rb"stream\r?\n(.*?)\s*endstream", data, re.S):
        content = stream.strip()
        if content.endswith(b"~>"):  # reportlab's default: ASCII85 over Flate
            content = base64.a85decode(content[:-2])
        try:
            content = zlib.decompress(content)
        except zlib.error:
            pass
        for name, literal in re.findall(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S):
            if name:
                font = name
                continue
            raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit()
                         else {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(m.group(1), m.group(1)), literal)
            text.append(raw.decode("utf-16-be") if font in cid_fonts else raw.decode("latin-1"))
    return "".join(text)


# --- the forms of a join ------------------------------------------------------------------------------------------


def test_the_join_application_form_is_filled_with_the_applicants_details(app, yichang, join):
    application_id, person = join
    chairman = signed_in(app, yichang, "chair", "chairman", "宜昌某某物流有限公司工会委员会")

    shown = chairman.get(f"/yichang/applications/{application_id}/forms/join_application")

    assert shown.status_code == 200
    for words in ("中华全国总工会入会申请书", "张小红", "女", "土家族", "大学本科", "中共党员", "宜昌某某物流有限公司",
                  "宜昌某某物流有限公司工会委员会", "承认《中国工会章程》", "基层工会", "（盖章）", "打印"):
        assert words in shown.text
    assert mask_id_number(person.id_number) in shown.text and person.id_number not in shown.text
    assert "@media print" in shown.text


def test_the_chairman_deciding_the_application_prints_the_registration_form_with_the_full_id_number_on_record(
        app, yichang, join):
    application_id, person = join
    chairman = signed_in(app, yichang, "chair", "chairman", "宜昌某某物流有限公司工会委员会")

    shown = chairman.get(f"/yichang/applications/{application_id}/forms/registration")

    assert shown.status_code == 200
    assert "工会会员登记表" in shown.text and "湖北秭归" in shown.text and "农村" in shown.text
    assert person.id_number in shown.text and person.phone in shown.text
    assert shown.headers["Cache-Control"] == "no-store"
    assert reads_of_id_number(yichang, person) == ["chair"]


def test_staff_who_do_not_decide_the_application_see_the_registration_form_masked_and_nothing_is_recorded(
        app, yichang, join):
    application_id, person = join
    operator = signed_in(app, yichang, "clerk", "operator", "宜昌某某物流有限公司工会委员会")

    shown = operator.get(f"/yichang/applications/{application_id}/forms/registration")

    assert shown.status_code == 200
    assert person.id_number not in shown.text and mask_id_number(person.id_number) in shown.text
    assert "完整号码仅审批本申请的工会可以打印" in shown.text
    assert reads_of_id_number(yichang, person) == []


def test_the_pdf_of_a_form_is_an_a4_pdf_in_a_chinese_font_with_the_applicants_details(app, yichang, join):
    application_id, person = join
    chairman = signed_in(app, yichang, "chair", "chairman", "宜昌某某物流有限公司工会委员会")

    response = chairman.get(f"/yichang/applications/{application_id}/forms/registration.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    data = response.data
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"/BaseFont /STSong-Light" in data and b"/Encoding /UniGB-UCS2-H" in data
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in data  # A4
    text = pdf_text(data)
    assert "工会会员登记表" in text and "张小红" in text and person.id_number in text
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert reads_of_id_number(yichang, person) == ["chair"]


def test_the_join_application_pdf_carries_its_title(app, yichang, join):
    application_id, _person = join
    chairman = signed_in(app, yichang, "chair", "chairman", "宜昌某某物流有限公司工会委员会")

    text = pdf_text(chairman.get(f"/yichang/applications/{application_id}/forms/join_application.pdf").data)

    assert "中华全国总工会入会申请书" in text and "宜昌某某物流有限公司" in text


def test_after_approval_the_forms_say_the_union_agreed_and_date_the_seal_in_chinese_numerals(yichang, join):
    application_id, _person = join
    step(yichang, applications.approve, application_id)

    def print_it(session):
        application = by_id(session, Application, application_id)
        return forms.html(forms.application_sheet(session, application, "join_application")), application.decided_on
    shown, decided_on = yichang.run(print_it)

    assert "经审核，同意张小红同志加入中华全国总工会。" in shown
    assert forms.seal_date(decided_on) in shown


def test_a_chairman_of_another_union_gets_404_for_the_forms_and_their_pdfs(app, yichang, join):
    application_id, person = join
    yichang.union("宜昌别家公司工会委员会")
    stranger = signed_in(app, yichang, "other", "chairman", "宜昌别家公司工会委员会")

    for key in ("join_application", "registration"):
        assert stranger.get(f"/yichang/applications/{application_id}/forms/{key}").status_code == 404
        assert stranger.get(f"/yichang/applications/{application_id}/forms/{key}.pdf").status_code == 404
    assert reads_of_id_number(yichang, person) == []


def test_a_join_has_no_transfer_forms_and_an_unknown_form_or_application_is_404(app, yichang, join):
    application_id, _person = join
    chairman = signed_in(app, yichang, "chair", "chairman", "宜昌某某物流有限公司工会委员会")

    for path in (f"/yichang/applications/{application_id}/forms/transfer_letter",
                 f"/yichang/applications/{application_id}/forms/management_card.pdf",
                 f"/yichang/applications/{application_id}/forms/certificate",
                 "/yichang/applications/999999/forms/registration"):
        assert chairman.get(path).status_code == 404, path


def test_a_visitor_who_has_not_signed_in_is_sent_to_sign_in(app, yichang, join):
    application_id, _person = join

    response = Browser(app, yichang.tenant).get(f"/yichang/applications/{application_id}/forms/registration")

    assert response.status_code == 303 and "/login" in response.headers["Location"]


# --- the forms of a transfer --------------------------------------------------------------------------------------


def test_the_transfer_letter_goes_from_the_old_union_to_the_new_one_with_its_stub_and_receipt(app, yichang, transfer):
    application_id, person = transfer
    chairman = signed_in(app, yichang, "chair", "chairman", "宜昌乙公司工会委员会")

    shown = chairman.get(f"/yichang/applications/{application_id}/forms/transfer_letter")

    assert shown.status_code == 200
    text = shown.text
    for words in ("工会会员组织关系介绍信（存根）", "骑缝", "回　　执", "宜昌乙公司工会委员会：",
                  "兹介绍王大力同志", "其会员组织关系请予接转", "宜昌甲公司工会委员会（盖章）"):
        assert words in text
    assert person.id_number not in text and mask_id_number(person.id_number) in text
    assert chairman.get(f"/yichang/applications/{application_id}/forms/join_application").status_code == 404
    assert "工会会员组织关系介绍信" in pdf_text(
        chairman.get(f"/yichang/applications/{application_id}/forms/transfer_letter.pdf").data)


def test_the_management_card_lists_the_moves_of_the_membership_and_the_transfer_waiting_for_decision(
        app, yichang, transfer):
    application_id, person = transfer
    chairman = signed_in(app, yichang, "chair", "chairman", "宜昌乙公司工会委员会")

    shown = chairman.get(f"/yichang/applications/{application_id}/forms/management_card")

    assert shown.status_code == 200
    assert "工会会员组织关系管理卡" in shown.text and "组织关系接转记录" in shown.text
    assert person.id_number in shown.text and "待审批" in shown.text
    assert reads_of_id_number(yichang, person) == ["chair"]

    step(yichang, applications.approve, application_id)

    def card(session):
        application = by_id(session, Application, application_id)
        sheet = forms.application_sheet(session, application, "management_card")
        return forms.facts(session, application, full=False).history, forms.html(sheet)
    history, shown = yichang.run(card)
    [(moved_from, moved_to, on, note)] = history
    assert (moved_from, moved_to, note) == ("宜昌甲公司工会委员会", "宜昌乙公司工会委员会", "转会")
    assert forms.chinese_date(on) in shown and "待审批" not in shown


# --- the formation notice -----------------------------------------------------------------------------------------


@pytest.fixture
def drive(yichang):
    """A drive at 宜昌某某建材有限公司 (no union), handled by 夷陵区总工会."""
    unit = yichang.unit("宜昌某某建材有限公司", region="夷陵区")

    def make(session):
        county = session.scalars(sa.select(Organization).where(Organization.name == "夷陵区总工会")).one()
        made = FormationDrive(unit_id=unit.id, status="dispatched", parked_count=25, handler_id=county.id,
                              handler_path=county.path, opened_on=dt.date(2025, 3, 3),
                              notice_due_on=dt.date(2025, 4, 15), notice_served_on=dt.date(2025, 3, 10))
        session.add(made)
        session.flush()
        return made.id
    return yichang.run(make)


def test_the_county_admin_prints_the_formation_notice_in_the_seeds_words(app, yichang, drive):
    admin = signed_in(app, yichang, "yiling", "federation_admin", "夷陵区总工会")

    shown = admin.get(f"/yichang/drives/{drive}/notice")

    assert shown.status_code == 200
    for words in ("工会组建通知书", "宜昌某某建材有限公司：", "依法组建工会组织", "请与夷陵区总工会联系",
                  "特此通知。", "联系人：李明", "联系电话：0717-6222000", "夷陵区总工会（盖章）", "二〇二五年三月十日",
                  "2025年4月15日前下发"):
        assert words in shown.text, words
    text = pdf_text(admin.get(f"/yichang/drives/{drive}/notice.pdf").data)
    assert "工会组建通知书" in text and "宜昌某某建材有限公司" in text and "李明" in text


def test_another_county_admin_gets_404_for_the_notice(app, yichang, drive):
    stranger = signed_in(app, yichang, "xiling", "federation_admin", "西陵区总工会")

    assert stranger.get(f"/yichang/drives/{drive}/notice").status_code == 404
    assert stranger.get(f"/yichang/drives/{drive}/notice.pdf").status_code == 404


# --- the hook and the dates ---------------------------------------------------------------------------------------


def test_the_print_menu_offers_the_five_forms_and_its_html_never_shows_a_full_id_number(yichang, join, drive):
    application_id, person = join
    offered = {form.key: form for form in forms.printable_forms(yichang.tenant)}

    assert set(offered) == {"yichang.join_application", "yichang.registration", "yichang.transfer_letter",
                            "yichang.management_card", "yichang.formation_notice"}
    shown = yichang.run(lambda session: offered["yichang.registration"].render(session, application_id))
    assert "工会会员登记表" in shown and mask_id_number(person.id_number) in shown and person.id_number not in shown
    assert "宜昌某某建材有限公司" in yichang.run(lambda s: offered["yichang.formation_notice"].render(s, drive))
    assert reads_of_id_number(yichang, person) == []


@pytest.mark.parametrize("day, written", [
    (dt.date(2025, 3, 10), "二〇二五年三月十日"),
    (dt.date(2026, 12, 31), "二〇二六年十二月三十一日"),
    (dt.date(2020, 10, 20), "二〇二〇年十月二十日"),
])
def test_the_date_under_a_seal_is_written_in_chinese_numerals(day, written):
    assert forms.seal_date(day) == written
    assert forms.chinese_date(day) == f"{day.year}年{day.month}月{day.day}日"
