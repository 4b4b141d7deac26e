"""Units (单位), in the words of the people who keep the real-name registry: a unit is registered under its
credit code, checked by its check character; it counts its workers; a grassroots or joint union covers it or it
has none; and each admin sees the units of their own part of the city."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_10

from core import tenancy
from core.errors import Conflict, InvalidInput
from core.models.audit import AuditRecord
from core.models.organization import Organization
from core.models.region import Region
from core.models.unit import Unit
from core.models.user import RoleGrant
from core.registry import organizations, unit_search, units

_serial = itertools.count(1)


def organization_code(n: int) -> str:
    body = f"{n:08d}"
    return body + units.organization_code_check_character(body)


def credit_code(n: int | None = None, region: str = "420506") -> str:
    """A valid unified social credit code of a company (91) registered in ``region``; a new one each call."""
    head = "91" + region + organization_code(n if n is not None else 10000000 + next(_serial))
    return head + uscc.calc_check_digit(head)


def wrong_check_character(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


@dataclass
class City:
    """宜昌's demo city in a tenant: its regions and union tree, found by name, and units made in it."""

    tenant: object
    db: object

    def run(self, function, *args, **kwargs):
        """Call a registry function inside the tenant, in a unit of work of its own."""
        with self.db() as session, tenancy.tenant_scope(self.tenant):
            return function(session, *args, **kwargs)

    def region(self, name: str) -> Region:
        return self.run(lambda s: s.scalars(sa.select(Region).where(Region.name == name).order_by(Region.id)).first())

    def organization(self, name: str) -> Organization:
        return self.run(lambda s: s.scalars(sa.select(Organization).where(Organization.name == name)).one())

    def unit(self, name: str, *, region: str | None = "夷陵区", union: str | None = None, **fields) -> Unit:
        def make(session):
            return units.create(
                session,
                name=name,
                region=session.scalars(sa.select(Region).where(Region.name == region).order_by(Region.id)).first() if region else None,
                organization=session.scalars(sa.select(Organization).where(Organization.name == union)).one() if union else None,
                actor="test",
                **fields,
            )

        return self.run(make)


@pytest.fixture
def yichang(make_tenant, db) -> City:
    tenant = make_tenant("yichang", name="宜昌市总工会")
    city = City(tenant, db)
    city.run(organizations.load_demo, "yichang")
    return city


@pytest.fixture
def staff(yichang, make_user, api, db):
    """``staff(role, at=None)``: a client for a user holding ``role`` at the organization named ``at`` (None: the
    whole tenant)."""

    def make(role: str, at: str | None = None):
        user, token = make_user(yichang.tenant, roles=[] if at else [role])
        if at:
            with db() as session, tenancy.tenant_scope(yichang.tenant):
                session.add(RoleGrant(user_id=user.id, role=role, organization_id=yichang.organization(at).id))
        return api(yichang.tenant, token)

    return make


def _names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json]


# --- credit codes -----------------------------------------------------------------------------------------------


def test_a_credit_code_with_a_wrong_check_character_is_refused_naming_the_field(yichang, staff):
    admin = staff("tenant_admin")

    refused = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司", "credit_code": wrong_check_character(credit_code())})

    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["credit_code"]
    assert "check character" in refused.json["errors"]["credit_code"][0]


def test_a_credit_code_typed_in_full_width_lower_case_with_spaces_is_stored_as_registered(yichang, staff):
    code = credit_code()
    typed = " ".join(code[i : i + 4] for i in range(0, 18, 4)).lower().translate(
        {ord(c): ord(c) + 0xFEE0 for c in "0123456789abcdefghijklmnopqrstuvwxyz"})

    created = staff("tenant_admin").post("/api/v1/units", json={"name": "宜昌某某物流有限公司", "credit_code": typed})

    assert created.status_code == 201, created.json
    assert created.json["credit_code"] == code
    assert created.json["organization_code"] == code[8:17], "the organisation code inside the credit code is kept"


