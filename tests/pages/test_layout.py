"""Every page wears its own city's branding, never another's, on a desk (1280 px) and on a phone (360 px)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core import tenancy
from core.auth import accounts
from core.models.organization import Organization
from core.models.user import User
from core.registry import memberships, people
from tests.pages.kit import PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.plugins("sms_console")]

BRANDS = {
    "yichang": {"name": "宜昌市总工会", "primary": "rgb(200, 16, 46)", "contact": "0717-6222000"},
    "changzhou": {"name": "常州市总工会", "primary": "rgb(11, 95, 165)", "contact": "0519-8868000"},
}


def header_colour(page) -> str:
    return page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_each_city_shows_its_own_name_colours_and_contact_and_never_the_others(cities, server, page, phone_page,
                                                                              shoot, size):
    browser_page = page if size == "desktop" else phone_page
    for slug, other in (("yichang", "changzhou"), ("changzhou", "yichang")):
        browser_page.goto(server.url(getattr(cities, slug), "/login"))
        text = browser_page.locator("body").inner_text()

        assert header_colour(browser_page) == BRANDS[slug]["primary"]
        assert BRANDS[slug]["contact"] in browser_page.locator("footer").inner_text()
        assert BRANDS[other]["name"] not in text and BRANDS[other]["contact"] not in text
        assert BRANDS[other]["name"][:2] not in browser_page.content()
        if size == "desktop":
            assert browser_page.locator(".brand-name").inner_text() == BRANDS[slug]["name"]
        else:
            assert browser_page.locator(".brand-short").inner_text() == BRANDS[slug]["name"][:2] + "工会"
            assert browser_page.evaluate("document.documentElement.scrollWidth") <= 360
        shoot(browser_page, f"layout-{slug}-{size}")


def test_every_control_of_the_sign_in_pages_has_a_label_and_readable_text(cities, server, page):
    for path in ("/login", "/login/sms"):
        page.goto(server.url(cities.yichang, path))
        unlabelled = page.eval_on_selector_all(
            "input:not([type=hidden]), select, textarea",
            "els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)")
        assert unlabelled == [], path
        buttons = page.eval_on_selector_all("button", "els => els.map(e => e.innerText.trim())")
        assert all(buttons), f"every button says what it does on {path}"


def test_the_pages_switch_to_english_and_back(cities, server, page):
    page.goto(server.url(cities.changzhou, "/login"))
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in with your user name"
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="中文").click()
    assert page.get_by_role("heading", level=1).inner_text() == "账号登录"


def test_staff_land_on_a_dashboard_of_their_area(cities, server, page, shoot):
    page.goto(server.url(cities.changzhou, "/login?next=/dashboard"))
    sign_in(page, "zhao")

    assert page.get_by_role("heading", level=1).inner_text() == "工作台"
    assert page.get_by_role("link", name="工作台").get_attribute("aria-current") == "page"
    assert page.locator("[data-figure=members] .value").inner_text() == "0"
    shoot(page, "dashboard-desktop")


def test_a_worker_sees_their_own_membership_on_a_phone(cities, server, phone_page, db, shoot):
    page = phone_page
    with db() as session, tenancy.tenant_scope(cities.yichang):
        union = session.scalar(select(Organization).where(Organization.kind == "grassroots_union"))
        person = people.create(session, id_number="420506199003150026", name="李会员", phone="13900001111")
        memberships.join(session, person=person, organization=union, on=dt.date(2019, 5, 1))
        user = session.scalar(select(User).where(User.username == "li"))
        accounts.update_user(session, user, {"password": PASSWORD}, actor=_Cli())
        accounts.link_person(session, user, person, actor=_Cli())

    page.goto(server.url(cities.yichang, "/login?next=/me"))
    sign_in(page, "li")

    assert page.get_by_role("heading", level=1).inner_text() == "我的会籍"
    card = page.locator("dl.facts").inner_text()
    assert "宜昌某某物流有限公司工会委员会" in card and "2019-05-01" in card
    assert "420506199003150026" not in page.content() and "420506********0026" in card
    assert "入会" in page.locator("ol.timeline").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shoot(page, "my-membership-phone")


class _Cli:
    id = None
    username = "test"
    is_platform_admin = True
    grants = ()
