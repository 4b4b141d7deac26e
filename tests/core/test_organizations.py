"""The union tree (工会组织), in the words of the people who run it: where each kind of union sits, who sees which
part of the tree, and how a union is moved, dissolved or merged into its twin."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core import tenancy
from core.db import Base, TenantOwned
from core.models.audit import AuditRecord
from core.models.organization import Organization
from core.models.user import RoleGrant
from core.registry import organizations

PHONE = "13907171234"


class RosterEntry(TenantOwned, Base):
    """A plugin's table that points at unions. Core knows nothing of it, yet a merge must carry it along."""

    __tablename__ = "rostertest_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), nullable=False)
    label: Mapped[str] = mapped_column(sa.String(50), nullable=False)


class RosterLog(TenantOwned, Base):
    """A plugin's ledger: what happened at which union, kept as it happened."""

    __tablename__ = "rostertest_log"
    __table_args__ = ({"info": {"append_only": True}},)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), nullable=False)
    event: Mapped[str] = mapped_column(sa.String(50), nullable=False)


@dataclass
class City:
    """A demo city loaded into a tenant: its regions and its union tree, found by name."""

    tenant: object
    db: object

    def read(self, name: str) -> Organization:
        with self.db() as session, tenancy.tenant_scope(self.tenant):
            return session.scalars(sa.select(Organization).where(Organization.name == name)).one()

    def id(self, name: str) -> int:
        return self.read(name).id

    def run(self, function, *args, **kwargs):
        """Call a registry function inside the tenant, in a unit of work of its own."""
        with self.db() as session, tenancy.tenant_scope(self.tenant):
            return function(session, *args, **kwargs)


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
                session.add(RoleGrant(user_id=user.id, role=role, organization_id=yichang.id(at)))
        return api(yichang.tenant, token)

    return make


def _create(client, **body):
    return client.post("/api/v1/organizations", json=body)


def _etag(client, organization_id: int) -> str:
    return client.get(f"/api/v1/organizations/{organization_id}").headers["ETag"]


def _names(response) -> list[str]:
    return [item["name"] for item in response.json]


# --- where each kind of union sits ------------------------------------------------------------------------------


def test_the_city_federation_is_the_only_union_without_a_parent(yichang, staff):
    admin = staff("tenant_admin")

    orphan = _create(admin, name="宜昌市某某区总工会", kind="county_federation")
    assert orphan.status_code == 422 and "parent_id" in orphan.json["errors"]
    second_root = _create(admin, name="宜昌市第二总工会", kind="city_federation")
    assert second_root.status_code == 409 and "kind" in second_root.json["errors"]
    under_a_parent = _create(admin, name="宜昌市另一总工会", kind="city_federation", parent_id=yichang.id("西陵区总工会"))
    assert under_a_parent.status_code == 422 and "parent_id" in under_a_parent.json["errors"]


def test_a_grassroots_union_sits_under_a_federation_or_an_industry_union_and_a_reservoir_under_a_federation(
    yichang, staff
):
    admin = staff("tenant_admin")

    under_a_grid_union = _create(
        admin, name="宜昌示例超市工会委员会", kind="grassroots_union", parent_id=yichang.id("小溪塔街道网格工会")
    )
    assert under_a_grid_union.status_code == 422
    assert "grid_union" in under_a_grid_union.json["errors"]["parent_id"][0]
    reservoir_under_an_industry_union = _create(
        admin, name="宜昌市教育系统职工服务中心工会委员会", kind="service_centre_committee",
        parent_id=yichang.id("宜昌市教育工会"),
    )
    assert reservoir_under_an_industry_union.status_code == 422
    assert "parent_id" in reservoir_under_an_industry_union.json["errors"]
    joint_federation = _create(
        admin, name="夷陵区某联合总工会", kind="street_federation", joint=True, parent_id=yichang.id("夷陵区总工会")
    )
    assert joint_federation.status_code == 422 and "joint" in joint_federation.json["errors"]

    school = _create(admin, name="宜昌市示例小学工会委员会", kind="grassroots_union", parent_id=yichang.id("宜昌市教育工会"))
    assert school.status_code == 201
    assert school.json["depth"] == 2
    assert school.json["path"] == f"{yichang.read('宜昌市教育工会').path}{school.json['id']}/"
    park = _create(
        admin, name="小溪塔街道物流园联合工会", kind="grassroots_union", joint=True, parent_id=yichang.id("小溪塔街道总工会")
    )
    assert park.status_code == 201 and park.json["joint"] is True and park.json["reservoir"] is False