def test_a_credit_code_of_the_wrong_length_or_letters_says_so(yichang):
    with pytest.raises(InvalidInput) as short:
        units.check_credit_code("91420506MA4")
    assert "18 characters" in short.value.errors["credit_code"][0]
    with pytest.raises(InvalidInput) as letters:
        units.check_credit_code("91420506ZZZZZZZZZZ")
    assert "capital letters" in letters.value.errors["credit_code"][0]


def test_old_records_with_a_registration_number_or_an_organisation_code_are_checked_too(yichang, staff):
    admin = staff("tenant_admin")
    number = "42050600000001"
    number += mod_11_10.calc_check_digit(number)

    old = admin.post("/api/v1/units", json={
        "name": "宜昌某某老厂", "registration_number": number, "organization_code": "12345678-8"})
    assert old.status_code == 201, old.json
    assert (old.json["registration_number"], old.json["organization_code"], old.json["credit_code"]) == (number, "123456788", None)

    wrong_number = admin.post("/api/v1/units", json={"name": "宜昌另一老厂", "registration_number": number[:-1] + str((int(number[-1]) + 1) % 10)})
    assert wrong_number.status_code == 422 and list(wrong_number.json["errors"]) == ["registration_number"]
    wrong_code = admin.post("/api/v1/units", json={"name": "宜昌另一老厂", "organization_code": "12345678-9"})
    assert wrong_code.status_code == 422 and list(wrong_code.json["errors"]) == ["organization_code"]


def test_a_unit_is_found_by_its_credit_code_registration_number_or_organisation_code(yichang, staff):
    code = credit_code()
    yichang.unit("宜昌某某物流有限公司", credit_code=code, registration_number=None)
    admin = staff("tenant_admin")

    assert admin.get("/api/v1/units/lookup", query_string={"credit_code": code.lower()}).json["name"] == "宜昌某某物流有限公司"
    by_organization_code = admin.get("/api/v1/units/lookup", query_string={"credit_code": f"{code[8:16]}-{code[16]}"})
    assert by_organization_code.json["name"] == "宜昌某某物流有限公司"
    assert admin.get("/api/v1/units/lookup", query_string={"credit_code": credit_code()}).status_code == 404
    malformed = admin.get("/api/v1/units/lookup", query_string={"credit_code": wrong_check_character(code)})
    assert malformed.status_code == 422 and list(malformed.json["errors"]) == ["query.credit_code"]


def test_two_units_cannot_share_a_credit_code_nor_the_organisation_code_inside_it(yichang, staff):
    code = credit_code()
    yichang.unit("宜昌某某物流有限公司", credit_code=code)
    admin = staff("tenant_admin")

    twin = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司（重复）", "credit_code": code})
    assert twin.status_code == 409 and "credit_code" in twin.json["errors"]
    old_record = admin.post("/api/v1/units", json={"name": "宜昌某某物流公司", "organization_code": code[8:17]})
    assert old_record.status_code == 409 and "organization_code" in old_record.json["errors"]


def test_an_organisation_code_that_differs_from_the_one_inside_the_credit_code_is_a_typing_mistake(yichang):
    code = credit_code()
    with pytest.raises(InvalidInput) as mistake:
        yichang.unit("宜昌某某物流有限公司", credit_code=code, organization_code=organization_code(1))
    assert code[8:17] in mistake.value.errors["organization_code"][0]


# --- the unit's record ------------------------------------------------------------------------------------------


def test_women_dispatched_and_migrant_workers_are_counted_among_the_employees(yichang, staff):
    admin = staff("tenant_admin")

    too_many = admin.post("/api/v1/units", json={
        "name": "宜昌某某物流有限公司", "employees": 30, "women": 31, "dispatched": 30, "migrant_workers": 40})
    assert too_many.status_code == 422
    assert sorted(too_many.json["errors"]) == ["migrant_workers", "women"]
    negative = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司", "employees": -1})
    assert negative.status_code == 422 and list(negative.json["errors"]) == ["employees"]

    created = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司", "employees": 30, "women": 12})
    assert created.status_code == 201
    fewer = admin.patch(f"/api/v1/units/{created.json['id']}", json={"employees": 10},
                        headers={"If-Match": created.headers["ETag"]})
    assert fewer.status_code == 422 and "women" in fewer.json["errors"]


