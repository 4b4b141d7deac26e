"""Imports and exports on the staff pages: a chairman uploads the union's roster, sees each wrong cell by row and
column, fixes the file, applies it; big files show their progress; nobody sees another union's or city's batch."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from core import id_numbers, tenancy
from core.auth import accounts
from core.models.import_batch import ImportBatch
from core.models.person import Person
from core.registry import columns, organizations
from tests.core.test_auth_kit import Browser
from tests.pages.kit import PASSWORD, sign_in

pytestmark = pytest.mark.plugins("sms_console")

UNION = "宜昌某某物流有限公司工会委员会"


def id_number(n: int) -> str:
    born = dt.date(1988, 2, 2) + dt.timedelta(days=n // 400)
    first17 = f"420506{born:%Y%m%d}{101 + 2 * (n % 400):03d}"
    return first17 + id_numbers.check_character(first17)


def roster(rows: list[dict]) -> bytes:
    """A members csv with the template's headers, as a chairman saves one from Excel."""
    headers = columns.SETS["members"]
    lines = [",".join(c.header for c in headers)] + [",".join(row.get(c.key, "") for c in headers) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def members(*, wrong: bool = False, count: int = 2, remarks: str = "") -> bytes:
    rows = [{"name": f"职工{n}", "id_number": id_number(n), "organization": UNION, "remarks": remarks}
            for n in range(count)]
    if wrong:
        rows[1]["id_number"] = rows[1]["id_number"][:-1] + ("0" if rows[1]["id_number"][-1] != "0" else "1")
    return roster(rows)


def upload(browser: Browser, content: bytes, filename: str = "会员名单.csv"):
    return browser.submit("/imports", {"kind": "members", "file": (io.BytesIO(content), filename)},
                          content_type="multipart/form-data")


def wang(app, cities) -> Browser:
    browser = Browser(app, cities.yichang)
    assert browser.sign_in("wang").status_code == 303
    return browser


@pytest.mark.browser
def test_a_chairman_uploads_a_roster_sees_the_wrong_cell_fixes_it_and_applies(cities, server, page, db, shoot,
                                                                               tmp_path):
    page.goto(server.url(cities.yichang, "/login"))
    sign_in(page, "wang")
    page.get_by_role("link", name="导入导出").click()
    shoot(page, "imports-desktop")

    wrong, fixed = tmp_path / "会员名单.csv", tmp_path / "会员名单（改正）.csv"
    wrong.write_bytes(members(wrong=True))
    fixed.write_bytes(members())
    page.get_by_label("文件", exact=True).set_input_files(str(wrong))
    page.get_by_role("button", name="上传并检查").click()

    errors = page.get_by_test_id("row-errors").inner_text()
    assert re.search(r"3\s+身份证号\s+", errors), errors
    assert page.get_by_role("button", name="确认导入").count() == 0, "nothing to apply while a row is wrong"
    shoot(page, "import-row-errors")

    page.get_by_role("link", name="导入导出").first.click()
    page.get_by_label("文件", exact=True).set_input_files(str(fixed))
    page.get_by_role("button", name="上传并检查").click()
    assert page.locator('[data-figure="created_count"] .value').inner_text() == "2"
    shoot(page, "import-checked")
    page.get_by_role("button", name="确认导入").click()

    assert "导入完成：新增 2 条" in page.get_by_role("status").inner_text()
    shoot(page, "import-applied")
    with db() as session, tenancy.tenant_scope(cities.yichang):
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 2

    page.get_by_role("link", name="数据质量").click()
    assert page.locator('[data-check="members_without_phone"] .number').inner_text() == "2"
    shoot(page, "quality-report")
    page.get_by_role("link", name="缺少手机号").click()
    assert page.get_by_test_id("quality-records").locator("tbody tr").count() == 2
    shoot(page, "quality-list")


@pytest.mark.browser
def test_the_page_of_a_big_file_follows_the_job_and_shows_the_result_when_it_is_done(cities, server, page, jobs,
                                                                                  shoot, tmp_path):
    big = tmp_path / "全市会员.csv"
    big.write_bytes(members(count=800, remarks="备注" * 120))
    page.goto(server.url(cities.yichang, "/login"))
    sign_in(page, "wang")
    page.goto(server.url(cities.yichang, "/imports"))
    page.get_by_label("文件", exact=True).set_input_files(str(big))
    page.get_by_role("button", name="上传并检查").click()

    assert page.get_by_label("进度").is_visible()
    shoot(page, "import-progress")
    jobs.drain()
    page.wait_for_selector('[data-status="checked"]')  # the page polled the batch and reloaded itself
    assert page.locator("progress").count() == 0
    assert page.locator('[data-figure="created_count"] .value').inner_text() == "800"


def test_a_wrong_file_is_refused_with_the_field_named_and_nothing_stored(app, cities, db):
    browser = wang(app, cities)

    nothing = browser.submit("/imports", {"kind": "members"}, content_type="multipart/form-data")
    empty = upload(browser, b"")

    assert nothing.status_code == 422 and "请选择要上传的文件" in nothing.text
    assert re.search(r'id="file"[^>]*aria-invalid="true"', nothing.text)
    assert empty.status_code == 303
    assert "文件是空的" in browser.get(empty.location[empty.location.index("/imports/"):]).text


def test_a_big_roster_is_checked_and_applied_by_a_job_while_the_page_shows_progress(app, cities, db, jobs):
    browser = wang(app, cities)
    content = members(count=1500, remarks="备注" * 60)
    assert len(content) > 512 * 1024

    response = upload(browser, content)
    batch_path = response.location[response.location.index("/imports/"):]
    checking = browser.get(batch_path).text
    assert "正在检查" in checking and re.search(r'<progress id="progress" data-poll="[^"]*/api/v1/imports/\d+"', checking)
    jobs.drain()
    checked = browser.get(batch_path).text
    assert "已检查" in checked and "<progress" not in checked, re.sub(r"\s+", " ", checked)[-3000:]
    version = re.search(r'name="version" value="(\d+)"', checked).group(1)

    applying = browser.submit(f"{batch_path}/apply", {"version": version})
    assert "正在导入" in browser.get(applying.location[applying.location.index("/imports/"):]).text
    jobs.drain()
    assert "已导入" in browser.get(batch_path).text
    with db() as session, tenancy.tenant_scope(cities.yichang):
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1500


def test_applying_twice_from_two_open_pages_applies_once(app, cities, db):
    browser = wang(app, cities)
    batch_path = upload(browser, members()).location
    batch_path = batch_path[batch_path.index("/imports/"):]
    version = re.search(r'name="version" value="(\d+)"', browser.get(batch_path).text).group(1)

    assert browser.submit(f"{batch_path}/apply", {"version": version}).status_code == 303
    again = browser.submit(f"{batch_path}/apply", {"version": version})
    assert again.status_code == 409


def test_templates_and_exports_download_from_the_page_links(app, cities):
    browser = wang(app, cities)
    page = browser.get("/imports").text
    template = re.search(r'href="([^"]*/api/v1/imports/template/members)"', page).group(1)
    export = re.search(r'href="([^"]*/api/v1/exports/members)"', page).group(1)
    assert "/api/v1/imports/template/units" not in page, "a chairman imports no units"

    for link in (template, export):
        response = browser.client.get(link, environ_base={"REMOTE_ADDR": browser.address})
        assert response.status_code == 200 and response.data[:2] == b"PK", link


def test_nobody_sees_another_unions_or_another_citys_import_and_workers_have_no_such_page(app, cities, db):
    browser = wang(app, cities)
    batch_path = upload(browser, members()).location
    batch_path = batch_path[batch_path.index("/imports/"):]
    with db() as session, tenancy.tenant_scope(cities.yichang):
        county = session.scalar(sa.select(organizations.Organization).where(
            organizations.Organization.name == "夷陵区总工会"))
        other = organizations.create(session, name="宜昌某某超市有限公司工会委员会", kind="grassroots_union",
                                     parent=county)
        accounts.create_user(session, actor=_Cli(), username="zhou", password=PASSWORD,
                             grants=[{"role": "chairman", "organization_id": other.id}])
        accounts.create_user(session, actor=_Cli(), username="ma", password=PASSWORD,
                             grants=[{"role": "member", "organization_id": other.id}])
    neighbour = Browser(app, cities.yichang, address="203.0.113.30")
    neighbour.sign_in("zhou")
    foreign = Browser(app, cities.changzhou, address="203.0.113.31")
    foreign.sign_in("zhao")

    assert neighbour.get(batch_path).status_code == 404
    assert "会员名单.csv" not in neighbour.get("/imports").text
    assert foreign.get(batch_path).status_code == 404
    assert foreign.submit(f"{batch_path}/apply", {"version": "1"}).status_code == 404
    with db() as session, tenancy.tenant_scope(cities.yichang):
        assert session.scalar(sa.select(ImportBatch.status)) == "checked"

    assert Browser(app, cities.yichang).get("/imports").status_code == 303, "a visitor is sent to sign in"
    worker = Browser(app, cities.yichang, address="203.0.113.32")
    worker.sign_in("ma")
    assert worker.get("/imports").status_code == 403
    assert worker.get("/quality").status_code == 403
    assert worker.get(batch_path).status_code == 404


class _Cli:
    id = None
    username = "test"
    is_platform_admin = True
    grants = ()