def test_the_demo_city_has_every_kind_of_union_and_a_service_centre_in_every_county(yichang):
    kinds = yichang.run(lambda s: dict(s.execute(
        sa.select(Organization.kind, sa.func.count()).group_by(Organization.kind)).all()))

    assert kinds["city_federation"] == 1
    assert kinds["county_federation"] == 13 == kinds["service_centre_committee"]
    assert kinds["city_enterprise_committee"] == 1
    assert {"industry_union", "street_federation", "grassroots_union", "grid_union"} <= set(kinds)
    assert yichang.run(lambda s: s.scalar(sa.select(sa.func.count()).where(Organization.joint))) >= 2


# --- who sees which part of the tree ----------------------------------------------------------------------------


def test_a_federation_admin_of_夷陵区_cannot_see_西陵区s_unions(yichang, staff, make_tenant, make_user, api):
    yiling = staff("federation_admin", at="夷陵区总工会")
    xiling_union = yichang.id("宜昌示例软件有限公司工会委员会")

    listed = yiling.get("/api/v1/organizations?page_size=200")
    assert listed.status_code == 200
    assert "宜昌示例物流有限公司工会委员会" in _names(listed)
    assert all(item["path"].startswith(yichang.read("夷陵区总工会").path) for item in listed.json)
    assert yiling.get(f"/api/v1/organizations/{xiling_union}").status_code == 404
    assert yiling.get(f"/api/v1/organizations/{yichang.id('西陵区总工会')}/subtree").status_code == 404
    renamed = yiling.patch(f"/api/v1/organizations/{xiling_union}", json={"name": "改名"}, headers={"If-Match": "*"})
    assert renamed.status_code == 404
    assert yiling.get(f"/api/v1/organizations/{yichang.id('宜昌市总工会')}").status_code == 404, "not even the city above"

    changzhou = make_tenant("changzhou", name="常州市总工会")
    _user, token = make_user(changzhou, roles=["tenant_admin"])
    assert api(changzhou, token).get(f"/api/v1/organizations/{xiling_union}").status_code == 404


def test_a_chairman_reads_their_own_union_and_changes_nothing(yichang, staff):
    chairman = staff("chairman", at="宜昌示例物流有限公司工会委员会")
    own = yichang.id("宜昌示例物流有限公司工会委员会")

    assert _names(chairman.get("/api/v1/organizations")) == ["宜昌示例物流有限公司工会委员会"]
    etag = _etag(chairman, own)
    changed = chairman.patch(f"/api/v1/organizations/{own}", json={"chairman_name": "张三"}, headers={"If-Match": etag})
    assert changed.status_code == 403


def test_a_federation_admin_creates_unions_in_their_own_subtree_only(yichang, staff):
    yiling = staff("federation_admin", at="夷陵区总工会")

    own = _create(yiling, name="宜昌示例水泥有限公司工会委员会", kind="grassroots_union", parent_id=yichang.id("龙泉镇总工会"))
    assert own.status_code == 201
    sibling = _create(yiling, name="宜昌示例酒店工会委员会", kind="grassroots_union", parent_id=yichang.id("学院街道总工会"))
    assert sibling.status_code == 422 and sibling.json["errors"] == {"parent_id": ["no such organization"]}
    root = _create(yiling, name="宜昌市总工会（重复）", kind="city_federation")
    assert root.status_code == 403


def test_lists_filter_by_kind_status_parent_region_and_name_and_subtrees_come_a_page_at_a_time(yichang, staff):
    admin = staff("tenant_admin")
    yiling = yichang.id("夷陵区总工会")

    reservoirs = admin.get("/api/v1/organizations?kind=service_centre_committee&page_size=200")
    assert len(reservoirs.json) == 13
    assert _names(admin.get(f"/api/v1/organizations?parent={yichang.id('小溪塔街道总工会')}")) == [
        "小溪塔街道网格工会", "宜昌示例物流有限公司工会委员会"]
    assert sorted(_names(admin.get("/api/v1/organizations", query_string={"q": "网格"}))) == ["小溪塔街道网格工会", "西陵街道网格工会"]
    in_yiling = admin.get("/api/v1/organizations", query_string={"region": yichang.read("夷陵区总工会").region_id})
    assert "小溪塔街道网格工会" in _names(in_yiling) and "西陵街道网格工会" not in _names(in_yiling)
    assert admin.get("/api/v1/organizations?status=dissolved").json == []

    page = admin.get(f"/api/v1/organizations/{yiling}/subtree?page_size=3")
    assert '"total": 7' in page.headers["X-Pagination"]
    assert _names(page) == ["夷陵区总工会", "夷陵区职工服务中心工会委员会", "小溪塔街道总工会"]
    assert _names(admin.get(f"/api/v1/organizations/{yiling}/subtree?kind=grid_union")) == ["小溪塔街道网格工会"]