def test_the_database_refuses_head_counts_the_registry_would_refuse(yichang):
    with pytest.raises(sa.exc.IntegrityError):
        with yichang.db() as session, tenancy.tenant_scope(yichang.tenant):
            session.add(Unit(name="宜昌某某物流有限公司", employees=5, women=6))


def test_industry_and_unit_category_come_from_the_national_code_lists(yichang, staff):
    admin = staff("tenant_admin")

    listed = admin.get("/api/v1/units/code-lists").json
    assert [i["code"] for i in listed["industries"]] == list("ABCDEFGHIJKLMNOPQRST")
    assert listed["economic_types"][0] == {"code": "110", "name": "国有企业"}
    assert listed["economic_types"][-1] == {"code": "700", "name": "民办非企业单位"}
    wrong = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司", "industry": "Z", "economic_type": "999"})
    assert wrong.status_code == 422 and sorted(wrong.json["errors"]) == ["economic_type", "industry"]
    right = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司", "industry": "G", "economic_type": "173"})
    assert (right.json["industry"], right.json["economic_type"]) == ("G", "173")


def test_a_grassroots_union_covering_a_unit_gives_it_a_union_and_clearing_it_takes_it_away(yichang, staff):
    admin = staff("tenant_admin")
    unit = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司", "region_id": yichang.region("小溪塔街道").id}).json
    assert unit["has_union"] is False
    union = yichang.organization("宜昌示例物流有限公司工会委员会")

    covered = admin.patch(f"/api/v1/units/{unit['id']}", json={"organization_id": union.id}, headers={"If-Match": f'"unit-{unit["id"]}-v1"'})
    assert covered.status_code == 200, covered.json
    assert (covered.json["has_union"], covered.json["organization_name"]) == (True, "宜昌示例物流有限公司工会委员会")

    cleared = admin.patch(f"/api/v1/units/{unit['id']}", json={"organization_id": None}, headers={"If-Match": covered.headers["ETag"]})
    assert (cleared.json["has_union"], cleared.json["organization_id"]) == (False, None)


def test_a_joint_union_covers_several_small_units(yichang):
    first = yichang.unit("龙泉镇某某五金店", region="龙泉镇", union="龙泉镇工业园联合工会")
    second = yichang.unit("龙泉镇某某汽修厂", region="龙泉镇", union="龙泉镇工业园联合工会")

    assert first.has_union and second.has_union and first.organization_id == second.organization_id


def test_only_a_grassroots_or_joint_union_can_cover_a_unit(yichang, staff):
    admin = staff("tenant_admin")

    by_a_federation = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司", "organization_id": yichang.organization("夷陵区总工会").id})
    assert by_a_federation.status_code == 422 and list(by_a_federation.json["errors"]) == ["organization_id"]
    by_a_reservoir = admin.post("/api/v1/units", json={
        "name": "宜昌某某物流有限公司", "organization_id": yichang.organization("夷陵区职工服务中心工会委员会").id})
    assert by_a_reservoir.status_code == 422, "a reservoir holds members while their unit has no union"
    has_one = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司", "organization_id": yichang.organization("宜昌示例物流有限公司工会委员会").id,
                                                "has_union": False})
    assert has_one.status_code == 201 and has_one.json["has_union"] is True
    cannot_lose_it = admin.patch(f"/api/v1/units/{has_one.json['id']}", json={"has_union": False}, headers={"If-Match": has_one.headers["ETag"]})
    assert cannot_lose_it.status_code == 422 and "has_union" in cannot_lose_it.json["errors"]


