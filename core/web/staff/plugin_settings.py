"""Plugin settings (插件设置) for tenant admins: the plugins this deployment offers, which ones the tenant turned
on, turning them on and off, and each one's settings, edited through the plugin's own marshmallow schema.

Every change goes through ``core.plugins.Plugins`` (``enable``, ``configure``, ``disable``), the one service the
API calls too, so the checks (restricted plugins, requirements, the schema) and the audit record are the same.
A refusal renders the plugin's page again with status 422 or 409, so nothing is half-applied, and the schema's
errors name the setting. A secret is never a value here: the form asks for the name of the environment
variable (``{"$env": "NAME"}``, ``core.secrets``), and that name is all the page ever shows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from marshmallow import fields, missing
from sqlalchemy import select

from core.app import db_session, runtime
from core.auth import require
from core.errors import DomainError, InvalidInput
from core.models.tenant import TenantPlugin
from core.plugins import LoadedPlugin
from core.secrets import SecretRef
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page
from core.web.staff.common import Refusal, refused, stale

PERMISSION = "plugins.manage"
TEMPLATE = "core/staff/plugin_settings.html"
#: A setting's form field is named ``setting-<name>``, apart from the form's own fields (csrf_token, version).
PREFIX = "setting-"


@dataclass(frozen=True)
class Setting:
    """One field of a plugin's settings schema, as the form shows it."""

    name: str
    kind: str  # "text", "number", "checkbox", "secret" or "json"
    required: bool
    description: str
    default: object = None
    #: What the form calls the field: the schema field's ``metadata["label"]`` (in Chinese), else its name.
    label: str = ""

    @property
    def field(self) -> str:
        return PREFIX + self.name


@dataclass(frozen=True)
class PluginView:
    name: str
    label: str
    version: str
    kind: str
    requires: tuple[str, ...]
    restricted: bool
    enabled: bool
    settings: dict
    schema: tuple[Setting, ...]
    version_stamp: int | None


def _kind(field: fields.Field) -> str:
    if isinstance(field, SecretRef):
        return "secret"
    if isinstance(field, fields.Boolean):
        return "checkbox"
    if isinstance(field, (fields.Integer, fields.Float, fields.Decimal)):
        return "number"
    if isinstance(field, (fields.String, fields.Date, fields.DateTime)):
        return "text"
    return "json"


def schema_of(plugin: LoadedPlugin) -> tuple[Setting, ...]:
    schema = plugin.meta.settings_schema
    if schema is None:
        return ()
    return tuple(
        Setting(name, _kind(field), field.required, field.metadata.get("description", ""),
                None if field.load_default is missing or callable(field.load_default) else field.load_default,
                field.metadata.get("label") or name)
        for name, field in schema().fields.items()
    )


def plugin_views(session) -> list[PluginView]:
    """Every plugin of the deployment and this tenant's state of it: one query."""
    rows = {row.plugin: row for row in session.scalars(select(TenantPlugin).where(TenantPlugin.tenant_id == g.tenant.id))}
    views = []
    for name, plugin in sorted(runtime().plugins.loaded.items()):
        row = rows.get(name)
        meta = plugin.meta
        views.append(PluginView(name, meta.label, meta.version, meta.kind, tuple(meta.requires), meta.restricted,
                                bool(row and row.enabled), dict(row.settings) if row else {}, schema_of(plugin),
                                row.version if row else None))
    return views


def _view(session, name: str) -> PluginView:
    runtime().plugins.get(name)  # NotFound for a plugin the deployment does not have
    return next(view for view in plugin_views(session) if view.name == name)


def shown(setting: Setting, value) -> str:
    """A stored value as its form field shows it: a secret as the name of its variable, never anything else."""
    if value is None:
        return ""
    if setting.kind == "secret":
        return value.get("$env", "") if isinstance(value, dict) else ""
    if setting.kind == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def form_values(view: PluginView) -> dict[str, str]:
    """What the form holds before anything is typed: the stored settings, or the defaults."""
    values = {}
    for setting in view.schema:
        value = view.settings.get(setting.name, setting.default)
        values[setting.field] = ("on" if value else "") if setting.kind == "checkbox" else shown(setting, value)
    return values


