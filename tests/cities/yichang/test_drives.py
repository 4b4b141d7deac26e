"""Formation drives (督促建会), as the seed describes them (宜工办〔2016〕22号 四(三)): opened when enough workers
of one unit without a union are parked, dispatched to the county, carried through the notice and the four
documents, approved by the city, and the parked members moving to the union formed."""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
import sqlalchemy as sa

from cities.yichang import drives, jobs
from cities.yichang.models import FormationDrive
from core import id_numbers
from core.calendar import add_workdays
from core.models.audit import AuditRecord
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.unit import Unit
from core.registry import memberships, people, units
from core.rows import by_id
from tests.cities.yichang.conftest import _Setup, new_id_number, new_phone
from tests.core.test_auth_kit import Browser, token_for

pytestmark = pytest.mark.plugins("sms_console", "yichang")

PASSWORD = "correct horse battery staple"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


FOUR = {"preparatory_group": ("筹备组的函.pdf", PDF), "formation_request": ("请示.png", PNG),
        "first_congress_request": ("会员代表大会请示.jpg", JPEG), "election_report": ("选举结果报告.docx", docx())}


def park(yichang, unit, count: int, *, reservoir: str = "夷陵区职工服务中心工会委员会") -> list[tuple[int, str]]:
    """``count`` workers of ``unit`` parked in ``reservoir``: ``(person id, phone)`` of each."""
    def make(session):
        keeper = session.scalars(sa.select(Organization).where(Organization.name == reservoir)).one()
        at = session.get(Unit, unit.id)
        parked = []
        for n in range(count):
            person = people.create(session, id_number=new_id_number(), name=f"职工{n:02d}", phone=new_phone(),
                                   actor=_Setup())
            memberships.join(session, person=person, organization=keeper, unit=at, parked=True, actor=_Setup())
            parked.append((person.id, person.phone))
        return parked
    return yichang.run(make)


def open_drives(yichang, **kwargs) -> list[int]:
    return yichang.run(lambda session: [d.id for d in drives.open_drives(session, yichang.tenant, **kwargs)])


def where_is(yichang, person_id: int) -> tuple[int, bool]:
    """The organization and parked flag of the person's current membership."""
    current = sa.select(Membership.organization_id, Membership.parked).where(
        Membership.person_id == person_id, Membership.status == "active")
    return yichang.run(lambda session: tuple(session.execute(current).one()))


def audit_actions(yichang, prefix: str = "yichang.drive.") -> list[str]:
    return yichang.run(lambda session: list(session.scalars(
        sa.select(AuditRecord.action).where(AuditRecord.action.startswith(prefix)).order_by(AuditRecord.seq))))


@pytest.fixture
def county(yichang):
    """The admin of 夷陵区总工会, who receives the drive's SMS."""
    return yichang.staff("yiling-admin", "federation_admin", "夷陵区总工会", phone="13971700001")


@pytest.fixture
def city(yichang):
    """The city admin (市总工会管理员)."""
    return yichang.staff("city-admin", "tenant_admin", None, phone="13971700009")


# --- opening -----------------------------------------------------------------------------------------------------


def test_twenty_five_workers_parked_from_one_unit_open_a_drive_dispatched_to_the_county_which_is_texted(yichang,
                                                                                                      county):
    unit = yichang.unit("宜昌某某电子有限公司", region="小溪塔街道")
    park(yichang, unit, 25)

    opened = open_drives(yichang)

    drive = yichang.get(FormationDrive, id=opened[0])
    assert (drive.unit_id, drive.status, drive.parked_count) == (unit.id, "dispatched", 25)
    assert drive.handler_id == yichang.org("夷陵区总工会").id
    assert drive.notice_due_on == yichang.run(lambda session: add_workdays(session, drive.opened_on, 30))
    [text] = yichang.sms_to(county.phone)
    assert text.startswith("【督促建会】宜昌某某电子有限公司已有25名职工网上入会")
    assert "前下发《工会组建通知书》" in text
    assert audit_actions(yichang) == ["yichang.drive.open"]
    assert open_drives(yichang) == []  # one open drive per unit: the next hourly run opens none


def test_twenty_four_parked_workers_do_not_open_a_drive(yichang, county):
    unit = yichang.unit("宜昌某某纺织有限公司")
    park(yichang, unit, 24)

    assert open_drives(yichang) == []
    assert yichang.sms_to(county.phone) == []


