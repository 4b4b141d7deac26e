"""Tenants: platform admins create, list, update and disable them; a tenant reads and brands itself."""
from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask.views import MethodView

from core import tenancy
from core.api.base import ApiBlueprint
from core.api.etag import require_if_match, set_etag
from core.api.pagination import page_of
from core.api.schemas import TenantBrandingUpdateSchema, TenantQuerySchema, TenantSchema, TenantUpdateSchema
from core.app import db_session
from core.auth import require, require_platform_admin
from core.models.tenant import Tenant

platform_blp = ApiBlueprint("platform", __name__, description="Tenants (platform admins, on a platform host)")
tenant_blp = ApiBlueprint("tenant", __name__, description="The current tenant: name and branding")


def _dump(tenant: Tenant) -> dict:
    data = TenantSchema().dump(tenant)
    data["domains"] = [d.host for d in tenant.domains]
    return data


@platform_blp.route("")
class Tenants(MethodView):
    @platform_blp.arguments(TenantQuerySchema, location="query")
    @platform_blp.response(200, TenantSchema(many=True))
    @platform_blp.paginate()
    @require_platform_admin
    def get(self, query, pagination_parameters):
        """List tenants"""
        statement = sa.select(Tenant).order_by(Tenant.slug)
        if "q" in query:
            like = f"%{query['q']}%"
            statement = statement.where(sa.or_(Tenant.slug.like(like), Tenant.name.like(like)))
        if "active" in query:
            statement = statement.where(Tenant.active == query["active"])
        return [_dump(t) for t in page_of(db_session(), statement, pagination_parameters)]

    @platform_blp.arguments(TenantSchema)
    @platform_blp.response(201, TenantSchema)
    @require_platform_admin
    def post(self, data):
        """Create a tenant"""
        tenant = tenancy.create_tenant(db_session(), actor=g.user, **data)
        set_etag(tenant)
        return _dump(tenant)


def _platform_tenant(slug: str) -> Tenant:
    return tenancy.tenant_by_slug_any(db_session(), slug)


@platform_blp.route("/<slug>")
class TenantBySlug(MethodView):
    @platform_blp.response(200, TenantSchema)
    @require_platform_admin
    def get(self, slug):
        """Read a tenant"""
        tenant = _platform_tenant(slug)
        set_etag(tenant)
        return _dump(tenant)

    @platform_blp.arguments(TenantUpdateSchema)
    @platform_blp.response(200, TenantSchema)
    @require_platform_admin
    def patch(self, changes, slug):
        """Update or disable a tenant (``{"active": false}``); needs If-Match"""
        tenant = _platform_tenant(slug)
        require_if_match(tenant)
        tenancy.update_tenant(db_session(), tenant, changes, actor=g.user)
        set_etag(tenant)
        return _dump(tenant)


@tenant_blp.route("")
class CurrentTenant(MethodView):
    @tenant_blp.response(200, TenantSchema)
    def get(self):
        """The tenant this address belongs to, with its branding"""
        set_etag(g.tenant)
        return _dump(g.tenant)

    @tenant_blp.arguments(TenantBrandingUpdateSchema)
    @tenant_blp.response(200, TenantSchema)
    @require("tenant.manage")
    def patch(self, changes):
        """Change the tenant's name or branding; needs If-Match"""
        require_if_match(g.tenant)
        tenancy.update_tenant(db_session(), g.tenant, changes, actor=g.user)
        set_etag(g.tenant)
        return _dump(g.tenant)