def test_a_change_needs_the_version_it_was_read_at(yichang, staff):
    admin = staff("tenant_admin")
    unit = admin.post("/api/v1/units", json={"name": "宜昌某某物流有限公司"})
    url = f"/api/v1/units/{unit.json['id']}"

    assert admin.patch(url, json={"address": "夷陵区小溪塔街道1号"}).status_code == 428
    first = admin.patch(url, json={"address": "夷陵区小溪塔街道1号"}, headers={"If-Match": unit.headers["ETag"]})
    assert first.status_code == 200 and first.headers["ETag"] != unit.headers["ETag"]
    stale = admin.patch(url, json={"address": "夷陵区小溪塔街道2号"}, headers={"If-Match": unit.headers["ETag"]})
    assert stale.status_code == 412
    assert admin.get(url).json["address"] == "夷陵区小溪塔街道1号"


def test_every_change_to_a_unit_is_in_the_audit_trail(yichang):
    unit = yichang.unit("宜昌某某物流有限公司", region="小溪塔街道", employees=10)
    yichang.run(lambda s: units.update(s, s.get(Unit, unit.id), {"employees": 12}, actor="test"))
    union = yichang.organization("宜昌示例物流有限公司工会委员会")
    yichang.run(lambda s: units.set_covering_union(s, s.get(Unit, unit.id), s.get(Organization, union.id), actor="test"))
    yichang.run(lambda s: units.clear_covering_union(s, s.get(Unit, unit.id), actor="test"))

    records = yichang.run(lambda s: s.execute(
        sa.select(AuditRecord.action, AuditRecord.before, AuditRecord.after)
        .where(AuditRecord.object_type == "unit", AuditRecord.object_id == str(unit.id)).order_by(AuditRecord.seq)).all())
    assert [r.action for r in records] == ["unit.create", "unit.update", "unit.set_union", "unit.clear_union"]
    assert (records[1].before["employees"], records[1].after["employees"]) == (10, 12)
    assert records[2].after["organization_id"] == union.id and records[3].after["has_union"] is False


def test_a_name_is_kept_as_registered_with_its_spaces_tidied(yichang):
    unit = yichang.unit("  宜昌某某物流有限公司 ")
    assert unit.name == "宜昌某某物流有限公司"
    with pytest.raises(InvalidInput) as short:
        yichang.unit("宜")
    assert "name" in short.value.errors


def test_a_credit_code_taken_by_another_unit_cannot_be_given_on_change(yichang):
    first, second = credit_code(), credit_code()
    yichang.unit("宜昌甲物流有限公司", credit_code=first)
    other = yichang.unit("宜昌乙物流有限公司", credit_code=second)
    with pytest.raises(Conflict):
        yichang.run(lambda s: units.update(s, s.get(Unit, other.id), {"credit_code": first}))
    changed = yichang.run(lambda s: units.update(s, s.get(Unit, other.id), {"credit_code": credit_code()}))
    assert changed.organization_code == changed.credit_code[8:17], "a new credit code brings its organisation code"


# --- who sees which units ---------------------------------------------------------------------------------------


@pytest.fixture
def spread(yichang):
    """Units around the city: covered in 夷陵区, without a union in 夷陵区 and 西陵区, covered in 西陵区."""
    yichang.unit("宜昌示例物流有限公司", region="小溪塔街道", union="宜昌示例物流有限公司工会委员会", industry="G", economic_type="173")
    yichang.unit("龙泉镇某某五金店", region="龙泉镇", union="龙泉镇工业园联合工会", industry="F", economic_type="400")
    yichang.unit("夷陵区某某建材有限公司", region="龙泉镇", industry="C", economic_type="173")
    yichang.unit("西陵区某某餐饮有限公司", region="学院街道", industry="H", economic_type="173")
    yichang.unit("宜昌示例软件有限公司", region="学院街道", union="宜昌示例软件有限公司工会委员会", industry="I", economic_type="159")
    return yichang


def test_a_chairman_sees_the_units_of_their_unions_subtree_only(spread, staff):
    chairman = staff("chairman", at="龙泉镇工业园联合工会")

    assert _names(chairman.get("/api/v1/units")) == ["龙泉镇某某五金店"]
    other = spread.run(lambda s: s.scalar(sa.select(Unit.id).where(Unit.name == "夷陵区某某建材有限公司")))
    assert chairman.get(f"/api/v1/units/{other}").status_code == 404
    assert chairman.post("/api/v1/units", json={"name": "龙泉镇某某新厂"}).status_code == 403