def test_workers_of_a_unit_that_has_a_union_never_open_a_drive(yichang):
    unit = yichang.unit("宜昌某某机械有限公司")
    park(yichang, unit, 25)
    union = yichang.union("宜昌某某机械有限公司工会委员会")
    yichang.run(lambda session: units.set_covering_union(session, session.get(Unit, unit.id),
                                                         session.get(Organization, union.id), actor=_Setup()))

    assert open_drives(yichang) == []


def test_the_threshold_is_a_tenant_setting(app, yichang, county):
    yichang.run(lambda session: app.extensions["gonghui"].plugins.configure(
        session, session.merge(yichang.tenant), "yichang",
        {"formation_threshold": 10, "contact_name": "李明", "contact_phone": "0717-6222000"}, actor=_Setup()))
    unit = yichang.unit("宜昌某某食品有限公司")
    park(yichang, unit, 10)

    [drive_id] = open_drives(yichang)

    assert yichang.get(FormationDrive, id=drive_id).parked_count == 10
    assert "已有10名职工" in yichang.sms_to(county.phone)[0]


def test_the_periodic_job_opens_the_drives(yichang, county):
    unit = yichang.unit("宜昌某某化工有限公司")
    park(yichang, unit, 25)

    yichang.run(drives.open_formation_drives, yichang.tenant)

    assert yichang.get(FormationDrive, unit_id=unit.id).status == "dispatched"


def test_a_city_level_unit_waits_for_the_city_admin_to_dispatch_it(app, api, yichang, city, county):
    unit = yichang.unit("宜昌市某某集团有限公司", region="宜昌市")
    park(yichang, unit, 25, reservoir="宜昌市市直企业工会委员会")

    [drive_id] = open_drives(yichang)
    assert (yichang.get(FormationDrive, id=drive_id).status, yichang.sms_to(county.phone)) == ("opened", [])
    assert yichang.sms_to(city.phone)[0].startswith("【督促建会】宜昌市某某集团有限公司已有25名职工")

    client = api(yichang.tenant, token_for(app, yichang.db, yichang.tenant, city))
    read = client.get(f"/api/v1/yichang/drives/{drive_id}")
    sent = client.post(f"/api/v1/yichang/drives/{drive_id}/dispatch", headers={"If-Match": read.headers["ETag"]},
                       json={"organization_id": yichang.org("夷陵区总工会").id})

    assert sent.status_code == 200, sent.json
    assert (sent.json["status"], sent.json["handler"]) == ("dispatched", "夷陵区总工会")
    assert yichang.sms_to(county.phone)[0].startswith("【督促建会】宜昌市某某集团有限公司")


def test_a_closed_drive_is_not_opened_again_until_more_workers_are_parked(yichang, county):
    unit = yichang.unit("宜昌某某商贸有限公司")
    park(yichang, unit, 25)
    [first] = open_drives(yichang)
    yichang.run(lambda session: drives.close(session, yichang.tenant, by_id(session, FormationDrive, first),
                                             note="单位已停业", actor=_Setup()))

    assert open_drives(yichang) == []
    park(yichang, unit, 1)
    [second] = open_drives(yichang)
    assert yichang.get(FormationDrive, id=second).parked_count == 26


# --- the steps through the API ----------------------------------------------------------------------------------


def _api(app, api, yichang, user):
    return api(yichang.tenant, token_for(app, yichang.db, yichang.tenant, user))


def _step(client, drive_id: int, path: str, **kwargs):
    etag = client.get(f"/api/v1/yichang/drives/{drive_id}").headers["ETag"]
    return client.post(f"/api/v1/yichang/drives/{drive_id}/{path}", headers={"If-Match": etag}, **kwargs)


def _upload(client, drive_id: int, files: dict):
    data = {kind: (io.BytesIO(content), filename) for kind, (filename, content) in files.items()}
    return _step(client, drive_id, "documents", data=data, content_type="multipart/form-data")


