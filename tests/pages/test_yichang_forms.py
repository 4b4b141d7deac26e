"""The printed forms in a real browser: the chairman prints, and paper shows only the A4 sheet."""
from __future__ import annotations

import re

import pytest

from tests.cities.yichang.conftest import yichang  # noqa: F401  (the fixture)
from tests.cities.yichang.test_forms import PASSWORD, join  # noqa: F401  (a fixture)
from tests.pages.kit import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.plugins("sms_console", "yichang")]


def test_in_the_browser_the_chairman_prints_the_form_and_paper_shows_only_the_a4_sheet(server, page, yichang, join):
    application_id, person = join
    yichang.staff("chair", "chairman", "宜昌某某物流有限公司工会委员会")
    page.goto(server.url(yichang.tenant, f"/yichang/applications/{application_id}/forms/registration"))
    sign_in(page, "chair", PASSWORD)

    sheet = page.get_by_role("article", name="工会会员登记表")
    assert person.id_number in sheet.inner_text()
    assert page.get_by_role("button", name="打印").is_visible()
    page.get_by_role("link", name="《中华全国总工会入会申请书》").click()
    assert page.get_by_role("heading", name="中华全国总工会入会申请书").is_visible()

    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible() and not page.get_by_role("button", name="打印").is_visible()
    assert pdf_page_count(page.pdf(format="A4", prefer_css_page_size=True)) == 1


def pdf_page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))
