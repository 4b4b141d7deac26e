"""The formation drive in a real browser: the county carries it, the city approves it (督促建会)."""
from __future__ import annotations

import pytest

from core import id_numbers
from tests.cities.yichang.conftest import yichang  # noqa: F401  (the fixture)
from tests.cities.yichang.test_drives import FOUR, PASSWORD, city, county, open_drives, park, where_is  # noqa: F401
from tests.pages.kit import sign_in

from cities.yichang.models import DRIVE_DOCUMENTS

pytestmark = [pytest.mark.browser, pytest.mark.plugins("sms_console", "yichang")]



def test_in_the_browser_the_county_carries_the_drive_and_the_city_approves_it(yichang, county, city, server, page):
    unit = yichang.unit("宜昌某某光电有限公司", region="小溪塔街道")
    workers = park(yichang, unit, 25)
    [drive_id] = open_drives(yichang)
    page.goto(server.url(yichang.tenant, "/login"))
    sign_in(page, county.username, PASSWORD)

    page.get_by_role("link", name="督促建会").first.click()
    page.get_by_role("link", name="宜昌某某光电有限公司").click()
    page.get_by_role("button", name="登记送达").click()
    assert page.get_by_test_id("served-on").inner_text() == id_numbers.today().isoformat()
    for kind, (filename, content) in FOUR.items():
        page.set_input_files(f"#{kind}", files=[{"name": filename, "mimeType": "application/octet-stream",
                                                 "buffer": content}])
    page.get_by_role("button", name="上传", exact=True).click()
    assert page.get_by_test_id("documents").inner_text().count("KB") == len(DRIVE_DOCUMENTS)
    page.get_by_role("button", name="上报市总工会审核").click()
    assert page.get_by_test_id("status").inner_text() == "待审核"
    union = yichang.union("宜昌某某光电有限公司工会委员会", parent="小溪塔街道总工会", region="小溪塔街道")

    page.get_by_role("button", name="退出").click()
    page.goto(server.url(yichang.tenant, "/login"))
    sign_in(page, city.username, PASSWORD)
    page.goto(server.url(yichang.tenant, f"/yichang/drives/{drive_id}"))
    page.get_by_label("查找新成立的工会").fill("光电")
    page.get_by_role("button", name="查找").click()
    page.get_by_label("宜昌某某光电有限公司工会委员会").check()
    page.get_by_role("button", name="审核通过").click()

    assert page.get_by_test_id("status").inner_text() == "已建会"
    assert page.get_by_test_id("union").inner_text() == "宜昌某某光电有限公司工会委员会"
    assert all(where_is(yichang, person_id) == (union.id, False) for person_id, _phone in workers)
