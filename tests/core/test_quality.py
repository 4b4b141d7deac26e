"""Data quality: each union sees, for its own part of the tree, the records the real-name work asks it to fix,
counted in one call, listed page by page with personal numbers masked, and exported to a spreadsheet."""
from __future__ import annotations

import datetime as dt
import io
import itertools
import json

import openpyxl
import pytest
import sqlalchemy as sa
from stdnum.cn import uscc

from core import id_numbers, tenancy
from core.models.audit import AuditRecord
from core.models.region import Region
from core.models.user import RoleGrant
from core.registry import memberships, organizations, people, quality, regions, units

_sequence = itertools.count(100)
COMPLETE = dict(ethnicity="汉族", education="bachelor", household_type="urban", employment_form="employee")


def id_number(born: dt.date = dt.date(1990, 1, 1), *, male: bool = True) -> str:
    seq = (next(_sequence) * 2 + male) % 1000
    first17 = f"420506{born:%Y%m%d}{seq:03d}"
    return first17 + id_numbers.check_character(first17)


def credit_code() -> str:
    body = f"{next(_sequence):08d}"
    head = "91420506" + body + units.organization_code_check_character(body)
    return head + uscc.calc_check_digit(head)


@pytest.fixture
def world(make_tenant, make_user, db):
    tenant = make_tenant("yichang", name="宜昌市总工会")
    with db() as session, tenancy.tenant_scope(tenant):
        regions.load_city(session, "420500")
        region = {r.code: r for r in session.scalars(sa.select(Region).where(Region.code.in_(["420500", "420506", "420502"])))}
        city = organizations.create(session, name="宜昌市总工会", kind="city_federation", region=region["420500"])
        yiling = organizations.create(session, name="夷陵区总工会", kind="county_federation", parent=city,
                                      region=region["420506"])
        xiling = organizations.create(session, name="西陵区总工会", kind="county_federation", parent=city,
                                      region=region["420502"])
        union = organizations.create(session, name="宜昌某某物流有限公司工会委员会", kind="grassroots_union",
                                     parent=yiling, term_ends_on=dt.date(2030, 1, 1))
        other = organizations.create(session, name="宜昌某某商贸有限公司工会委员会", kind="grassroots_union",
                                     parent=xiling, term_ends_on=dt.date(2030, 1, 1))
        unit = units.create(session, name="宜昌某某物流有限公司", credit_code=credit_code(), region=region["420506"],
                            industry="G", economic_type="173", employees=40, organization=union)
        other_unit = units.create(session, name="宜昌某某商贸有限公司", credit_code=credit_code(),
                                  region=region["420502"], industry="F", economic_type="173", employees=30,
                                  organization=other)
    _admin, admin_token = make_user(tenant, roles=["tenant_admin"], username="admin")
    tokens = {"admin": admin_token}
    for name, role, organization in (("chairman", "chairman", union), ("other_chairman", "chairman", other),
                                     ("county_admin", "federation_admin", yiling)):
        user, tokens[name] = make_user(tenant, username=name)
        with db() as session, tenancy.tenant_scope(tenant):
            session.add(RoleGrant(user_id=user.id, role=role, organization_id=organization.id))
    return dict(tenant=tenant, city=city, yiling=yiling, xiling=xiling, union=union, other=other, unit=unit,
                other_unit=other_unit, region=region, tokens=tokens)


def member(world, db, *, organization="union", unit="unit", born=dt.date(1990, 1, 1), male=True, name="张三",
           **fields):
    details = {**COMPLETE, "phone": f"139{next(_sequence):08d}", **fields}
    if details["phone"] is None:
        del details["phone"]
    with db() as session, tenancy.tenant_scope(world["tenant"]):
        person = people.create(session, id_number=id_number(born, male=male), name=name, actor="test", **details)
        memberships.join(session, person=person, organization=world[organization],
                         unit=world[unit] if unit else None, actor="test")
    return person