def test_a_long_list_counts_only_so_far_and_says_its_total_is_at_least_that(yichang, staff, monkeypatch):
    import json

    from core.api import pagination

    admin = staff("tenant_admin")
    yiling = yichang.id("夷陵区总工会")
    monkeypatch.setattr(pagination, "COUNT_CEILING", 5)  # the city's tree has 50,000 unions; this demo seven

    first = json.loads(admin.get(f"/api/v1/organizations/{yiling}/subtree?page_size=2").headers["X-Pagination"])
    last = json.loads(admin.get(f"/api/v1/organizations/{yiling}/subtree?page_size=2&page=4").headers["X-Pagination"])
    short = json.loads(admin.get(f"/api/v1/organizations/{yiling}/subtree?page_size=2&kind=grid_union")
                       .headers["X-Pagination"])

    assert (first["total"], first["total_is_lower_bound"], first["next_page"]) == (6, True, 2)
    assert "total_is_lower_bound" not in last and (last["total"], last["last_page"]) == (7, 4), \
        "counted up to the page asked for, the end is known again"
    assert short == {"total": 1, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1}


def test_the_subtree_is_one_range_scan_on_the_path_index(yichang, app):
    root = yichang.read("夷陵区总工会")
    statement = organizations.subtree(root).where(Organization.tenant_id == yichang.tenant.id)
    engine = app.extensions["gonghui"].db.engine

    with engine.connect() as connection:
        sql = statement.compile(connection, compile_kwargs={"literal_binds": True})
        if engine.dialect.name == "sqlite":
            plan = " ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        else:  # a demo-sized table is read whole unless told otherwise; the question is whether the index can serve
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))

    assert "ix_organization_tenant_id_path" in plan, plan


# --- updates ----------------------------------------------------------------------------------------------------


def test_an_update_needs_the_etag_it_read_and_a_stale_one_is_refused(yichang, staff):
    admin = staff("tenant_admin")
    union = yichang.id("宜昌示例物流有限公司工会委员会")
    etag = _etag(admin, union)

    missing = admin.patch(f"/api/v1/organizations/{union}", json={"chairman_name": "李四"})
    assert missing.status_code == 428
    changed = admin.patch(f"/api/v1/organizations/{union}", json={"chairman_name": "李四", "term_ends_on": "2028-06-30"},
                          headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.json["term_ends_on"] == "2028-06-30"
    stale = admin.patch(f"/api/v1/organizations/{union}", json={"chairman_name": "王五"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert yichang.read("宜昌示例物流有限公司工会委员会").chairman_name == "李四"


def test_a_union_becomes_another_kind_only_where_that_kind_may_sit(yichang, staff):
    admin = staff("tenant_admin")
    street = yichang.id("小溪塔街道总工会")

    refused = admin.patch(f"/api/v1/organizations/{street}", json={"kind": "grassroots_union"},
                          headers={"If-Match": _etag(admin, street)})
    assert refused.status_code == 422 and "grid_union" in refused.json["errors"]["kind"][0]
    union = yichang.id("宜昌示例物流有限公司工会委员会")
    joint = admin.patch(f"/api/v1/organizations/{union}", json={"joint": True},
                        headers={"If-Match": _etag(admin, union)})
    assert joint.status_code == 200 and joint.json["joint"] is True


def test_the_contact_phone_is_stored_encrypted_masked_in_lists_and_shown_in_full_only_to_a_tenant_admin(
    yichang, staff, app, db
):
    admin = staff("tenant_admin")
    created = _create(admin, name="宜昌示例纸业有限公司工会委员会", kind="grassroots_union",
                      parent_id=yichang.id("龙泉镇总工会"), contact_name="赵会计", contact_phone="139 0717 1234")
    union = created.json["id"]
    assert created.json["contact_phone"] == PHONE

    with app.extensions["gonghui"].db.engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT contact_phone, contact_phone_index FROM organization WHERE id = :id"), {"id": union}
        ).one()
    assert PHONE not in stored[0] and PHONE not in stored[1]
    listed = admin.get("/api/v1/organizations", query_string={"phone": PHONE})
    assert [(o["id"], o["contact_phone"]) for o in listed.json] == [(union, "139****1234")]
    assert admin.get(f"/api/v1/organizations/{union}").json["contact_phone"] == PHONE
    county_admin = staff("federation_admin", at="夷陵区总工会")
    assert county_admin.get(f"/api/v1/organizations/{union}").json["contact_phone"] == "139****1234"
    with db() as session, tenancy.tenant_scope(yichang.tenant):
        record = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "organization.create")
                                 .order_by(AuditRecord.seq.desc())).first()
    assert record.after["contact_phone"] == "139****1234" and record.object_id == str(union)


