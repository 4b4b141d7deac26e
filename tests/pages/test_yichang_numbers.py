"""The numbers of online join and transfer in a real browser: a city admin opens them and downloads them."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

import openpyxl
import pytest

from tests.cities.yichang.conftest import yichang  # noqa: F401  (the fixture)
from tests.cities.yichang.test_numbers import city  # noqa: F401  (eight applications in 宜昌)
from tests.pages.kit import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.plugins("sms_console", "yichang")]


def test_a_city_admin_opens_the_numbers_from_the_menu_in_a_browser_and_downloads_them(city, server, page):
    city.staff("numbers-admin", "tenant_admin", None)
    page.goto(server.url(city.tenant, "/login?next=/dashboard"))
    sign_in(page, "numbers-admin", "correct horse battery staple")

    page.get_by_role("link", name="入会转会统计").first.click()

    assert page.get_by_role("heading", name="入会转会统计", level=1).is_visible()
    assert page.locator("[data-chart=county] svg [data-bar]").count() == 4
    assert page.locator("[data-figure=overdue] .value").inner_text() == "1"
    page.get_by_label("申请提交起始日期").fill("2026-10-01")
    page.get_by_role("button", name="统计").click()
    assert page.locator("[data-figure=total] .value").inner_text() == "5"
    with page.expect_download() as download:
        page.get_by_test_id("numbers-export").click()
    assert download.value.suggested_filename.startswith("入会转会统计-")
    book = openpyxl.load_workbook(BytesIO(Path(download.value.path()).read_bytes()))
    assert dict(list(book["概况"].iter_rows(values_only=True))[1:])["申请总数"] == 5
