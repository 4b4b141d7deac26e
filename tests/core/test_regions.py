"""Regions (区域): the real divisions of Yichang and Changzhou, and the communities and grids a tenant adds."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from core import tenancy
from core.auth import PermissionTable
from core.models.audit import AuditRecord
from core.models.organization import Organization
from core.models.region import Region
from core.models.user import RoleGrant
from core.registry import organizations, regions


def _load(db, tenant, city_code):
    with db() as session, tenancy.tenant_scope(tenant):
        return regions.load_city(session, city_code, actor="test")


def _region(db, tenant, name) -> Region:
    with db() as session, tenancy.tenant_scope(tenant):
        return session.scalars(sa.select(Region).where(Region.name == name)).one()


@pytest.fixture
def yichang(make_tenant, db):
    tenant = make_tenant("yichang", name="宜昌市总工会")
    with db() as session, tenancy.tenant_scope(tenant):
        organizations.load_demo(session, "yichang")
    return tenant


@pytest.fixture
def admin(yichang, make_user, api):
    _user, token = make_user(yichang, roles=["tenant_admin"])
    return api(yichang, token)


def _grant(db, tenant, make_user, api, role, organization_name):
    user, token = make_user(tenant)
    with db() as session, tenancy.tenant_scope(tenant):
        organization = session.scalars(sa.select(Organization).where(Organization.name == organization_name)).one()
        session.add(RoleGrant(user_id=user.id, role=role, organization_id=organization.id))
    return api(tenant, token)


def _etag(client, region_id):
    return client.get(f"/api/v1/regions/{region_id}").headers["ETag"]


def test_yichang_loads_its_13_counties_and_113_streets_and_towns_each_under_its_county(make_tenant, db):
    tenant = make_tenant("yichang")

    loaded = _load(db, tenant, "420500")

    assert (loaded.city_name, loaded.added, loaded.present) == ("宜昌市", 127, 0)
    with db() as session, tenancy.tenant_scope(tenant):
        counts = dict(session.execute(sa.select(Region.level, sa.func.count()).group_by(Region.level)).all())
        rows = {r.id: r for r in session.scalars(sa.select(Region))}
    assert counts == {"city": 1, "county": 13, "street": 113}
    for region in rows.values():
        parent = rows.get(region.parent_id)
        assert region.path == (parent.path if parent else "/") + f"{region.id}/"
        assert parent is None or region.code.startswith(parent.code[:6 if parent.level == "county" else 4])
    xiaoxita = next(r for r in rows.values() if r.name == "小溪塔街道")
    assert (xiaoxita.code, rows[xiaoxita.parent_id].name) == ("420506001", "夷陵区")


def test_changzhou_loads_its_6_counties_and_67_streets_and_towns(make_tenant, db):
    tenant = make_tenant("changzhou")

    loaded = _load(db, tenant, "320400")

    assert (loaded.city_name, loaded.added) == ("常州市", 74)
    assert _region(db, tenant, "湖塘镇").code == "320412100"


def test_loading_a_city_again_adds_nothing_keeps_a_rename_and_is_audited_once(make_tenant, db):
    tenant = make_tenant("yichang")
    _load(db, tenant, "420500")
    with db() as session, tenancy.tenant_scope(tenant):
        street = session.scalars(sa.select(Region).where(Region.code == "420582001")).one()
        regions.rename(session, street, "玉阳街道")

    again = _load(db, tenant, "420500")

    assert (again.added, again.present) == (0, 127)
    assert _region(db, tenant, "玉阳街道").code == "420582001"
    with db() as session, tenancy.tenant_scope(tenant):
        loads = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "region.load")).all()
    assert [(r.after["added"], r.after["present"]) for r in loads] == [(127, 0)]


def test_each_tenant_has_its_own_copy_of_the_divisions(make_tenant, db):
    yichang, other = make_tenant("yichang"), make_tenant("yichang2")
    _load(db, yichang, "420500")

    assert _load(db, other, "420500").added == 127


def test_a_city_gonghui_does_not_ship_is_refused_with_the_field_named(make_tenant, db):
    tenant = make_tenant("beijing")

    with pytest.raises(Exception) as refused:
        _load(db, tenant, "110100")

    assert refused.value.errors == {"city_code": ["one of 320400, 420500"]}


def test_gonghui_regions_load_loads_a_city_into_a_tenant(make_tenant, app, db):
    from core.registry.regions import cli

    tenant = make_tenant("changzhou")
    runner = app.test_cli_runner()

    first = runner.invoke(cli, ["load", "changzhou", "320400"])
    assert first.exit_code == 0, first.output
    assert "常州市 (320400) in changzhou: 74 added, 0 already there" in first.output
    assert "0 added, 74 already there" in runner.invoke(cli, ["load", "changzhou", "320400"]).output
    unknown = runner.invoke(cli, ["load", "nobody", "320400"])
    assert unknown.exit_code != 0 and "nobody" in unknown.output
    assert _region(db, tenant, "天宁区").level == "county"


# --- the API ----------------------------------------------------------------------------------------------------


def test_regions_are_listed_by_level_parent_or_name_and_a_subtree_comes_a_page_at_a_time(yichang, admin, db):
    yiling = _region(db, yichang, "夷陵区")

    counties = admin.get("/api/v1/regions?level=county&page_size=200")
    assert len(counties.json) == 13 and counties.json[0]["name"] == "西陵区", "in code order"
    towns = admin.get(f"/api/v1/regions?parent={yiling.id}&page_size=200")
    assert len(towns.json) == 14 and {r["level"] for r in towns.json} == {"street"}
    assert [r["code"] for r in admin.get("/api/v1/regions", query_string={"q": "小溪塔"}).json] == ["420506001"]
    page = admin.get(f"/api/v1/regions/{yiling.id}/subtree?page_size=5")
    assert '"total": 15' in page.headers["X-Pagination"] and page.json[0]["name"] == "夷陵区"
    read = admin.get(f"/api/v1/regions/{yiling.id}")
    assert read.json["code"] == "420506" and read.headers["ETag"]


def test_a_community_is_added_under_a_street_with_its_national_code(yichang, admin, db):
    street = _region(db, yichang, "小溪塔街道")

    added = admin.post("/api/v1/regions", json={"parent_id": street.id, "name": "东湖社区", "level": "community",
                                                "code": "420506001001"})
    assert added.status_code == 201
    assert added.json["path"] == f"{street.path}{added.json['id']}/" and added.json["level"] == "community"
    wrong_code = admin.post("/api/v1/regions", json={"parent_id": street.id, "name": "西湖社区", "level": "community",
                                                     "code": "420502001001"})
    assert wrong_code.status_code == 422 and "code" in wrong_code.json["errors"]
    taken = admin.post("/api/v1/regions", json={"parent_id": street.id, "name": "又一个社区", "level": "community",
                                                "code": "420506001001"})
    assert taken.status_code == 409
    under_a_county = admin.post("/api/v1/regions", json={"parent_id": street.parent_id, "name": "某社区",
                                                         "level": "community", "code": "420506999001"})
    assert under_a_county.status_code == 422 and "parent_id" in under_a_county.json["errors"]
    a_county = admin.post("/api/v1/regions", json={"parent_id": street.id, "name": "某县", "level": "county"})
    assert a_county.status_code == 422 and "level" in a_county.json["errors"]


def test_grids_get_codes_of_the_tenants_own_numbered_under_their_parent(yichang, admin, db):
    street = _region(db, yichang, "小溪塔街道")
    community = admin.post("/api/v1/regions", json={"parent_id": street.id, "name": "东湖社区", "level": "community",
                                                    "code": "420506001001"}).json

    first = admin.post("/api/v1/regions", json={"parent_id": street.id, "name": "第一网格", "level": "grid"})
    second = admin.post("/api/v1/regions", json={"parent_id": street.id, "name": "第二网格", "level": "grid"})
    in_community = admin.post("/api/v1/regions", json={"parent_id": community["id"], "name": "东湖一网格", "level": "grid"})

    assert [first.json["code"], second.json["code"]] == ["420506001G001", "420506001G002"]
    assert in_community.json["code"] == "420506001001G001"
    under_a_grid = admin.post("/api/v1/regions", json={"parent_id": first.json["id"], "name": "子网格", "level": "grid"})
    assert under_a_grid.status_code == 422 and "parent_id" in under_a_grid.json["errors"]


def test_a_rename_needs_the_etag_it_read_and_is_audited(yichang, admin, db):
    street = _region(db, yichang, "当阳市玉阳街道")
    etag = _etag(admin, street.id)

    assert admin.patch(f"/api/v1/regions/{street.id}", json={"name": "玉阳街道"}).status_code == 428
    renamed = admin.patch(f"/api/v1/regions/{street.id}", json={"name": "玉阳街道"}, headers={"If-Match": etag})
    assert renamed.status_code == 200 and renamed.json["name"] == "玉阳街道"
    stale = admin.patch(f"/api/v1/regions/{street.id}", json={"name": "又改"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    with db() as session, tenancy.tenant_scope(yichang):
        record = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "region.rename")).one()
    assert (record.before["name"], record.after["name"]) == ("当阳市玉阳街道", "玉阳街道")


def test_a_federation_admin_sees_the_regions_of_their_county_only(yichang, make_user, api, db, make_tenant):
    yiling = _grant(db, yichang, make_user, api, "federation_admin", "夷陵区总工会")
    xiling_street = _region(db, yichang, "学院街道")

    names = {r["name"] for r in yiling.get("/api/v1/regions?page_size=200").json}
    assert "小溪塔街道" in names and "夷陵区" in names
    assert "学院街道" not in names and "宜昌市" not in names
    assert yiling.get(f"/api/v1/regions/{xiling_street.id}").status_code == 404
    assert yiling.get(f"/api/v1/regions/{xiling_street.id}/subtree").status_code == 404

    changzhou = make_tenant("changzhou")
    _user, token = make_user(changzhou, roles=["tenant_admin"])
    assert api(changzhou, token).get(f"/api/v1/regions/{xiling_street.id}").status_code == 404


@pytest.fixture
def federation_admins_manage_regions(app):
    """Issue 4 gives ``regions.manage`` to federation admins as well as tenant admins."""
    state = app.extensions["gonghui"]
    roles = state.permissions.roles_by_permission
    state.permissions = PermissionTable({**roles, "regions.manage": roles["regions.manage"] | {"federation_admin"}})


def test_a_street_federation_admin_adds_grids_in_their_street_and_nowhere_else(
    yichang, make_user, api, db, federation_admins_manage_regions
):
    street_admin = _grant(db, yichang, make_user, api, "federation_admin", "小溪塔街道总工会")
    own, county = _region(db, yichang, "小溪塔街道"), _region(db, yichang, "夷陵区")
    other = _region(db, yichang, "学院街道")

    def grid(client, parent, name):
        return client.post("/api/v1/regions", json={"parent_id": parent.id, "name": name, "level": "grid"})

    assert grid(street_admin, own, "第一网格").status_code == 201
    elsewhere = grid(street_admin, other, "第一网格")
    assert elsewhere.status_code == 422 and elsewhere.json["errors"] == {"parent_id": ["no such region"]}
    above = street_admin.patch(f"/api/v1/regions/{county.id}", json={"name": "夷陵"}, headers={"If-Match": "*"})
    assert above.status_code == 404
    chairman = _grant(db, yichang, make_user, api, "chairman", "宜昌示例物流有限公司工会委员会")
    assert grid(chairman, own, "第二网格").status_code == 403