# --- move -------------------------------------------------------------------------------------------------------


def test_moving_a_town_federation_to_another_county_moves_its_whole_subtree(yichang, staff):
    admin = staff("tenant_admin")
    town, wujiagang = yichang.read("龙泉镇总工会"), yichang.read("伍家岗区总工会")
    park = yichang.read("龙泉镇工业园联合工会")
    before = _etag(admin, park.id)

    moved = admin.post(f"/api/v1/organizations/{town.id}/move", json={"parent_id": wujiagang.id},
                       headers={"If-Match": _etag(admin, town.id)})

    assert moved.status_code == 200
    assert moved.json["parent_id"] == wujiagang.id and moved.json["path"] == f"{wujiagang.path}{town.id}/"
    assert yichang.read("龙泉镇工业园联合工会").path == f"{wujiagang.path}{town.id}/{park.id}/"
    assert _etag(admin, park.id) != before, "a client holding the old place in the tree must read again"
    assert "龙泉镇工业园联合工会" in _names(admin.get(f"/api/v1/organizations/{wujiagang.id}/subtree"))
    assert "龙泉镇工业园联合工会" not in _names(admin.get(f"/api/v1/organizations/{yichang.id('夷陵区总工会')}/subtree"))


def test_a_move_rewrites_every_descendant_with_one_update_however_deep(yichang, app):
    """The path and depth of every descendant are rewritten by one UPDATE, not one per union."""
    city = yichang.read("宜昌市总工会")
    industry = yichang.run(organizations.create, name="宜昌市建设系统工会联合会", kind="industry_union", parent=city)
    xiling = yichang.read("西陵区总工会")
    statements: list[str] = []
    engine = app.extensions["gonghui"].db.engine

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE ORGANIZATION"):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        second = yichang.run(organizations.create, name="宜昌市建设系统工会联合会（西陵）", kind="industry_union",
                             parent=industry)
        for name in ("学院街道东山社区联合工会", "宜昌示例软件有限公司工会委员会"):
            union = yichang.read(name)
            yichang.run(lambda s, u=union: organizations.move(s, s.get(Organization, u.id),
                                                              s.get(Organization, second.id)))
        statements.clear()
        yichang.run(lambda s: organizations.move(s, s.get(Organization, second.id), s.get(Organization, xiling.id)))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)

    assert len(statements) == 2, statements  # the descendants at once, then the union itself
    software = yichang.read("宜昌示例软件有限公司工会委员会")
    assert software.path == f"{xiling.path}{second.id}/{software.id}/" and software.depth == 3


def test_a_union_cannot_move_under_its_own_subtree(yichang, staff):
    admin = staff("tenant_admin")
    education = yichang.id("宜昌市教育工会")
    colleges = _create(admin, name="宜昌市高校工会联合会", kind="industry_union", parent_id=education).json["id"]

    for target in (colleges, education):
        refused = admin.post(f"/api/v1/organizations/{education}/move", json={"parent_id": target},
                             headers={"If-Match": _etag(admin, education)})
        assert refused.status_code == 422 and "parent_id" in refused.json["errors"]
    wrong_kind = admin.post(f"/api/v1/organizations/{yichang.id('夷陵区总工会')}/move",
                            json={"parent_id": yichang.id("宜昌市教育工会")},
                            headers={"If-Match": _etag(admin, yichang.id("夷陵区总工会"))})
    assert wrong_kind.status_code == 422 and "county_federation" in wrong_kind.json["errors"]["parent_id"][0]


