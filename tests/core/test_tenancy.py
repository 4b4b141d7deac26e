"""Every request belongs to exactly one tenant, and a tenant never sees another tenant's rows."""
import pytest
import sqlalchemy as sa

from core import tenancy
from core.models.tenant import TenantPlugin
from tests.testplugin.plugin import Note


def test_a_tenant_is_reached_by_its_path_prefix_or_by_its_own_domain(make_tenant, app):
    make_tenant("yichang", name="宜昌市总工会", domains=["gh.yichang.example"])
    client = app.test_client()

    assert client.get("/t/yichang/api/v1/tenant").json["name"] == "宜昌市总工会"
    assert client.get("/api/v1/tenant", headers={"Host": "gh.yichang.example"}).json["name"] == "宜昌市总工会"
    assert client.get("/api/v1/tenant", headers={"Host": "GH.Yichang.example:8443"}).json["slug"] == "yichang"


def test_an_unknown_or_disabled_tenant_answers_404(make_tenant, app, db):
    tenant = make_tenant("yichang", domains=["gh.yichang.example"])
    client = app.test_client()
    assert client.get("/t/nowhere/api/v1/tenant").status_code == 404
    assert client.get("/api/v1/tenant", headers={"Host": "unknown.example"}).status_code == 404

    with db() as session, tenancy.platform_scope("test"):
        tenancy.update_tenant(session, session.merge(tenant), {"active": False})

    assert client.get("/t/yichang/api/v1/tenant").status_code == 404
    assert client.get("/api/v1/tenant", headers={"Host": "gh.yichang.example"}).status_code == 404


def test_tenant_addresses_need_a_tenant_and_platform_addresses_refuse_one(make_tenant, app):
    make_tenant("yichang")
    client = app.test_client()

    assert client.get("/api/v1/tenant").status_code == 404, "the platform host has no current tenant"
    assert client.get("/t/yichang/api/v1/tenants").status_code == 404, "tenant management is not on a tenant"
    assert client.get("/t/yichang/healthz").status_code == 200


def test_a_query_on_a_tenant_table_with_no_tenant_in_scope_raises(app, db):
    with db() as session:
        with pytest.raises(tenancy.NoTenantInScope):
            session.scalars(sa.select(TenantPlugin)).all()
        with pytest.raises(tenancy.NoTenantInScope):
            session.add(Note(text="orphan"))


def test_every_query_sees_only_the_tenant_in_scope(make_tenant, db):
    yichang = make_tenant("yichang")
    changzhou = make_tenant("changzhou")
    with db() as session:
        with tenancy.tenant_scope(yichang):
            session.add(Note(text="宜昌"))
        with tenancy.tenant_scope(changzhou):
            session.add(Note(text="常州"))

    with db() as session:
        with tenancy.tenant_scope(yichang):
            assert session.scalars(sa.select(Note.text)).all() == ["宜昌"]
            foreign = session.scalar(sa.select(Note.id).where(Note.text == "常州"))
            assert foreign is None
            session.execute(sa.update(Note).values(text="改"))
            session.execute(sa.delete(Note).where(Note.text == "常州"))
        with tenancy.tenant_scope(changzhou):
            assert session.scalars(sa.select(Note.text)).all() == ["常州"], "updates and deletes stay in scope"
        with tenancy.platform_scope("test: count every tenant"):
            assert session.scalar(sa.select(sa.func.count(Note.id))) == 2


def test_a_row_cannot_be_written_into_another_tenant(make_tenant, db):
    yichang = make_tenant("yichang")
    changzhou = make_tenant("changzhou")

    with pytest.raises(tenancy.CrossTenantWrite):
        with db() as session, tenancy.tenant_scope(yichang):
            session.add(Note(text="x", tenant_id=changzhou.id))
            session.flush()


def test_the_platform_home_lists_the_active_tenants_and_a_tenant_home_shows_its_own_name(make_tenant, app):
    make_tenant("yichang", name="宜昌市总工会")
    make_tenant("changzhou", name="常州市总工会")
    client = app.test_client()

    platform = client.get("/").text
    assert "宜昌市总工会" in platform and "常州市总工会" in platform
    assert "/t/yichang/" in platform
    own = client.get("/t/changzhou/").text
    assert "常州市总工会" in own and "宜昌市总工会" not in own