def submitted(view: PluginView) -> dict:
    """The settings the form sent, for the schema to judge: an empty field is left out (its default applies, or
    the schema says it is required); a secret becomes a reference to the variable named."""
    settings: dict = {}
    errors: dict[str, list[str]] = {}
    for setting in view.schema:
        raw = request.form.get(setting.field, "").strip()
        if setting.kind == "checkbox":  # an unticked box sends nothing
            settings[setting.name] = raw == "on"
        elif not raw:
            continue
        elif setting.kind == "secret":
            settings[setting.name] = {"$env": raw.removeprefix("$")}
        elif setting.kind == "json":
            try:
                settings[setting.name] = json.loads(raw)
            except ValueError:
                errors[f"settings.{setting.name}"] = [_("Not valid JSON.")]
        else:
            settings[setting.name] = raw
    if errors:
        raise InvalidInput("the settings are not valid", errors=errors)
    return settings


def _refusal(error: DomainError) -> Refusal:
    """The service's refusal in the form's names: ``settings.<name>`` is the field ``setting-<name>``."""
    refusal = Refusal.of(error)
    refusal.fields = {PREFIX + key.removeprefix("settings."): message for key, message in refusal.fields.items()}
    return refusal


def _refused(session, name: str, error: DomainError):
    session.rollback()
    return refused(TEMPLATE, _refusal(error), plugin=_view(session, name), views=None)


@core_pages.get("/settings/plugins")
@signed_in_page
@require(PERMISSION)
def plugin_list():
    return render_page(TEMPLATE, views=plugin_views(db_session()), plugin=None)


@core_pages.get("/settings/plugins/<name>")
@signed_in_page
@require(PERMISSION)
def plugin_detail(name: str):
    view = _view(db_session(), name)
    return render_page(TEMPLATE, plugin=view, views=None, form=form_values(view))


@core_pages.post("/settings/plugins/<name>")
@signed_in_page
@require(PERMISSION)
def plugin_save(name: str):
    """Save the settings; a plugin that is off is turned on with them."""
    session = db_session()
    view = _view(session, name)
    plugins = runtime().plugins
    try:
        settings = submitted(view)
        if view.enabled:
            if request.form.get("version", "") != str(view.version_stamp):  # the pages' If-Match
                return refused(TEMPLATE, stale(), plugin=view, views=None)
            plugins.configure(session, g.tenant, name, settings, actor=g.user)
            flash(_("The settings of %(label)s are saved.", label=view.label))
        else:
            plugins.enable(session, g.tenant, name, settings, actor=g.user)
            flash(_("%(label)s is on.", label=view.label))
    except DomainError as error:
        return _refused(session, name, error)
    return redirect(url_for("core_pages.plugin_detail", name=name), code=303)


def _switch(name: str, turn, said):
    """Turn ``name`` on or off through the service (``turn(session, tenant, name)``), say so (``said(label)``),
    and go back to the list."""
    session = db_session()
    view = _view(session, name)
    try:
        turn(session, g.tenant, name)
    except DomainError as error:
        return _refused(session, name, error)
    flash(said(view.label))
    return redirect(url_for("core_pages.plugin_list"), code=303)


@core_pages.post("/settings/plugins/<name>/enable")
@signed_in_page
@require(PERMISSION)
def plugin_enable(name: str):
    """Turn a plugin on with the settings it had when it was last on (or its defaults)."""
    plugins = runtime().plugins
    return _switch(name, lambda session, tenant, name: plugins.enable(session, tenant, name, None, actor=g.user),
                   lambda label: _("%(label)s is on.", label=label))


@core_pages.post("/settings/plugins/<name>/disable")
@signed_in_page
@require(PERMISSION)
def plugin_disable(name: str):
    """Turn a plugin off; its settings are kept for when it is turned on again."""
    plugins = runtime().plugins
    return _switch(name, lambda session, tenant, name: plugins.disable(session, tenant, name, actor=g.user),
                   lambda label: _("%(label)s is off. Its settings are kept.", label=label))

