"""Pages: one Jinja environment per tenant view, branding, navigation, error pages.

A tenant's templates come from, in order: the enabled plugins (city plugins first), then core. A name with
the ``core:`` prefix always means core's own template, so a plugin's override can extend the original. A
disabled plugin's templates are simply not in the tenant's loader.
"""
from __future__ import annotations

import threading
from pathlib import Path

from flask import Blueprint, Flask, current_app, g, render_template_string
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from core.contributions import MenuItem

CORE_TEMPLATES = Path(__file__).parent / "templates"
core_pages = Blueprint("core_pages", __name__)
_lock = threading.Lock()


def init_app(app: Flask, state) -> None:
    app.extensions["gonghui_envs"] = {}
    base = app.jinja_env
    base.autoescape = select_autoescape(default=True)
    for _owner, item in state.plugins.contributions("jinja_filters"):
        base.filters[item.name] = item.function
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


def menu(area: str = "staff") -> list[MenuItem]:
    """Navigation of the current tenant for the current user, from every enabled plugin."""
    from core.app import db_session, runtime
    from core.auth import has_permission

    tenant = g.get("tenant")
    if tenant is None:
        return []
    user = g.get("user")
    hooks = runtime().plugins.tenant_hooks(db_session(), tenant)
    items = [item for batch in hooks.menu_items(tenant=tenant, user=user) for item in batch or ()]
    visible = [i for i in items if i.area == area and (i.permission is None or has_permission(user, i.permission))]
    return sorted(visible, key=lambda i: (i.order, i.label))


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
