"""The Flask application: one process serves every tenant.

A request goes through, in order: the ``/t/<slug>/`` prefix middleware, the request id, one database session
(the request's unit of work), tenant resolution (prefix or host; unknown or disabled is 404), the caller, and
the plugin gate (a route of a plugin the tenant has not enabled is 404). The session commits once after a
successful response and rolls back otherwise.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import ModuleType

import swagger_ui_bundle
from flask import Flask, Response, current_app, g, request, send_from_directory
from sqlalchemy.exc import IntegrityError
from werkzeug.middleware.proxy_fix import ProxyFix
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core import crypto, jobs, request_context, settings as settings_module, tenancy, web
from core.api.base import Api, domain_error_response, error_body, wants_json
from core.auth import CORE_PERMISSIONS, PermissionTable, authenticate
from core.db import Database
from core.errors import Conflict, DomainError, NotFound, PreconditionFailed
from core.models.tenant import Tenant
from core.plugins import Plugins, discover
from core.settings import Settings
from core.version import CORE_VERSION

log = logging.getLogger(__name__)

#: Blueprints served only on a platform host (no tenant).
PLATFORM_ONLY = {"platform", "platform_plugins"}
#: Blueprints served with or without a tenant.
ANYWHERE = {"api-docs", "health", "swagger_assets", "static", "core_static", "home", "auth_pages", "tokens", "me"}


@dataclass
class Runtime:
    """What one application holds beside Flask: settings, database, plugins, and who owns which blueprint."""

    settings: Settings
    db: Database
    plugins: Plugins
    permissions: PermissionTable
    blueprint_owner: dict[str, str] = field(default_factory=dict)


def runtime() -> Runtime:
    return current_app.extensions["gonghui"]


def db_session() -> Session:
    """The session of the current request."""
    return g.db_session


def unit_of_work():
    """A transaction of its own, beside the request's or job's: for records that must stand whatever the caller
    does next (a gateway's own log of what it accepted)."""
    return runtime().db.unit_of_work()


def plugin_settings(session: Session, tenant: Tenant, name: str) -> dict:
    """The settings ``tenant`` keeps for plugin ``name``, as its schema validated them ({} when not enabled)."""
    return runtime().plugins.settings_of(session, tenant, name)


def create_app(settings: Settings | None = None, plugins: list[ModuleType] | None = None) -> Flask:
    """Build the application. ``plugins`` (modules) replaces entry-point discovery; tests use it."""
    settings = settings or settings_module.load()
    request_context.configure_logging(settings.log_level)
    crypto.configure(crypto.Keyring.parse(settings.data_keys, settings.blind_index_key))
    loaded = Plugins(plugins if plugins is not None else discover(settings.plugins))

    app = Flask("gonghui", static_folder=None, template_folder=None)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        JSON_AS_ASCII=False,
        API_TITLE="Gonghui",
        API_VERSION=CORE_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="docs-assets/",
    )
    app.json.ensure_ascii = False
    app.wsgi_app = tenancy.TenantPathPrefix(app.wsgi_app)
    if settings.proxy_hops:
        # Only the hops we run: X-Forwarded-For beyond them is the client's own word. The Host header is not
        # taken from X-Forwarded-Host (it picks the tenant); the proxy passes Host through.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops, x_host=0)

    permissions = PermissionTable.build(list(CORE_PERMISSIONS) + [p for _, p in loaded.contributions("permissions")])
    state = Runtime(settings, Database(settings.database_url, pool_size=settings.database_pool_size), loaded, permissions)
    app.extensions["gonghui"] = state

    api = Api(app, spec_kwargs={"info": {"description": "Gonghui REST API. See docs/api.md."}})
    app.extensions["gonghui_api"] = api
    _register_core_routes(app, api)
    _register_plugin_routes(app, api, state)
    web.init_app(app, state)
    jobs.init_app(app, state)
    _register_request_cycle(app, state)
    return app