def test_a_federation_admin_cannot_move_a_union_out_of_their_subtree(yichang, staff):
    yiling = staff("federation_admin", at="夷陵区总工会")
    union = yichang.id("宜昌示例物流有限公司工会委员会")

    away = yiling.post(f"/api/v1/organizations/{union}/move", json={"parent_id": yichang.id("学院街道总工会")},
                       headers={"If-Match": _etag(yiling, union)})
    assert away.status_code == 422 and away.json["errors"] == {"parent_id": ["no such organization"]}
    within = yiling.post(f"/api/v1/organizations/{union}/move", json={"parent_id": yichang.id("龙泉镇总工会")},
                         headers={"If-Match": _etag(yiling, union)})
    assert within.status_code == 200


# --- dissolve ---------------------------------------------------------------------------------------------------


def test_a_union_with_active_unions_under_it_cannot_be_dissolved_until_they_are_gone(yichang, staff):
    admin = staff("tenant_admin")
    town = yichang.id("龙泉镇总工会")

    refused = admin.post(f"/api/v1/organizations/{town}/dissolve", headers={"If-Match": _etag(admin, town)})
    assert refused.status_code == 409 and refused.json["code"] == "has_active_children"
    assert refused.json["errors"] == {"children": ["龙泉镇工业园联合工会"]}
    park = yichang.id("龙泉镇工业园联合工会")
    dissolved = admin.post(f"/api/v1/organizations/{park}/dissolve", headers={"If-Match": _etag(admin, park)})
    assert dissolved.status_code == 200 and dissolved.json["status"] == "dissolved"
    emptied = admin.post(f"/api/v1/organizations/{town}/dissolve", headers={"If-Match": _etag(admin, town)})
    assert emptied.status_code == 200
    again = admin.post(f"/api/v1/organizations/{park}/dissolve", headers={"If-Match": _etag(admin, park)})
    assert again.status_code == 409 and again.json["code"] == "organization_dissolved"


def test_a_role_held_at_a_dissolved_union_sees_nothing_any_more(yichang, staff):
    admin = staff("tenant_admin")
    chairman = staff("chairman", at="龙泉镇工业园联合工会")
    park = yichang.id("龙泉镇工业园联合工会")
    assert chairman.get(f"/api/v1/organizations/{park}").status_code == 200

    admin.post(f"/api/v1/organizations/{park}/dissolve", headers={"If-Match": _etag(admin, park)})

    assert chairman.get(f"/api/v1/organizations/{park}").status_code == 404


# --- merge ------------------------------------------------------------------------------------------------------


def test_merging_a_duplicate_union_repoints_every_reference_plugin_tables_included_and_keeps_the_duplicate_as_merged(
    yichang, staff, make_user, db
):
    admin = staff("tenant_admin")
    street, twin = yichang.read("小溪塔街道总工会"), yichang.read("小溪塔街道网格工会")
    duplicate = yichang.run(organizations.create, name="小溪塔网格工会", kind="grid_union", parent=street)
    chairman, _token = make_user(yichang.tenant)
    both, _token = make_user(yichang.tenant)
    with db() as session, tenancy.tenant_scope(yichang.tenant):
        session.add_all([
            RoleGrant(user_id=chairman.id, role="chairman", organization_id=duplicate.id),
            RoleGrant(user_id=both.id, role="chairman", organization_id=duplicate.id),
            RoleGrant(user_id=both.id, role="chairman", organization_id=twin.id),
            RosterEntry(organization_id=duplicate.id, label="网格员名册"),
            RosterEntry(organization_id=twin.id, label="原名册"),
            RosterLog(organization_id=duplicate.id, event="建立网格员名册"),
        ])

    merged = admin.post(f"/api/v1/organizations/{duplicate.id}/merge", json={"into_id": twin.id},
                        headers={"If-Match": _etag(admin, duplicate.id)})

    assert merged.status_code == 200
    assert merged.json["status"] == "merged" and merged.json["merged_into_id"] == twin.id
    with db() as session, tenancy.tenant_scope(yichang.tenant):
        assert session.get(Organization, duplicate.id) is not None, "the duplicate is kept, never deleted"
        grants = session.execute(sa.select(RoleGrant.user_id, RoleGrant.organization_id)
                                 .where(RoleGrant.user_id.in_([chairman.id, both.id]))).all()
        roster = session.scalars(sa.select(RosterEntry.organization_id)).all()
        history = session.scalars(sa.select(RosterLog.organization_id)).all()
        record = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "organization.merge")).one()
    assert sorted(grants) == sorted([(chairman.id, twin.id), (both.id, twin.id)]), "the grant held twice is kept once"
    assert roster == [twin.id, twin.id]
    assert history == [duplicate.id], "a ledger marked append-only keeps what happened where it happened"
    assert record.after["repointed"] == {"role_grant.organization_id": 1, "rostertest_entry.organization_id": 1}
    assert record.before["status"] == "active" and record.after["status"] == "merged"
    assert admin.get(f"/api/v1/organizations/{duplicate.id}/merge").status_code == 405