def test_approval_with_the_formed_union_moves_every_member_parked_for_that_unit_and_only_them(app, api, yichang,
                                                                                             county, city):
    unit = yichang.unit("宜昌某某物流有限公司", region="小溪塔街道")
    neighbour = yichang.unit("宜昌某某仓储有限公司", region="小溪塔街道")
    workers = park(yichang, unit, 25)
    others = park(yichang, neighbour, 3)
    [drive_id] = open_drives(yichang)
    centre = yichang.org("夷陵区职工服务中心工会委员会")
    at_county, at_city = _api(app, api, yichang, county), _api(app, api, yichang, city)

    served = _step(at_county, drive_id, "notice", json={"served_on": id_numbers.today().isoformat()})
    assert served.status_code == 200, served.json
    assert served.json["status"] == "notified"
    uploaded = _upload(at_county, drive_id, FOUR)
    assert uploaded.status_code == 200, uploaded.json
    assert all(doc["present"] for doc in uploaded.json["documents"])
    submitted = _step(at_county, drive_id, "submit")
    assert submitted.json["status"] == "submitted"
    assert yichang.sms_to(city.phone)[-1] == "【督促建会】宜昌某某物流有限公司的建会材料已上报，请登录平台审核。"

    union = yichang.union("宜昌某某物流有限公司工会委员会", parent="小溪塔街道总工会", region="小溪塔街道")
    approved = _step(at_city, drive_id, "approve", json={"organization_id": union.id})

    assert approved.status_code == 200, approved.json
    assert (approved.json["status"], approved.json["organization"], approved.json["moved"]) == (
        "approved", "宜昌某某物流有限公司工会委员会", 25)
    assert all(where_is(yichang, person_id) == (union.id, False) for person_id, _phone in workers)
    assert all(where_is(yichang, person_id) == (centre.id, True) for person_id, _phone in others)
    covered = yichang.get(Unit, id=unit.id)
    assert (covered.has_union, covered.organization_id) == (True, union.id)
    for _person_id, phone in workers:
        assert yichang.sms_to(phone)[-1].startswith(
            "您好！您所在单位已成立工会，您的工会会员组织关系已由夷陵区职工服务中心工会委员会转入宜昌某某物流有限公司工会委员会。")
    assert all(yichang.sms_to(phone) == [] for _person_id, phone in others)
    assert audit_actions(yichang) == ["yichang.drive.open", "yichang.drive.notice"] + ["yichang.drive.upload"] * 4 + [
        "yichang.drive.submit", "yichang.drive.approve"]


def test_a_document_that_is_not_a_pdf_image_or_word_file_is_refused_naming_the_field(app, api, yichang, county):
    unit = yichang.unit("宜昌某某建材有限公司")
    park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)
    client = _api(app, api, yichang, county)

    refused = _upload(client, drive_id, {"preparatory_group": ("筹备组的函.pdf", b"MZ\x90\x00 not really a pdf"),
                                         "formation_request": ("请示.docx", b"PK\x03\x04 a zip that is no Word file"),
                                         "election_report": ("选举结果报告.pdf", PDF)})

    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"preparatory_group", "formation_request"}
    assert refused.json["errors"]["preparatory_group"] == [
        "关于建立工会筹备组的函：只接受PDF、JPEG、PNG 或 Word（DOC/DOCX）文件"]
    assert not any(doc["present"] for doc in client.get(f"/api/v1/yichang/drives/{drive_id}").json["documents"])


def test_a_document_over_ten_megabytes_is_refused_naming_the_field(app, api, yichang, county):
    unit = yichang.unit("宜昌某某印刷有限公司")
    park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)

    refused = _upload(_api(app, api, yichang, county), drive_id,
                      {"election_report": ("big.pdf", PDF + b"0" * drives.MAX_DOCUMENT_BYTES)})

    assert refused.status_code == 422
    assert refused.json["errors"]["election_report"] == ["关于第一次会员代表大会选举结果的报告：文件不能超过 10 MB"]


def test_an_uploaded_document_downloads_as_it_was_sent(app, api, yichang, county):
    unit = yichang.unit("宜昌某某包装有限公司")
    park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)
    client = _api(app, api, yichang, county)
    _upload(client, drive_id, {"election_report": ("选举结果报告.pdf", PDF)})

    got = client.get(f"/api/v1/yichang/drives/{drive_id}/documents/election_report")

    assert (got.status_code, got.data, got.mimetype) == (200, PDF, "application/pdf")
    assert "filename*=UTF-8''" in got.headers["Content-Disposition"]


