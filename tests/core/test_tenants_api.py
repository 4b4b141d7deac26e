"""Platform admins create, list, update and disable tenants through the API; every step is audited."""
import sqlalchemy as sa

from core import tenancy
from core.models.audit import AuditRecord


def _create(platform_api, slug, name, **extra):
    return platform_api.post("/api/v1/tenants", json={"slug": slug, "name": name, **extra})


def test_a_platform_admin_creates_a_tenant_with_domains_and_branding(platform_api, app):
    response = _create(
        platform_api,
        "yichang",
        "宜昌市总工会",
        domains=["gh.yichang.example"],
        branding={"primary_color": "#c8102e", "contact_name": "王主任", "contact_phone": "0717-1234567"},
    )

    assert response.status_code == 201
    assert response.json["domains"] == ["gh.yichang.example"]
    assert response.headers["ETag"]
    branded = app.test_client().get("/api/v1/tenant", headers={"Host": "gh.yichang.example"}).json
    assert branded["branding"]["contact_name"] == "王主任"


def test_bad_tenant_input_is_refused_with_the_field_named(platform_api):
    response = _create(platform_api, "Yi Chang", "宜", branding={"primary_color": "red"}, domains=["not a host"])

    assert response.status_code == 422
    assert response.json["code"] == "invalid"
    assert set(response.json["errors"]) == {"slug", "name", "branding.primary_color", "domains"}


def test_a_taken_slug_or_domain_is_a_conflict(platform_api):
    _create(platform_api, "yichang", "宜昌市总工会", domains=["gh.yichang.example"])

    assert _create(platform_api, "yichang", "另一个").json["errors"] == {"slug": ["taken"]}
    taken = _create(platform_api, "changzhou", "常州市总工会", domains=["gh.yichang.example"])
    assert taken.status_code == 409 and taken.json["errors"] == {"domains": ["gh.yichang.example"]}


def test_the_tenant_list_is_paginated_with_totals_and_filtered(platform_api):
    for index in range(5):
        _create(platform_api, f"city{index}", f"第{index}市总工会")

    page = platform_api.get("/api/v1/tenants?page=2&page_size=2")
    assert [t["slug"] for t in page.json] == ["city2", "city3"]
    assert '"total": 5' in page.headers["X-Pagination"]
    assert [t["slug"] for t in platform_api.get("/api/v1/tenants?q=city4").json] == ["city4"]
    assert platform_api.get("/api/v1/tenants?page_size=100000").status_code == 422


def test_an_update_needs_the_etag_it_read_and_a_stale_one_is_refused(platform_api):
    etag = _create(platform_api, "yichang", "宜昌市总工会").headers["ETag"]

    missing = platform_api.patch("/api/v1/tenants/yichang", json={"name": "宜昌市总工会（新）"})
    assert missing.status_code == 428 and missing.json["errors"] == {"If-Match": ["missing"]}
    first = platform_api.patch("/api/v1/tenants/yichang", json={"name": "宜昌市总工会（新）"}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] != etag
    second = platform_api.patch("/api/v1/tenants/yichang", json={"name": "又改"}, headers={"If-Match": etag})
    assert second.status_code == 412
    assert platform_api.get("/api/v1/tenants/yichang").json["name"] == "宜昌市总工会（新）"


def test_a_disabled_tenant_answers_404_on_its_addresses_and_can_be_enabled_again(platform_api, app):
    etag = _create(platform_api, "yichang", "宜昌市总工会").headers["ETag"]
    client = app.test_client()

    etag = platform_api.patch("/api/v1/tenants/yichang", json={"active": False}, headers={"If-Match": etag}).headers["ETag"]
    assert client.get("/t/yichang/api/v1/tenant").status_code == 404
    platform_api.patch("/api/v1/tenants/yichang", json={"active": True}, headers={"If-Match": etag})
    assert client.get("/t/yichang/api/v1/tenant").status_code == 200


def test_tenant_changes_leave_audit_records_with_who_and_the_request_id(platform_api, db):
    response = _create(platform_api, "yichang", "宜昌市总工会")

    with db() as session, tenancy.platform_scope("test: read the audit trail"):
        records = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "tenant.create")).all()
    assert len(records) == 1
    assert records[0].request_id == response.headers["X-Request-Id"]
    assert records[0].after["slug"] == "yichang"


def test_only_a_platform_admin_manages_tenants(api, make_tenant, make_user):
    tenant = make_tenant("yichang")
    _user, token = make_user(tenant, roles=["tenant_admin"])

    assert api(None).get("/api/v1/tenants").status_code == 401
    assert api(None, token).get("/api/v1/tenants").status_code == 401, "a tenant token is unknown on the platform"
    assert api(None, "gh_forged").get("/api/v1/tenants").json["code"] == "unauthorized"


def test_a_tenant_admin_brands_their_own_tenant(api, make_tenant, make_user):
    tenant = make_tenant("yichang")
    _user, token = make_user(tenant, roles=["tenant_admin"])
    _member, member_token = make_user(tenant, roles=["member"])
    client = api(tenant, token)
    etag = client.get("/api/v1/tenant").headers["ETag"]

    assert api(tenant, member_token).patch("/api/v1/tenant", json={}, headers={"If-Match": etag}).status_code == 403
    response = client.patch("/api/v1/tenant", json={"branding": {"footer": "宜昌市总工会 版权所有"}}, headers={"If-Match": etag})
    assert response.status_code == 200
    assert response.json["branding"]["footer"] == "宜昌市总工会 版权所有"
    assert "版权所有" in api(tenant).get("/").text


def test_every_response_carries_a_request_id_and_keeps_a_well_formed_one_it_was_given(app):
    client = app.test_client()

    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32
    assert client.get("/healthz", headers={"X-Request-Id": "proxy-abc-12345"}).headers["X-Request-Id"] == "proxy-abc-12345"
    assert client.get("/healthz", headers={"X-Request-Id": "bad id; drop"}).headers["X-Request-Id"] != "bad id; drop"


def test_lists_give_twenty_items_a_page_unless_asked_and_never_more_than_two_hundred(platform_api):
    for index in range(25):
        _create(platform_api, f"city{index:02d}", f"第{index}市总工会")

    assert len(platform_api.get("/api/v1/tenants").json) == 20
    assert len(platform_api.get("/api/v1/tenants?page_size=200").json) == 25
    assert platform_api.get("/api/v1/tenants?page_size=201").status_code == 422


def test_changing_only_the_domains_moves_the_etag(platform_api):
    etag = _create(platform_api, "yichang", "宜昌市总工会").headers["ETag"]

    changed = platform_api.patch("/api/v1/tenants/yichang", json={"domains": ["gh.yichang.example"]}, headers={"If-Match": etag})

    assert changed.headers["ETag"] != etag
    assert platform_api.patch("/api/v1/tenants/yichang", json={"domains": []}, headers={"If-Match": etag}).status_code == 412