def test_merging_a_duplicate_federation_moves_its_unions_under_the_twin(yichang, staff):
    admin = staff("tenant_admin")
    county, twin = yichang.read("夷陵区总工会"), yichang.read("小溪塔街道总工会")
    duplicate = yichang.run(organizations.create, name="小溪塔街道工会", kind="street_federation", parent=county)
    late = yichang.run(organizations.create, name="宜昌示例食品有限公司工会委员会", kind="grassroots_union",
                       parent=duplicate)

    merged = admin.post(f"/api/v1/organizations/{duplicate.id}/merge", json={"into_id": twin.id},
                        headers={"If-Match": _etag(admin, duplicate.id)})

    assert merged.status_code == 200
    moved = yichang.read("宜昌示例食品有限公司工会委员会")
    assert (moved.parent_id, moved.path, moved.depth) == (twin.id, f"{twin.path}{late.id}/", twin.depth + 1)
    assert "宜昌示例食品有限公司工会委员会" in _names(admin.get(f"/api/v1/organizations/{twin.id}/subtree"))


def test_a_union_merges_only_into_an_active_twin_of_its_kind_outside_its_own_subtree(yichang, staff):
    admin = staff("tenant_admin")
    county = yichang.id("夷陵区总工会")

    def merge(duplicate: int, into: int):
        return admin.post(f"/api/v1/organizations/{duplicate}/merge", json={"into_id": into},
                          headers={"If-Match": _etag(admin, duplicate)})

    assert merge(county, county).json["errors"] == {"into_id": ["the same organization"]}
    assert "into_id" in merge(yichang.id("小溪塔街道总工会"), yichang.id("宜昌示例物流有限公司工会委员会")).json["errors"]
    under = merge(county, yichang.id("夷陵区职工服务中心工会委员会"))
    assert under.status_code == 422 and under.json["errors"] == {"into_id": ["the twin cannot be under the duplicate"]}
    missing = admin.post(f"/api/v1/organizations/{county}/merge", json={}, headers={"If-Match": _etag(admin, county)})
    assert missing.status_code == 422 and "into_id" in missing.json["errors"]


def test_an_outsider_sending_a_bad_body_learns_nothing_about_a_union(yichang, staff):
    xiling = staff("federation_admin", at="西陵区总工会")
    union = yichang.id("宜昌示例物流有限公司工会委员会")

    for path in (f"/api/v1/organizations/{union}/move", f"/api/v1/organizations/{union}/merge"):
        assert xiling.post(path, json={}, headers={"If-Match": "*"}).status_code == 404
        assert xiling.post(path.replace(str(union), "987654321"), json={}, headers={"If-Match": "*"}).status_code == 404


# --- the audit trail --------------------------------------------------------------------------------------------


def test_every_change_to_the_tree_is_audited_with_before_and_after(yichang, staff, db):
    admin = staff("tenant_admin")
    union = yichang.id("宜昌示例物流有限公司工会委员会")

    admin.patch(f"/api/v1/organizations/{union}", json={"name": "宜昌示例物流股份有限公司工会委员会"},
                headers={"If-Match": _etag(admin, union)})
    admin.post(f"/api/v1/organizations/{union}/move", json={"parent_id": yichang.id("龙泉镇总工会")},
               headers={"If-Match": _etag(admin, union)})

    with db() as session, tenancy.tenant_scope(yichang.tenant):
        records = session.scalars(
            sa.select(AuditRecord).where(AuditRecord.object_type == "organization", AuditRecord.object_id == str(union))
            .order_by(AuditRecord.seq)
        ).all()
    assert [r.action for r in records] == ["organization.create", "organization.update", "organization.move"]
    assert records[1].before["name"] == "宜昌示例物流有限公司工会委员会"
    assert records[1].after["name"] == "宜昌示例物流股份有限公司工会委员会"
    assert records[2].after["parent_id"] == yichang.id("龙泉镇总工会") and records[2].actor_id is not None