def test_the_documents_cannot_be_submitted_until_all_four_are_there(app, api, yichang, county):
    unit = yichang.unit("宜昌某某木业有限公司")
    park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)
    client = _api(app, api, yichang, county)
    _step(client, drive_id, "notice", json={"served_on": id_numbers.today().isoformat()})
    _upload(client, drive_id, {"preparatory_group": FOUR["preparatory_group"]})

    refused = _step(client, drive_id, "submit")

    assert refused.status_code == 422
    assert refused.json["errors"]["documents"] == [
        "还缺：关于建立工会组织的请示、关于召开第一次会员代表大会的请示、关于第一次会员代表大会选举结果的报告"]


def test_a_county_admin_of_another_county_gets_404(app, api, yichang, county):
    unit = yichang.unit("宜昌某某电器有限公司")
    park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)
    stranger = yichang.staff("xiling-admin", "federation_admin", "西陵区总工会", phone="13971700002")
    client = _api(app, api, yichang, stranger)

    assert client.get(f"/api/v1/yichang/drives/{drive_id}").status_code == 404
    assert client.post(f"/api/v1/yichang/drives/{drive_id}/notice", headers={"If-Match": "*"},
                       json={"served_on": id_numbers.today().isoformat()}).status_code == 404
    assert client.get(f"/api/v1/yichang/drives/{drive_id}/documents/election_report").status_code == 404
    assert client.get("/api/v1/yichang/drives").json == []
    assert [d["id"] for d in _api(app, api, yichang, county).get("/api/v1/yichang/drives").json] == [drive_id]


def test_a_county_admin_may_not_approve_the_drive(app, api, yichang, county):
    unit = yichang.unit("宜昌某某塑料有限公司")
    park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)
    union = yichang.union("宜昌某某塑料有限公司工会委员会")

    refused = _step(_api(app, api, yichang, county), drive_id, "approve", json={"organization_id": union.id})

    assert refused.status_code == 403


def test_a_step_on_a_stale_etag_gets_412_and_one_without_an_etag_428(app, api, yichang, county):
    unit = yichang.unit("宜昌某某陶瓷有限公司")
    park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)
    client = _api(app, api, yichang, county)
    read = client.get(f"/api/v1/yichang/drives/{drive_id}")
    assert read.headers["ETag"] == f'"formationdrive-{drive_id}-v1"'
    today = id_numbers.today().isoformat()
    assert client.post(f"/api/v1/yichang/drives/{drive_id}/notice", headers={"If-Match": read.headers["ETag"]},
                       json={"served_on": today}).status_code == 200

    stale = client.post(f"/api/v1/yichang/drives/{drive_id}/notice", headers={"If-Match": read.headers["ETag"]},
                        json={"served_on": today})
    missing = client.post(f"/api/v1/yichang/drives/{drive_id}/submit")

    assert (stale.status_code, stale.json["code"]) == (412, "precondition_failed")
    assert missing.status_code == 428


def test_overdue_notices_show_first_in_the_list(app, api, yichang, county):
    late_unit, new_unit = yichang.unit("宜昌某某家具有限公司"), yichang.unit("宜昌某某服装有限公司")
    park(yichang, late_unit, 25)
    [late] = open_drives(yichang, on=id_numbers.today() - dt.timedelta(days=70))
    park(yichang, new_unit, 25)
    [fresh] = open_drives(yichang)
    client = _api(app, api, yichang, county)

    listed = client.get("/api/v1/yichang/drives").json
    overdue = client.get("/api/v1/yichang/drives?overdue=true").json

    assert [(d["id"], d["notice_overdue"]) for d in listed] == [(late, True), (fresh, False)]
    assert [d["id"] for d in overdue] == [late]


# --- the hourly transfer job --------------------------------------------------------------------------------------


def test_the_hourly_job_moves_members_parked_for_a_unit_that_got_a_union_another_way(yichang):
    unit = yichang.unit("宜昌某某酒店有限公司", region="小溪塔街道")
    workers = park(yichang, unit, 3)
    union = yichang.union("宜昌某某酒店有限公司工会委员会", parent="小溪塔街道总工会", region="小溪塔街道")
    yichang.run(lambda session: units.set_covering_union(session, session.get(Unit, unit.id),
                                                         session.get(Organization, union.id), actor=_Setup()))

    yichang.run(jobs.transfer_parked_members, yichang.tenant)

    assert all(where_is(yichang, person_id) == (union.id, False) for person_id, _phone in workers)
    assert all("您所在单位已成立工会" in yichang.sms_to(phone)[-1] for _person_id, phone in workers)
    yichang.run(jobs.transfer_parked_members, yichang.tenant)  # a second run finds nobody left to move
    assert all(len(yichang.sms_to(phone)) == 1 for _person_id, phone in workers)


