"""Pages: one Jinja environment per tenant view, branding, navigation, wording, error pages.

A tenant's templates come from, in order: the enabled plugins (city plugins first), then core. A name with
the ``core:`` prefix always means core's own template, so a plugin's override can extend the original. A
disabled plugin's templates are simply not in the tenant's loader. Every page extends ``core/base.html``, which
draws the tenant's branding (``core.web.branding``), the menus of core and the enabled plugins (``menu``) and
says everything through the message catalogues (``core.web.i18n``). See docs/architecture.md, "Pages".
"""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from flask import Blueprint, Flask, current_app, g, render_template_string
from flask_babel import gettext
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from core.contributions import MenuItem
from core.web import branding as branding_module
from core.web import i18n

CORE_TEMPLATES = Path(__file__).parent / "templates"
core_pages = Blueprint("core_pages", __name__)
_lock = threading.Lock()


def init_app(app: Flask, state) -> None:
    app.extensions["gonghui_envs"] = {}
    base = app.jinja_env
    base.autoescape = select_autoescape(default=True)
    for _owner, item in state.plugins.contributions("jinja_filters"):
        base.filters[item.name] = item.function
    i18n.init_app(app)
    base.globals.update(branding=_branding, page_area=page_area, html_lang=_html_lang, languages=lambda: i18n.LANGUAGES,
                        current_language=i18n.current_language)
    from core.web import import_pages, quality_pages, staff_pages, worker_pages  # noqa: F401  (routes on core_pages)

    app.register_blueprint(core_pages)
    app.register_blueprint(home_page)
    app.register_blueprint(
        Blueprint("core_static", __name__, static_folder="static", static_url_path="/static/core")
    )


def _loader_for(state, enabled: frozenset[str]) -> ChoiceLoader:
    core = FileSystemLoader(str(CORE_TEMPLATES))
    plugins = sorted(
        (p for name, p in state.plugins.loaded.items() if name in enabled and p.template_dir),
        key=lambda p: (p.meta.kind != "city", p.meta.name),
    )
    return ChoiceLoader(
        [PrefixLoader({"core": core}, delimiter=":")] + [FileSystemLoader(str(p.template_dir)) for p in plugins] + [core]
    )


def environment() -> Environment:
    """The template environment of the current tenant (or of the platform, with core templates only)."""
    from core.app import db_session, runtime

    state = runtime()
    tenant = g.get("tenant")
    enabled = state.plugins.enabled(db_session(), tenant) if tenant is not None else frozenset()
    key = (tenant.id, tenant.plugins_version) if tenant is not None else (None, 0)
    envs = current_app.extensions["gonghui_envs"]
    env = envs.get(key)
    if env is None:
        env = current_app.jinja_env.overlay(loader=_loader_for(state, enabled))
        with _lock:
            for stale in [k for k in envs if k[0] == key[0]]:
                del envs[stale]
            envs[key] = env
    return env


#: Core's own pages in the navigation, beside what the enabled plugins add through ``menu_items``. The labels
#: are message ids (the catalogue says them in the page's language).
CORE_MENU = (
    MenuItem(label="Dashboard", endpoint="core_pages.dashboard", area="staff", permission="organizations.read", order=0),
    MenuItem(label="Organizations", endpoint="core_pages.organization_tree", area="staff",
             permission="organizations.read", order=10),
    MenuItem(label="Units", endpoint="core_pages.unit_list", area="staff", permission="units.read", order=11),
    MenuItem(label="Find a person", endpoint="core_pages.person_lookup", area="staff", permission="people.read",
             order=12),
    MenuItem(label="Imports and exports", endpoint="core_pages.import_list", area="staff", permission="people.read",
             order=30),
    MenuItem(label="Data quality", endpoint="core_pages.quality_report", area="staff", permission="people.read",
             order=31),
    MenuItem(label="Audit trail", endpoint="core_pages.audit_trail", area="staff", permission="audit.read", order=80),
    MenuItem(label="Users and roles", endpoint="core_pages.user_list", area="staff", permission="users.read",
             order=81),
    MenuItem(label="My API tokens", endpoint="core_pages.own_tokens", area="staff", order=82),
    MenuItem(label="Plugins", endpoint="core_pages.plugin_list", area="staff", permission="plugins.manage",
             order=83),
    MenuItem(label="My membership", endpoint="core_pages.my_membership", area="worker", order=0),
)


def menu(area: str = "staff") -> list[MenuItem]:
    """Navigation of the current tenant for the current user, from core and every enabled plugin.

    A signed-in user sees the items of their ``area`` they hold the permission for; a visitor who has not signed
    in sees the items that need no permission, of either area, and none of core's (they need an account)."""
    from core.app import db_session, runtime
    from core.auth import has_permission

    tenant = g.get("tenant")
    if tenant is None:
        return []
    user = g.get("user")
    hooks = runtime().plugins.tenant_hooks(db_session(), tenant)
    items = [item for batch in hooks.menu_items(tenant=tenant, user=user) for item in batch or ()]
    if user is None:
        return sorted((i for i in items if i.permission is None), key=lambda i: (i.order, i.label))
    core = [replace(i, label=gettext(i.label)) for i in CORE_MENU]
    visible = [i for i in core + items if i.area == area and (i.permission is None or has_permission(user, i.permission))]
    return sorted(visible, key=lambda i: (i.order, i.label))


def page_area(user=None) -> str:
    """``staff`` (desktop first) for anyone holding a role above member, ``worker`` (mobile first) otherwise:
    members, and visitors who have not signed in, who may be either and are most often on a phone."""
    user = user if user is not None else g.get("user")
    if user is not None and (user.is_platform_admin or any(grant.role != "member" for grant in user.grants)):
        return "staff"
    return "worker"


def _branding():
    return branding_module.of(g.get("tenant"))


def _html_lang() -> str:
    return "zh-CN" if i18n.current_language() == "zh_CN" else "en"


def render_page(template: str, **context) -> str:
    """Render ``template`` with the tenant's loader, branding and menus."""
    env = environment()
    current_app.update_template_context(context)
    context.setdefault("tenant", g.get("tenant"))
    context.setdefault("user", g.get("user"))
    context.setdefault("menu", menu)
    return env.get_template(template).render(context)


def error_page(status: int, message: str):
    try:
        body = render_page("core/error.html", status=status, message=message)
    except Exception:  # the error page must not fail because of what failed before it
        body = render_template_string("<h1>{{ status }}</h1><p>{{ message }}</p>", status=status, message=message)
    return body, status


home_page = Blueprint("home", __name__)
home_page.add_url_rule("/language/<code>", view_func=i18n.switch_language)


@home_page.get("/")
def home():
    """A tenant's home page; on a platform host, the list of tenants this deployment serves."""
    if g.get("tenant") is None:
        from sqlalchemy import select

        from core.app import db_session
        from core.models.tenant import Tenant

        tenants = db_session().scalars(select(Tenant).where(Tenant.active).order_by(Tenant.slug)).all()
        return render_page("core/platform_home.html", tenants=tenants)
    return render_page("core/home.html")