def _register_core_routes(app: Flask, api: Api) -> None:
    from core.api import audit as audit_api
    from core.api import imports as imports_api
    from core.api import me as me_api
    from core.api import organizations as organizations_api
    from core.api import people as people_api
    from core.api import quality as quality_api
    from core.api import plugins as plugins_api
    from core.api import regions as regions_api
    from core.api import tenants as tenants_api
    from core.api import tokens as tokens_api
    from core.api import units as units_api
    from core.api import users as users_api
    from core.web import auth_pages

    api.register_blueprint(tenants_api.platform_blp, url_prefix="/api/v1/tenants")
    api.register_blueprint(tenants_api.tenant_blp, url_prefix="/api/v1/tenant")
    api.register_blueprint(plugins_api.blp, url_prefix="/api/v1/plugins")
    api.register_blueprint(plugins_api.platform_blp, url_prefix="/api/v1/tenants")
    api.register_blueprint(regions_api.blp, url_prefix="/api/v1/regions")
    api.register_blueprint(organizations_api.blp, url_prefix="/api/v1/organizations")
    api.register_blueprint(people_api.blp, url_prefix="/api/v1/people")
    api.register_blueprint(audit_api.blp, url_prefix="/api/v1/audit")
    api.register_blueprint(users_api.blp, url_prefix="/api/v1/users")
    api.register_blueprint(tokens_api.blp, url_prefix="/api/v1/tokens")
    api.register_blueprint(units_api.blp, url_prefix="/api/v1/units")
    api.register_blueprint(imports_api.blp, url_prefix="/api/v1/imports")
    api.register_blueprint(imports_api.exports_blp, url_prefix="/api/v1/exports")
    api.register_blueprint(me_api.blp, url_prefix="/api/v1/me")
    api.register_blueprint(quality_api.blp, url_prefix="/api/v1/quality")
    app.register_blueprint(auth_pages.blp)

    @app.get("/api/docs-assets/<path:name>", endpoint="swagger_assets")
    def swagger_assets(name: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, name)

    @app.get("/healthz", endpoint="health")
    def health():
        return {"status": "ok", "version": CORE_VERSION}


def _register_plugin_routes(app: Flask, api: Api, state: Runtime) -> None:
    for owner, blueprint in state.plugins.contributions("api_blueprints"):
        prefix = f"/api/v1/{owner}{blueprint.url_prefix or ''}"
        api.register_blueprint(blueprint, url_prefix=prefix)
        state.blueprint_owner[blueprint.name] = owner
    for owner, blueprint in state.plugins.contributions("page_blueprints"):
        app.register_blueprint(blueprint, url_prefix=f"/{owner}{blueprint.url_prefix or ''}")
        state.blueprint_owner[blueprint.name] = owner


def _resolve_tenant(session: Session, state: Runtime) -> Tenant | None:
    slug = request.environ.get("gonghui.tenant_slug")
    if slug:
        return tenancy.tenant_by_slug(session, slug)
    tenant = tenancy.tenant_by_host(session, request.host)
    if tenant is None and request.host.split(":", 1)[0].lower() not in state.settings.platform_hosts:
        raise NotFound(f"no tenant answers on {request.host}")
    return tenant


def _gate(state: Runtime, session: Session, tenant: Tenant | None) -> None:
    """404 for a route this request may not reach: wrong side (platform/tenant) or a plugin not enabled."""
    if request.url_rule is None:
        return  # Flask answers 404/405 itself
    blueprint = (request.blueprint or request.endpoint or "").split(".", 1)[0]
    if blueprint in ANYWHERE:
        return
    if tenant is None:
        if blueprint not in PLATFORM_ONLY:
            raise NotFound("this address needs a tenant: use its domain or /t/<tenant>/")
        return
    if blueprint in PLATFORM_ONLY:
        raise NotFound("not found")
    owner = state.blueprint_owner.get(blueprint)
    if owner is not None and owner not in state.plugins.enabled(session, tenant):
        raise NotFound("not found")


def _register_request_cycle(app: Flask, state: Runtime) -> None:
    @app.before_request
    def open_request():
        g.request_id = request_context.new_request_id(request.headers.get("X-Request-Id"))
        g.request_token = request_context.enter(request_context.RequestInfo(g.request_id, request.remote_addr or ""))
        g.db_session = state.db.sessionmaker()
        with tenancy.platform_scope("resolve the tenant of a request"):
            tenant = _resolve_tenant(g.db_session, state)
        g.tenant = tenant
        g.scope = tenancy.tenant_scope(tenant) if tenant is not None else tenancy.platform_scope("platform request")
        g.scope.__enter__()
        _gate(state, g.db_session, tenant)
        authenticate(g.db_session, tenant.id if tenant is not None else None)

    @app.after_request
    def finish_request(response: Response) -> Response:
        session = g.get("db_session")
        if session is not None:
            if response.status_code < 400:
                try:
                    session.commit()
                except StaleDataError:
                    session.rollback()
                    response = domain_error_response(PreconditionFailed("someone changed this at the same time"))
                except IntegrityError as exc:
                    session.rollback()
                    log.info("integrity error on commit: %s", exc.orig.__class__.__name__)
                    response = domain_error_response(Conflict("this conflicts with data that already exists"))
            else:
                session.rollback()
        if g.get("etag") and response.status_code < 300:
            response.headers["ETag"] = g.etag
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.teardown_request
    def close_request(_exc):
        scope = g.pop("scope", None)
        if scope is not None:
            scope.__exit__(None, None, None)
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
        token = g.pop("request_token", None)
        if token is not None:
            request_context.leave(token)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if wants_json():
            return domain_error_response(error)
        return web.error_page(error.status, error.message)

    @app.errorhandler(500)
    def server_error(error):
        log.exception("unhandled error")
        if wants_json():
            response = app.json.response(error_body(500, "an internal error; the request id names it in the log"))
            response.status_code = 500
            return response
        return web.error_page(500, "服务器内部错误")