def counts(api, world, who="admin", **query):
    response = api(world["tenant"], world["tokens"][who]).get("/api/v1/quality", query_string=query)
    assert response.status_code == 200, response.json
    return {check["name"]: check["count"] for check in response.json["checks"]}


def listed(api, world, check, who="admin", **query):
    response = api(world["tenant"], world["tokens"][who]).get(f"/api/v1/quality/{check}", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


# --- what each check finds ----------------------------------------------------------------------------------------------


def test_a_clean_registry_has_nothing_to_fix(world, db, api):
    member(world, db)
    member(world, db, organization="other", unit="other_unit", name="李四")

    assert counts(api, world) == {name: 0 for name in quality.CHECKS}


def test_a_member_too_young_to_work_or_a_hundred_years_old_has_a_suspect_id_number_shown_masked(world, db, api):
    child = member(world, db, born=dt.date(2015, 3, 1), name="王小")
    member(world, db, born=dt.date(1920, 5, 5), name="王老")
    member(world, db, born=dt.date(1990, 1, 1), name="王中")

    rows = listed(api, world, "implausible_ages")

    assert sorted(row["name"] for row in rows) == ["王小", "王老"]
    young = next(row for row in rows if row["name"] == "王小")
    assert young["id_number"] == child.id_number[:6] + "********" + child.id_number[-4:]
    assert young["age"] == id_numbers.age_on(dt.date(2015, 3, 1), id_numbers.today())
    assert young["implausible_age"] is True and "birth_date" not in young


def test_one_person_registered_twice_under_two_numbers_shows_as_a_probable_duplicate(world, db, api):
    member(world, db, name="赵敏", born=dt.date(1988, 8, 8), male=False)
    member(world, db, name="赵敏", born=dt.date(1988, 8, 8), male=False, organization="other", unit="other_unit")
    member(world, db, name="赵敏", born=dt.date(1988, 8, 9), male=False)  # another 赵敏: another birthday

    assert counts(api, world)["duplicate_people"] == 2
    # A chairman sees their own record of the pair, not the other union's.
    rows = listed(api, world, "duplicate_people", who="chairman")
    assert [(row["name"], row["organization_name"]) for row in rows] == [("赵敏", "宜昌某某物流有限公司工会委员会")]


def test_members_without_a_phone_are_listed(world, db, api):
    member(world, db, name="甲", phone="13900001111")
    member(world, db, name="丙", phone=None)

    assert [(row["name"], row["phone"]) for row in listed(api, world, "members_without_phone")] == [("丙", None)]


def test_a_member_record_without_the_registration_forms_fields_says_which_are_missing(world, db, api):
    member(world, db, name="钱七", education="", employment_form="")
    member(world, db, name="孙八", unit=None)

    incomplete = {row["name"]: row["missing"] for row in listed(api, world, "members_missing_fields")}
    without_unit = {row["name"]: row["missing"] for row in listed(api, world, "members_without_unit")}

    assert incomplete == {"钱七": ["education", "employment_form"]}
    assert without_unit == {"孙八": ["unit"]}


def test_units_without_a_union_come_biggest_first_and_a_county_sees_those_of_its_area(world, db, api):
    with db() as session, tenancy.tenant_scope(world["tenant"]):
        yiling, xiling = world["region"]["420506"], world["region"]["420502"]
        for name, region, employees in (("夷陵小店", yiling, 3), ("夷陵大厂", yiling, 300), ("西陵工厂", xiling, 80)):
            units.create(session, name=name, credit_code=credit_code(), region=region, industry="C",
                         economic_type="173", employees=employees)
        units.create(session, name="夷陵已建会未关联", credit_code=credit_code(), region=yiling, industry="C",
                     economic_type="173", employees=50, has_union=True)
        units.create(session, name="夷陵缺信息", region=yiling, has_union=True)

    assert [row["name"] for row in listed(api, world, "units_without_union")] == ["夷陵大厂", "西陵工厂", "夷陵小店"]
    assert [row["name"] for row in listed(api, world, "units_without_union", who="county_admin")] == ["夷陵大厂", "夷陵小店"]
    assert listed(api, world, "units_without_union", who="chairman") == []  # a grassroots union has no area
    assert [row["name"] for row in listed(api, world, "units_union_not_recorded")] == ["夷陵已建会未关联", "夷陵缺信息"]
    (incomplete,) = listed(api, world, "units_missing_fields", who="county_admin")
    assert incomplete["missing"] == ["code", "industry", "economic_type", "employees"]


def test_an_organization_whose_term_has_run_out_is_due_for_re_election(world, db, api):
    with db() as session, tenancy.tenant_scope(world["tenant"]):
        organizations.create(session, name="夷陵某厂工会委员会", kind="grassroots_union", parent=world["yiling"],
                             term_ends_on=dt.date(2024, 6, 30), chairman_name="周主席")
        organizations.create(session, name="西陵某厂工会委员会", kind="grassroots_union", parent=world["xiling"],
                             term_ends_on=dt.date(2023, 1, 31))

    assert [row["name"] for row in listed(api, world, "terms_expired")] == ["西陵某厂工会委员会", "夷陵某厂工会委员会"]
    (row,) = listed(api, world, "terms_expired", who="county_admin")
    assert row["term_ends_on"] == "2024-06-30" and row["chairman_name"] == "周主席"


# --- whose subtree ------------------------------------------------------------------------------------------------------


def test_each_union_counts_its_own_subtree_and_can_narrow_to_an_organization_under_it(world, db, api):
    member(world, db, name="甲", phone=None)
    member(world, db, name="乙", phone=None, organization="other", unit="other_unit")

    assert counts(api, world)["members_without_phone"] == 2
    assert counts(api, world, "county_admin")["members_without_phone"] == 1
    assert counts(api, world, "other_chairman")["members_without_phone"] == 1
    assert counts(api, world, organization=world["xiling"].id)["members_without_phone"] == 1
    assert [row["name"] for row in listed(api, world, "members_without_phone", who="other_chairman")] == ["乙"]


def test_an_organization_outside_the_callers_subtree_is_refused_like_one_that_does_not_exist(world, api):
    client = api(world["tenant"], world["tokens"]["county_admin"])

    outside = client.get("/api/v1/quality", query_string={"organization": world["xiling"].id})
    missing = client.get("/api/v1/quality/terms_expired", query_string={"organization": 987654321})

    assert outside.status_code == missing.status_code == 422
    assert outside.json["errors"] == missing.json["errors"] == {"query.organization": ["no such organization"]}


def test_an_unknown_check_is_404_and_an_anonymous_caller_401(world, api):
    assert api(world["tenant"], world["tokens"]["admin"]).get("/api/v1/quality/everything").status_code == 404
    assert api(world["tenant"]).get("/api/v1/quality").status_code == 401


def test_a_long_list_comes_in_pages_with_the_total_in_the_header(world, db, api):
    for n in range(5):
        member(world, db, name=f"无号{n}", phone=None)
    client = api(world["tenant"], world["tokens"]["admin"])

    response = client.get("/api/v1/quality/members_without_phone", query_string={"page": 2, "page_size": 2})

    assert [row["name"] for row in response.json] == ["无号2", "无号3"]
    assert json.loads(response.headers["X-Pagination"])["total"] == 5


# --- export ---------------------------------------------------------------------------------------------------------------


def test_a_list_exports_to_a_spreadsheet_with_chinese_headers_and_masked_numbers_on_record(world, db, api):
    person = member(world, db, name="钱七", education="")
    client = api(world["tenant"], world["tokens"]["county_admin"])

    response = client.get("/api/v1/quality/members_missing_fields.xlsx")

    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header, row = [[cell.value for cell in r] for r in sheet.iter_rows(max_row=2)]
    assert header[:3] == ["姓名", "身份证号码", "性别"]
    assert row[:3] == ["钱七", person.id_number[:6] + "********" + person.id_number[-4:], "男"]
    assert row[-1] == "学历"
    with db() as session, tenancy.tenant_scope(world["tenant"]):
        record = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "export.quality")).one()
    assert record.after["check"] == "members_missing_fields"