# --- pages -------------------------------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_VERSION = re.compile(r'name="version" value="(\d+)"')


def _signed_in(app, yichang, user) -> Browser:
    browser = Browser(app, yichang.tenant)
    assert browser.sign_in(user.username, PASSWORD).status_code == 303
    return browser


def _form(browser, drive_id: int) -> dict:
    page = browser.get(f"/yichang/drives/{drive_id}").text
    return {"csrf_token": _CSRF.search(page).group(1), "version": _VERSION.search(page).group(1)}


def test_staff_see_the_drives_with_their_due_dates_and_the_overdue_ones_marked(app, yichang, county):
    unit = yichang.unit("宜昌某某玻璃有限公司")
    park(yichang, unit, 25)
    [drive_id] = open_drives(yichang, on=id_numbers.today() - dt.timedelta(days=70))
    browser = _signed_in(app, yichang, county)

    listing = browser.get("/yichang/drives")

    assert listing.status_code == 200
    assert "宜昌某某玻璃有限公司" in listing.text and "已逾期" in listing.text
    assert 'href="/t/yichang/yichang/drives"' in listing.text  # the menu item 督促建会
    detail = browser.get(f"/yichang/drives/{drive_id}")
    assert f'href="/t/yichang/yichang/drives/{drive_id}/notice"' in detail.text
    assert "登记《工会组建通知书》送达" in detail.text and "审核通过" not in detail.text.split("办理进度")[0]


def test_the_county_admin_uploads_on_the_page_and_a_wrong_file_is_named_next_to_its_field(app, yichang, county):
    unit = yichang.unit("宜昌某某石材有限公司")
    park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)
    browser = _signed_in(app, yichang, county)

    refused = browser.client.post(f"/t/yichang/yichang/drives/{drive_id}/documents", data=_form(browser, drive_id) | {
        "preparatory_group": (io.BytesIO(b"GIF89a not accepted"), "函.gif")}, content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": browser.address})

    assert refused.status_code == 422
    assert 'id="preparatory_group-error">关于建立工会筹备组的函：只接受PDF' in refused.text
    sent = browser.client.post(f"/t/yichang/yichang/drives/{drive_id}/documents", data=_form(browser, drive_id) | {
        kind: (io.BytesIO(content), filename) for kind, (filename, content) in FOUR.items()},
        content_type="multipart/form-data", environ_base={"REMOTE_ADDR": browser.address})
    assert sent.status_code == 303
    assert "选举结果报告.docx" in browser.get(f"/yichang/drives/{drive_id}").text


def test_the_city_admin_approves_on_the_page_picking_the_union_formed(app, yichang, county, city):
    unit = yichang.unit("宜昌某某水泥有限公司", region="小溪塔街道")
    workers = park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)

    def carry(session):
        drive = by_id(session, FormationDrive, drive_id)
        drives.serve_notice(session, yichang.tenant, drive, served_on=id_numbers.today(), actor=_Setup())
        drives.upload_all(session, yichang.tenant, drive, FOUR, actor=_Setup())
        drives.submit(session, yichang.tenant, drive, actor=_Setup())
    yichang.run(carry)
    union = yichang.union("宜昌某某水泥有限公司工会委员会", region="小溪塔街道")
    browser = _signed_in(app, yichang, city)

    page = browser.get(f"/yichang/drives/{drive_id}?union_q=水泥")
    assert f'value="{union.id}"' in page.text
    stale = browser.submit(f"/yichang/drives/{drive_id}/approve", {"version": "1", "organization_id": str(union.id)})
    assert stale.status_code == 409
    done = browser.submit(f"/yichang/drives/{drive_id}/approve",
                          {"version": _form(browser, drive_id)["version"], "organization_id": str(union.id)})

    assert done.status_code == 303
    shown = browser.get(f"/yichang/drives/{drive_id}").text
    assert "已建会" in shown and "25 名会员已转入" in shown
    assert all(where_is(yichang, person_id) == (union.id, False) for person_id, _phone in workers)
