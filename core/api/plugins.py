"""Plugins per tenant: list what the deployment has, enable, configure, disable.

A tenant admin manages their own tenant at ``/api/v1/plugins``; a platform admin manages any tenant at
``/api/v1/tenants/<slug>/plugins`` and is the only one who may enable a restricted plugin.
"""
from __future__ import annotations

from flask import g
from marshmallow import missing
from sqlalchemy import select

from core import tenancy
from core.api.base import ApiBlueprint
from core.api.etag import require_if_match, set_etag
from core.api.schemas import PluginSchema, PluginSettingsSchema
from core.app import db_session, runtime
from core.auth import require, require_platform_admin
from core.models.tenant import Tenant, TenantPlugin

blp = ApiBlueprint("plugins", __name__, description="Plugins of the current tenant")
platform_blp = ApiBlueprint("platform_plugins", __name__, description="Plugins of any tenant (platform admins)")


def _describe_schema(schema_class) -> dict:
    if schema_class is None:
        return {}
    described = {}
    for name, field in schema_class().fields.items():
        described[name] = {
            "type": type(field).__name__,
            "required": field.required,
            "description": field.metadata.get("description", ""),
        }
        if field.load_default is not missing and not callable(field.load_default):
            described[name]["default"] = field.load_default
    return described


def describe(tenant: Tenant) -> list[dict]:
    session = db_session()
    plugins = runtime().plugins
    rows = {r.plugin: r for r in session.scalars(select(TenantPlugin).where(TenantPlugin.tenant_id == tenant.id))}
    described = []
    for meta in sorted(plugins.metas(), key=lambda m: m.name):
        row = rows.get(meta.name)
        described.append(
            {
                "name": meta.name,
                "label": meta.label,
                "version": meta.version,
                "kind": meta.kind,
                "requires": list(meta.requires),
                "restricted": meta.restricted,
                "enabled": bool(row and row.enabled),
                "settings": row.settings if row else {},
                "settings_schema": _describe_schema(meta.settings_schema),
            }
        )
    return described


def _one(tenant: Tenant, name: str) -> dict:
    runtime().plugins.get(name)
    return next(p for p in describe(tenant) if p["name"] == name)


def _enable(tenant: Tenant, name: str, data: dict) -> dict:
    row = runtime().plugins.enable(db_session(), tenant, name, data["settings"], actor=g.user)
    set_etag(row)
    return _one(tenant, name)


def _configure(tenant: Tenant, name: str, data: dict) -> dict:
    row = db_session().scalar(
        select(TenantPlugin).where(TenantPlugin.tenant_id == tenant.id, TenantPlugin.plugin == name)
    )
    if row is not None:
        require_if_match(row)
    row = runtime().plugins.configure(db_session(), tenant, name, data["settings"] or {}, actor=g.user)
    set_etag(row)
    return _one(tenant, name)


def _disable(tenant: Tenant, name: str) -> dict:
    runtime().plugins.disable(db_session(), tenant, name, actor=g.user)
    return _one(tenant, name)


@blp.route("")
@blp.response(200, PluginSchema(many=True))
@require("plugins.manage")
def list_plugins():
    """Every plugin of the deployment, with whether this tenant enabled it and its settings"""
    return describe(g.tenant)


@blp.route("/<name>/enable", methods=["POST"])
@blp.arguments(PluginSettingsSchema)
@blp.response(200, PluginSchema)
@require("plugins.manage")
def enable(data, name):
    """Enable a plugin for this tenant with its settings"""
    return _enable(g.tenant, name, data)


@blp.route("/<name>/settings", methods=["PUT"])
@blp.arguments(PluginSettingsSchema)
@blp.response(200, PluginSchema)
@require("plugins.manage")
def configure(data, name):
    """Replace an enabled plugin's settings; needs If-Match"""
    return _configure(g.tenant, name, data)


@blp.route("/<name>/disable", methods=["POST"])
@blp.response(200, PluginSchema)
@require("plugins.manage")
def disable(name):
    """Disable a plugin for this tenant (its settings are kept)"""
    return _disable(g.tenant, name)


def _for_tenant(slug: str, action, *args):
    """Run ``action(tenant, *args)`` inside the scope of the tenant a platform admin named."""
    tenant = tenancy.tenant_by_slug_any(db_session(), slug)
    with tenancy.tenant_scope(tenant):
        return action(tenant, *args)


@platform_blp.route("/<slug>/plugins")
@platform_blp.response(200, PluginSchema(many=True))
@require_platform_admin
def platform_list(slug):
    """Every plugin of the deployment and its state in one tenant"""
    return _for_tenant(slug, describe)


@platform_blp.route("/<slug>/plugins/<name>/enable", methods=["POST"])
@platform_blp.arguments(PluginSettingsSchema)
@platform_blp.response(200, PluginSchema)
@require_platform_admin
def platform_enable(data, slug, name):
    """Enable a plugin (restricted ones included) for a tenant"""
    return _for_tenant(slug, _enable, name, data)


@platform_blp.route("/<slug>/plugins/<name>/settings", methods=["PUT"])
@platform_blp.arguments(PluginSettingsSchema)
@platform_blp.response(200, PluginSchema)
@require_platform_admin
def platform_configure(data, slug, name):
    """Replace a tenant's settings of a plugin; needs If-Match"""
    return _for_tenant(slug, _configure, name, data)


@platform_blp.route("/<slug>/plugins/<name>/disable", methods=["POST"])
@platform_blp.response(200, PluginSchema)
@require_platform_admin
def platform_disable(slug, name):
    """Disable a plugin for a tenant"""
    return _for_tenant(slug, _disable, name)