def test_a_county_admin_sees_the_units_covered_in_their_county_and_those_without_a_union_in_its_area(spread, staff):
    yiling = staff("federation_admin", at="夷陵区总工会")

    assert sorted(_names(yiling.get("/api/v1/units"))) == sorted(["宜昌示例物流有限公司", "龙泉镇某某五金店", "夷陵区某某建材有限公司"])
    xiling_unit = spread.run(lambda s: s.scalar(sa.select(Unit.id).where(Unit.name == "西陵区某某餐饮有限公司")))
    assert yiling.get(f"/api/v1/units/{xiling_unit}").status_code == 404
    assert yiling.patch(f"/api/v1/units/{xiling_unit}", json={"name": "改名"}, headers={"If-Match": "*"}).status_code == 404


def test_a_county_admin_registers_units_in_their_own_area_only(spread, staff):
    yiling = staff("federation_admin", at="夷陵区总工会")

    own = yiling.post("/api/v1/units", json={"name": "夷陵区某某新材料有限公司", "region_id": spread.region("龙泉镇").id})
    assert own.status_code == 201
    elsewhere = yiling.post("/api/v1/units", json={"name": "西陵区某某新店", "region_id": spread.region("学院街道").id})
    assert elsewhere.status_code == 422 and list(elsewhere.json["errors"]) == ["region_id"]
    foreign_union = yiling.post("/api/v1/units", json={
        "name": "西陵区某某新店", "organization_id": spread.organization("宜昌示例软件有限公司工会委员会").id})
    assert foreign_union.status_code == 422 and foreign_union.json["errors"] == {"organization_id": ["no such organization"]}
    moved_away = yiling.patch(f"/api/v1/units/{own.json['id']}", json={"region_id": spread.region("学院街道").id},
                              headers={"If-Match": own.headers["ETag"]})
    assert moved_away.status_code == 422
    assert spread.run(lambda s: s.get(Unit, own.json["id"]).region_id) == spread.region("龙泉镇").id


def test_another_tenants_admin_finds_nothing(spread, make_tenant, make_user, api):
    changzhou = make_tenant("changzhou", name="常州市总工会")
    _user, token = make_user(changzhou, roles=["tenant_admin"])
    client = api(changzhou, token)
    unit = spread.run(lambda s: s.scalars(sa.select(Unit).where(Unit.name == "宜昌示例物流有限公司")).one())

    assert client.get("/api/v1/units").json == []
    assert client.get(f"/api/v1/units/{unit.id}").status_code == 404
    assert client.get("/api/v1/units/search", query_string={"q": "物流"}).json == []


def test_lists_filter_by_region_organization_union_industry_and_category(spread, staff):
    admin = staff("tenant_admin")

    def names(**query):
        return sorted(_names(admin.get("/api/v1/units", query_string={"page_size": 200, **query})))

    assert names(region=spread.region("夷陵区").id) == sorted(["宜昌示例物流有限公司", "龙泉镇某某五金店", "夷陵区某某建材有限公司"])
    assert names(region=spread.region("龙泉镇").id) == sorted(["龙泉镇某某五金店", "夷陵区某某建材有限公司"])
    assert names(organization=spread.organization("夷陵区总工会").id) == sorted(["宜昌示例物流有限公司", "龙泉镇某某五金店"])
    assert names(has_union="false") == sorted(["夷陵区某某建材有限公司", "西陵区某某餐饮有限公司"])
    assert names(industry="G") == ["宜昌示例物流有限公司"]
    assert names(economic_type="173", has_union="true") == ["宜昌示例物流有限公司"]
    unknown = admin.get("/api/v1/units", query_string={"region": 987654321})
    assert unknown.status_code == 422 and list(unknown.json["errors"]) == ["query.region"]


def test_a_member_may_not_list_units(spread, make_user, api):
    _user, token = make_user(spread.tenant, roles=["member"])
    assert api(spread.tenant, token).get("/api/v1/units").status_code == 403
    assert api(spread.tenant).get("/api/v1/units").status_code == 401
