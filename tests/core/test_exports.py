"""Exports of the registry: the file the import reads, streamed, scoped by role, on record; and the round trip:
a subtree exported and imported into an empty tenant exports again the same."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
import sqlalchemy as sa

from core import tenancy
from core.models.audit import AuditRecord
from core.models.user import RoleGrant
from core.registry import memberships, organizations, people, regions, units
from tests.core.test_imports import _region, credit_code, id_number


def cells(response) -> list[list]:
    assert response.status_code == 200, response.get_json()
    sheet = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def load_city(session):
    regions.load_city(session, "420500")
    root = organizations.create(session, name="宜昌市总工会", kind="city_federation", region=_region(session, "420500"))
    return root


@pytest.fixture
def registry(make_tenant, make_user, api, db):
    """宜昌 with a county's tree, units and members; its tenant admin and the county's admin."""
    tenant = make_tenant("yichang")
    with db() as session, tenancy.tenant_scope(tenant):
        root = load_city(session)
        yiling = organizations.create(session, name="夷陵区总工会", kind="county_federation", parent=root,
                                      region=_region(session, "420506"), chairman_name="钱主席")
        street = organizations.create(session, name="小溪塔街道总工会", kind="street_federation", parent=yiling,
                                      region=_region(session, "420506001"), contact_phone="13907170000")
        union = organizations.create(session, name="宜昌某某物流有限公司工会委员会", kind="grassroots_union",
                                     parent=street, term_ends_on=dt.date(2029, 6, 30))
        joint = organizations.create(session, name="小溪塔工业园联合工会", kind="grassroots_union", parent=street,
                                     joint=True)
        organizations.create(session, name="西陵区总工会", kind="county_federation", parent=root,
                             region=_region(session, "420502"))
        logistics = units.create(session, name="宜昌某某物流有限公司", credit_code=credit_code(42000011),
                                 region=_region(session, "420506001"), industry="G", economic_type="173",
                                 employees=120, women=30, organization=union, address="小溪塔街道1号")
        units.create(session, name="宜昌小溪塔建材厂", credit_code=credit_code(42000012), organization=joint)
        units.create(session, name="宜昌未建会商贸有限公司", credit_code=credit_code(42000013),
                     region=_region(session, "420506001"))
        for name, organization, unit, phone in (("张三", union, logistics, "13907171234"), ("李四", union, None, None),
                                                ("王五", joint, None, "13907175678")):
            person = people.create(session, id_number=id_number(), name=name, phone=phone, education="college",
                                   ethnicity="土家族", employment_form="courier")
            memberships.join(session, person=person, organization=organization, unit=unit,
                             on=dt.date(2023, 5, 1))
        yiling_id = yiling.id
    _admin, admin_token = make_user(tenant, roles=["tenant_admin"])
    county, county_token = make_user(tenant)
    with db() as session, tenancy.tenant_scope(tenant):
        session.add(RoleGrant(user_id=county.id, role="chairman", organization_id=yiling_id))
    return tenant, api(tenant, admin_token), api(tenant, county_token), yiling_id


def upload_and_apply(client, kind, content):
    checked = client.post("/api/v1/imports", data={"kind": kind, "file": (io.BytesIO(content), f"{kind}.xlsx")},
                          content_type="multipart/form-data").json
    assert checked["status"] == "checked" and checked["error_count"] == 0, checked
    etag = client.get(f"/api/v1/imports/{checked['id']}").headers["ETag"]
    applied = client.post(f"/api/v1/imports/{checked['id']}/apply", headers={"If-Match": etag}).json
    assert applied["status"] == "applied", applied
    return applied


def test_a_subtree_exported_and_imported_into_an_empty_tenant_exports_again_the_same(registry, make_tenant, make_user,
                                                                                      api, db):
    _tenant, admin, _county, yiling = registry
    exported = {kind: admin.get(f"/api/v1/exports/{kind}?organization={yiling}")
                for kind in ("organizations", "units", "members")}
    first = {kind: cells(response) for kind, response in exported.items()}
    assert [row[0] for row in first["organizations"][1:]] == [
        "夷陵区总工会", "小溪塔街道总工会", "宜昌某某物流有限公司工会委员会", "小溪塔工业园联合工会"]
    assert len(first["members"]) == 4 and len(first["units"]) == 4

    empty = make_tenant("changzhou")
    with db() as session, tenancy.tenant_scope(empty):
        load_city(session)  # the divisions are reference data; the city federation is the root the subtree hangs from
    _admin, token = make_user(empty, roles=["tenant_admin"])
    other = api(empty, token)
    # The subtree's top hangs from its parent outside the subtree, 宜昌市总工会, which the new tenant has.
    for kind in ("organizations", "units", "members"):
        upload_and_apply(other, kind, exported[kind].data)

    again = {kind: cells(other.get(f"/api/v1/exports/{kind}")) for kind in ("units", "members")}
    again["organizations"] = cells(other.get("/api/v1/exports/organizations"))
    assert again["organizations"][0] == first["organizations"][0]
    assert again["organizations"][2:] == first["organizations"][1:], "the same tree under the same city federation"
    assert again["units"] == first["units"]
    assert again["members"] == first["members"]


def test_a_county_chairman_exports_their_subtree_masked_and_the_export_is_on_record(registry, db):
    tenant, _admin, county, yiling = registry

    rows = cells(county.get("/api/v1/exports/members"))

    assert {row[0] for row in rows[1:]} == {"张三", "李四", "王五"}
    assert all("********" in row[1] for row in rows[1:]), "ID numbers masked for a caller who may not read them"
    assert all("****" in row[2] for row in rows[1:] if row[2])
    with db() as session, tenancy.tenant_scope(tenant):
        record = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "export.members")).one()
        assert record.after == {"organization_id": None, "full": False}


def test_an_organization_outside_the_callers_subtree_cannot_be_exported(registry, db):
    tenant, _admin, county, _yiling = registry
    with db() as session, tenancy.tenant_scope(tenant):
        xiling = session.scalars(sa.select(organizations.Organization).where(
            organizations.Organization.name == "西陵区总工会")).one().id

    response = county.get(f"/api/v1/exports/members?organization={xiling}")

    assert response.status_code == 422 and "query.organization" in response.json["errors"]
