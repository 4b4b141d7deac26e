"""The staff pages as staff use them: the organization tree, units, person lookup, the audit trail, users, roles
and tokens. Each page keeps to the caller's part of the tree, like the API: an admin of 西陵区 never sees what is
under 夷陵区 (404, as for an id nobody has), and nobody of 常州 anything of 宜昌.

A few tests go through the pages in Chromium, on both cities, at 1280 px and at 360 px, saving a screenshot of
each page for docs/user-guide.md; the rest use Flask's test client signed in through the same form."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from core import tenancy
from core.auth import accounts
from core.demo_data import credit_code_for
from core.models.audit import AuditRecord
from core.models.organization import Organization
from core.models.unit import Unit
from core.registry import memberships, organizations, people, units
from tests.pages.kit import PASSWORD, SETUP_ACTOR, PageClient, sign_in, valid_id_number

pytestmark = pytest.mark.plugins("sms_console")

YILING_ID = valid_id_number("42050619850612001")
XILING_ID = valid_id_number("42050219900301002")


@dataclass
class World:
    cities: object
    yiling: int  # 夷陵区总工会
    yiling_union: int
    xiling: int  # 西陵区总工会
    xiling_union: int
    yiling_unit: int
    xiling_unit: int
    yiling_person: int
    xiling_person: int
    yiling_admin: int  # the user id of ``yiling``


@pytest.fixture
def world(cities, db) -> World:
    """宜昌 as ``cities`` makes it, with a second county (西陵区) beside 夷陵区: a union, a unit and a member in
    each, and users: ``admin`` (tenant admin), ``yiling`` and ``xiling`` (federation admins of each county). 常州
    gets its city federation."""
    with db() as session, tenancy.tenant_scope(cities.yichang):
        city = session.scalar(sa.select(Organization).where(Organization.kind == "city_federation"))
        yiling = session.scalar(sa.select(Organization).where(Organization.name == "夷陵区总工会"))
        yiling_union = session.scalar(sa.select(Organization).where(Organization.kind == "grassroots_union"))
        xiling = organizations.create(session, name="西陵区总工会", kind="county_federation", parent=city,
                                      chairman_name="周主席", contact_name="吴干事", contact_phone="13712345678",
                                      term_ends_on=dt.date(2028, 6, 30))
        xiling_union = organizations.create(session, name="宜昌某某电子有限公司工会委员会", kind="grassroots_union",
                                            parent=xiling)
        yiling_unit = units.create(session, name="宜昌某某物流有限公司", credit_code=credit_code_for("420506", 1),
                                   organization=yiling_union, employees=120)
        xiling_unit = units.create(session, name="宜昌某某电子有限公司", credit_code=credit_code_for("420502", 2),
                                   organization=xiling_union, employees=80)
        yiling_person = people.create(session, id_number=YILING_ID, name="陈会员", phone="13800001234")
        memberships.join(session, person=yiling_person, organization=yiling_union, unit=yiling_unit,
                         on=dt.date(2020, 3, 1))
        xiling_person = people.create(session, id_number=XILING_ID, name="刘会员")
        memberships.join(session, person=xiling_person, organization=xiling_union, on=dt.date(2021, 7, 1))
        accounts.create_user(session, actor=SETUP_ACTOR, username="admin", display_name="宜昌管理员", password=PASSWORD,
                             grants=[{"role": "tenant_admin", "organization_id": None}])
        yiling_admin = accounts.create_user(session, actor=SETUP_ACTOR, username="yiling", display_name="夷陵管理员",
                                            password=PASSWORD,
                                            grants=[{"role": "federation_admin", "organization_id": yiling.id}])
        accounts.create_user(session, actor=SETUP_ACTOR, username="xiling", display_name="西陵管理员", password=PASSWORD,
                             grants=[{"role": "federation_admin", "organization_id": xiling.id}])
        made = World(cities, yiling.id, yiling_union.id, xiling.id, xiling_union.id, yiling_unit.id, xiling_unit.id,
                     yiling_person.id, xiling_person.id, yiling_admin.id)
    with db() as session, tenancy.tenant_scope(cities.changzhou):
        changzhou = organizations.create(session, name="常州市总工会", kind="city_federation")
        wujin = organizations.create(session, name="武进区总工会", kind="county_federation", parent=changzhou)
        organizations.create(session, name="常州某某精密机械有限公司工会委员会", kind="grassroots_union", parent=wujin)
    return made


def text(response) -> str:
    return response.get_data(as_text=True)


# --- scope: another subtree, another tenant ----------------------------------------------------------------------


def test_an_admin_of_a_sibling_county_finds_nothing_of_the_other_county(app, world):
    xiling = PageClient(app, world.cities.yichang, "xiling")

    for path in (f"/organizations/{world.yiling_union}", f"/organizations/{world.yiling}",
                 f"/units/{world.yiling_unit}", f"/units/{world.yiling_unit}/edit",
                 f"/people/{world.yiling_person}", f"/users/{world.yiling_admin}"):
        answer = xiling.get(path)
        assert answer.status_code == 404, path
        assert "宜昌某某物流" not in text(answer) and "陈会员" not in text(answer), path
    assert xiling.get("/organizations/987654").status_code == 404

    lookup = xiling.post("/people", data={"id_number": YILING_ID})
    assert lookup.status_code == 404 and "未在您的辖区登记" in text(lookup)
    assert "宜昌某某物流" not in text(xiling.get("/units?q=物流"))
    assert "宜昌某某物流" not in text(xiling.get("/units?q=有限公司&fragment=1"))
    assert "宜昌某某电子" in text(xiling.get("/units?q=有限公司&fragment=1"))
    assert "夷陵" not in text(xiling.get("/organizations?q=工会"))
    assert "夷陵" not in text(xiling.get(f"/organizations?open={world.yiling}"))
    assert "夷陵" not in text(xiling.get("/users"))
    assert xiling.post(f"/people/{world.yiling_person}/id-number").status_code == 404


def test_nobody_of_another_city_reaches_anything_of_this_one(app, world):
    zhao = PageClient(app, world.cities.changzhou, "zhao")

    for path in (f"/organizations/{world.yiling_union}", f"/units/{world.yiling_unit}",
                 f"/people/{world.yiling_person}", f"/users/{world.yiling_admin}"):
        assert zhao.get(path).status_code == 404, path
    assert zhao.post("/people", data={"id_number": YILING_ID}).status_code == 404
    assert "宜昌某某" not in text(zhao.get("/units?q=某某"))
    assert "夷陵" not in text(zhao.get("/organizations?q=总工会"))
    assert "宜昌" not in text(zhao.get("/audit"))
    tree = text(zhao.get("/organizations"))
    assert "常州市总工会" in tree and "夷陵" not in tree


def test_the_tree_opens_node_by_node_and_shows_a_masked_contact(app, world):
    admin = PageClient(app, world.cities.yichang, "admin")

    closed = text(admin.get("/organizations"))
    assert "宜昌市总工会" in closed and "西陵区总工会" not in closed
    city_id = int(closed.split("/organizations/")[1].split('"')[0])
    opened = text(admin.get(f"/organizations?open={city_id}"))
    assert "西陵区总工会" in opened and "夷陵区总工会" in opened and 'aria-expanded="true"' in opened

    detail = text(admin.get(f"/organizations/{world.xiling}"))
    assert "周主席" in detail and "137****5678" in detail and "13712345678" not in detail
    assert "2028-06-30" in detail and "宜昌某某电子有限公司工会委员会" in detail


def test_moving_a_subtree_asks_first_and_refuses_a_stale_page(app, world, db):
    admin = PageClient(app, world.cities.yichang, "admin")
    with db() as session, tenancy.tenant_scope(world.cities.yichang):
        union = session.get(Organization, world.yiling_union)
        version = union.version

    ask = admin.post(f"/organizations/{world.yiling_union}/move",
                     data={"parent_id": world.xiling, "version": version})
    assert ask.status_code == 200 and "确认迁移" in text(ask)
    stale = admin.post(f"/organizations/{world.yiling_union}/move",
                       data={"parent_id": world.xiling, "version": version - 1, "confirm": "yes"})
    assert stale.status_code == 409
    wrong = admin.post(f"/organizations/{world.yiling_union}/move", data={"parent_id": "", "version": version})
    assert wrong.status_code == 422 and 'id="parent_id-error"' in text(wrong)
    misfit = admin.post(f"/organizations/{world.xiling}/move",
                        data={"parent_id": world.yiling_union, "version": 1, "confirm": "yes"})
    assert misfit.status_code == 422 and "组织类型不符" in text(misfit)

    done = admin.post(f"/organizations/{world.yiling_union}/move",
                      data={"parent_id": world.xiling, "version": version, "confirm": "yes"})
    assert done.status_code == 303
    with db() as session, tenancy.tenant_scope(world.cities.yichang):
        assert session.get(Organization, world.yiling_union).parent_id == world.xiling


def test_a_county_admin_merges_a_duplicate_only_into_a_twin_of_their_own_county(app, world, db):
    yiling = PageClient(app, world.cities.yichang, "yiling")
    with db() as session, tenancy.tenant_scope(world.cities.yichang):
        twin = organizations.create(session, name="宜昌某某物流公司工会", kind="grassroots_union",
                                    parent=session.get(Organization, world.yiling))
        twin_id, version = twin.id, session.get(Organization, world.yiling_union).version

    outside = yiling.post(f"/organizations/{world.yiling_union}/merge",
                          data={"into_id": world.xiling_union, "version": version, "confirm": "yes"})
    assert outside.status_code == 422 and "您的辖区内没有这个组织" in text(outside)
    done = yiling.post(f"/organizations/{world.yiling_union}/merge",
                       data={"into_id": twin_id, "version": version, "confirm": "yes"})
    assert done.status_code == 303
    with db() as session, tenancy.tenant_scope(world.cities.yichang):
        assert session.get(Organization, world.yiling_union).status == "merged"
        assert session.get(Unit, world.yiling_unit).organization_id == twin_id


# --- units -------------------------------------------------------------------------------------------------------


def test_a_wrong_unit_form_keeps_what_was_typed_and_names_the_field(app, world, db):
    yiling = PageClient(app, world.cities.yichang, "yiling")
    form = text(yiling.get(f"/units/{world.yiling_unit}/edit"))
    version = form.split('name="version" value="')[1].split('"')[0]
    typed = {"name": "宜昌某某物流股份有限公司", "credit_code": "91420506MA0000000X", "address": "夷陵区某某路 1 号",
             "employees": "120", "women": "abc", "version": version}

    wrong = yiling.post(f"/units/{world.yiling_unit}/edit", data=typed)
    assert wrong.status_code == 422
    page = text(wrong)
    assert 'id="women" name="women" type="text" value="abc"' in page and 'id="women-error"' in page
    assert "宜昌某某物流股份有限公司" in page and "夷陵区某某路 1 号" in page

    wrong_code = yiling.post(f"/units/{world.yiling_unit}/edit", data={**typed, "women": "30"})
    assert wrong_code.status_code == 422 and 'id="credit_code-error"' in text(wrong_code)
    assert "校验位不符" in text(wrong_code)
    assert 'aria-invalid="true" autofocus' in text(wrong_code)

    good = {**typed, "women": "30", "credit_code": credit_code_for("420506", 1)}
    assert yiling.post(f"/units/{world.yiling_unit}/edit", data=good).status_code == 303
    again = yiling.post(f"/units/{world.yiling_unit}/edit", data={**good, "name": "宜昌某某物流集团"})
    assert again.status_code == 409 and "宜昌某某物流集团" in text(again)
    with db() as session, tenancy.tenant_scope(world.cities.yichang):
        unit = session.get(Unit, world.yiling_unit)
        assert (unit.name, unit.women, unit.address) == ("宜昌某某物流股份有限公司", 30, "夷陵区某某路 1 号")


def test_a_chairman_reads_units_but_has_no_edit_form(app, world):
    wang = PageClient(app, world.cities.yichang, "wang")
    assert "宜昌某某物流有限公司" in text(wang.get(f"/units/{world.yiling_unit}"))
    assert wang.get(f"/units/{world.yiling_unit}/edit").status_code == 403


# --- people ------------------------------------------------------------------------------------------------------


def test_the_full_id_number_only_for_roles_that_may_and_each_reading_is_on_record(app, world, db):
    wang = PageClient(app, world.cities.yichang, "wang")
    found = wang.post("/people", data={"id_number": YILING_ID.lower()})
    assert found.status_code == 303
    page = text(wang.get(found.headers["Location"].split(f"/t/{world.cities.yichang.slug}")[1]))
    assert "陈会员" in page and YILING_ID not in page and "420506********" in page
    assert "显示完整号码" not in page and "入会" in page
    assert wang.post(f"/people/{world.yiling_person}/id-number").status_code == 403

    yiling = PageClient(app, world.cities.yichang, "yiling")
    assert "显示完整号码" in text(yiling.get(f"/people/{world.yiling_person}"))
    shown = yiling.post(f"/people/{world.yiling_person}/id-number")
    assert shown.status_code == 200 and YILING_ID in text(shown)
    assert shown.headers["Cache-Control"] == "no-store"
    with db() as session, tenancy.tenant_scope(world.cities.yichang):
        reads = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "read.id_number")).all()
        assert [(r.actor, r.object_id) for r in reads] == [("yiling", str(world.yiling_person))]

    bad = yiling.post("/people", data={"id_number": "42050619850612"})
    assert bad.status_code == 422 and 'value="42050619850612"' in text(bad) and 'id="id_number-error"' in text(bad)


# --- audit trail --------------------------------------------------------------------------------------------------


def test_the_audit_trail_shows_a_county_admin_their_county_only(app, world):
    admin = PageClient(app, world.cities.yichang, "admin")
    everything = text(admin.get("/audit?action=unit."))
    assert f"unit {world.yiling_unit}" in everything and f"unit {world.xiling_unit}" in everything

    xiling = PageClient(app, world.cities.yichang, "xiling")
    mine = text(xiling.get("/audit?action=unit."))
    assert f"unit {world.xiling_unit}" in mine and f"unit {world.yiling_unit}" not in mine
    assert xiling.get("/audit?since=yesterday").status_code == 422
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()  # the days are Beijing's
    assert f"unit {world.xiling_unit}" in text(xiling.get(f"/audit?object_type=unit&since={today}&until={today}"))
    assert PageClient(app, world.cities.yichang, "wang").get("/audit").status_code == 403


# --- users, roles, tokens -----------------------------------------------------------------------------------------


def test_a_tenant_admin_grants_and_revokes_a_role_and_a_county_admin_cannot_grant_above_themselves(app, world):
    admin = PageClient(app, world.cities.yichang, "admin")
    user_id = world.yiling_admin
    assert admin.post(f"/users/{user_id}/grants",
                      data={"role": "operator", "organization_id": world.yiling_union}).status_code == 303
    page = text(admin.get(f"/users/{user_id}"))
    held = "<li>工会工作人员 · 宜昌某某物流有限公司工会委员会"
    assert held in page
    grant_id = page.split(f"/users/{user_id}/grants/")[-1].split("/")[0]  # the newest: the operator role
    assert admin.post(f"/users/{user_id}/grants/{grant_id}/revoke").status_code == 303
    assert held not in text(admin.get(f"/users/{user_id}"))

    yiling = PageClient(app, world.cities.yichang, "yiling")
    refused = yiling.post(f"/users/{user_id}/grants", data={"role": "tenant_admin", "organization_id": ""})
    assert refused.status_code == 403 and "只能在本辖区内授予或收回不高于自己的角色" in text(refused)
    misplaced = admin.post(f"/users/{user_id}/grants", data={"role": "chairman", "organization_id": world.xiling})
    assert misplaced.status_code == 422 and 'id="organization_id-error"' in text(misplaced)


def test_a_token_is_shown_once_and_can_be_revoked(app, world):
    admin = PageClient(app, world.cities.yichang, "admin")
    assert admin.post("/tokens", data={"name": "", "expires_in_days": "90"}).status_code == 422

    made = admin.post("/tokens", data={"name": "统计报表", "expires_in_days": "30"})
    token = text(made).split('data-testid="new-token">')[1].split("<")[0]
    assert made.status_code == 200 and token.startswith("gh_")
    listed = text(admin.get("/tokens"))
    assert token not in listed and token[:10] in listed
    token_id = listed.split("/tokens/")[1].split("/")[0]
    assert admin.post(f"/tokens/{token_id}/revoke").status_code == 303
    assert "已作废" in text(admin.get("/tokens"))


# --- in the browser ----------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_tenant_admin_goes_through_the_staff_pages_on_a_desk(world, server, page, shoot):
    yichang = world.cities.yichang
    page.goto(server.url(yichang, "/login?next=/organizations"))
    sign_in(page, "admin")

    assert page.get_by_role("heading", level=1).inner_text() == "组织机构"
    page.get_by_role("link", name="展开 宜昌市总工会").click()
    page.get_by_role("link", name="西陵区总工会", exact=True).click()
    assert "137****5678" in page.locator("dl.facts").inner_text()
    shoot(page, "staff-organization-desktop")
    page.get_by_role("link", name="组织机构").first.click()
    page.get_by_role("link", name="展开 宜昌市总工会").click()
    shoot(page, "staff-organizations-desktop")

    page.goto(server.url(yichang, f"/organizations/{world.yiling_union}"))
    page.get_by_label("新的上级组织").select_option(label="西陵区总工会")
    page.get_by_role("button", name="迁移…").click()
    shoot(page, "staff-organization-move-desktop")
    page.get_by_role("button", name="确认迁移").click()
    assert "西陵区总工会" in page.locator(".breadcrumb").inner_text()

    page.get_by_role("link", name="单位", exact=True).click()
    page.get_by_label("单位名称").fill("电子")
    page.locator("#unit-hits li", has_text="宜昌某某电子有限公司").wait_for()
    shoot(page, "staff-units-desktop")
    page.get_by_role("link", name="宜昌某某电子有限公司", exact=True).click()
    page.get_by_role("link", name="修改").click()
    page.get_by_label("女职工").fill("999")
    page.get_by_role("button", name="保存").click()
    assert page.get_by_label("女职工").get_attribute("aria-invalid") == "true"
    shoot(page, "staff-unit-edit-desktop")

    page.get_by_role("link", name="查询人员").click()
    page.get_by_label("身份证号").fill(XILING_ID)
    page.get_by_role("button", name="查询", exact=True).click()
    assert XILING_ID not in page.content()
    page.get_by_role("button", name="显示完整号码").click()
    assert page.get_by_test_id("id-number").inner_text() == XILING_ID
    shoot(page, "staff-person-desktop")

    page.get_by_role("link", name="审计记录").click()
    assert "read.id_number" in page.locator("table").inner_text()
    shoot(page, "staff-audit-desktop")

    page.get_by_role("link", name="用户与角色").click()
    page.get_by_role("link", name="yiling", exact=True).click()
    shoot(page, "staff-user-desktop")
    page.get_by_role("link", name="我的 API 令牌").click()
    page.get_by_label("用途").fill("统计报表")
    page.get_by_role("button", name="生成令牌").click()
    assert page.get_by_test_id("new-token").inner_text().startswith("gh_")
    shoot(page, "staff-tokens-desktop")


@pytest.mark.browser
def test_a_county_admin_of_another_city_uses_the_pages_on_a_phone_and_meets_404_outside(world, server, phone_page,
                                                                                        shoot):
    page = phone_page
    changzhou = world.cities.changzhou
    page.goto(server.url(changzhou, "/login?next=/organizations"))
    sign_in(page, "zhao")
    assert page.get_by_role("heading", level=1).inner_text() == "组织机构"
    page.get_by_role("link", name="展开 常州市总工会").click()
    page.get_by_role("link", name="展开 武进区总工会").click()
    assert "常州某某精密机械有限公司工会委员会" in page.locator("ul.tree").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shoot(page, "staff-organizations-changzhou-phone")

    page.goto(server.url(changzhou, "/units"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shoot(page, "staff-units-changzhou-phone")

    page.goto(server.url(changzhou, f"/organizations/{world.yiling_union}"))
    assert page.get_by_role("heading", level=1).inner_text() == "404"
    assert "宜昌" not in page.content()
    shoot(page, "staff-not-found-phone")


def test_every_control_of_the_staff_pages_has_a_label(app, world):
    import re

    admin = PageClient(app, world.cities.yichang, "admin")
    for path in ("/organizations", f"/organizations/{world.yiling_union}", "/units", f"/units/{world.yiling_unit}/edit",
                 "/people", f"/people/{world.yiling_person}", "/audit", "/users", f"/users/{world.yiling_admin}",
                 "/tokens"):
        page = text(admin.get(path))
        labelled = set(re.findall(r'<label[^>]* for="([^"]+)"', page))
        controls = [m for m in re.findall(r'<(?:input|select|textarea)\b([^>]*)>', page) if 'type="hidden"' not in m]
        ids = [re.search(r'\bid="([^"]+)"', c) for c in controls]
        assert all(i and i.group(1) in labelled for i in ids), (path, controls)
        assert all(b.strip() for b in re.findall(r"<button[^>]*>([^<]*)</button>", page)), path


def test_the_staff_pages_speak_english_too(app, world):
    admin = PageClient(app, world.cities.yichang, "admin")
    admin.get("/language/en?next=/organizations")
    page = text(admin.get(f"/organizations/{world.xiling}"))
    assert "County federation" in page and "Move under another organization" in page and "县（市、区）" not in page

