"""Which tenant a piece of work belongs to, and the one ORM listener that keeps it inside that tenant.

A request or a job enters ``tenant_scope(tenant)``; from then on every ORM SELECT, UPDATE and DELETE that
touches a ``TenantOwned`` table gets ``tenant_id = :current`` added, and every new row gets the tenant's id.
With no tenant in scope such a query raises ``NoTenantInScope``, unless the caller opened
``platform_scope(reason)`` on purpose (tenant management, the scheduler fanning out to tenants).
"""
from __future__ import annotations

import logging
import weakref
from contextlib import contextmanager
from functools import lru_cache
from contextvars import ContextVar
from typing import Iterator

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.util import find_tables

from core.db import Base, TenantOwned, utcnow
from core.errors import NotFound
from core.models.tenant import Tenant, TenantDomain

log = logging.getLogger(__name__)

_tenant: ContextVar[Tenant | None] = ContextVar("gonghui_tenant", default=None)
_platform: ContextVar[str | None] = ContextVar("gonghui_platform_scope", default=None)


class NoTenantInScope(RuntimeError):
    """A tenant-owned table was queried with no tenant in scope: a bug, never a user error."""


class CrossTenantWrite(RuntimeError):
    """A row of one tenant was added while another tenant is in scope."""


def current_tenant() -> Tenant | None:
    return _tenant.get()


def require_tenant() -> Tenant:
    tenant = _tenant.get()
    if tenant is None:
        raise NoTenantInScope("this needs a tenant in scope")
    return tenant


def in_platform_scope() -> bool:
    return _platform.get() is not None


@contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    token = _tenant.set(tenant)
    platform_token = _platform.set(None)
    try:
        yield tenant
    finally:
        _platform.reset(platform_token)
        _tenant.reset(token)


@contextmanager
def platform_scope(reason: str) -> Iterator[None]:
    """Work across tenants on purpose. The reason is logged (debug level); keep these blocks small."""
    log.debug("platform scope: %s", reason)
    token = _platform.set(reason)
    tenant_token = _tenant.set(None)
    try:
        yield
    finally:
        _tenant.reset(tenant_token)
        _platform.reset(token)


@lru_cache(maxsize=1)
def _tenant_tables(mapper_count: int) -> frozenset:
    return frozenset(m.local_table for m in Base.registry.mappers if issubclass(m.class_, TenantOwned))


def _touches_tenant_rows(state: ORMExecuteState) -> bool:
    if any(issubclass(mapper.class_, TenantOwned) for mapper in state.all_mappers):
        return True
    # all_mappers misses an entity reached only through select_from() or a subquery (the count of a paginated
    # list): look at the tables the statement reads. The cache key changes when a plugin maps new tables.
    tables = _tenant_tables(len(Base.registry.mappers))
    return any(table in tables for table in find_tables(state.statement, include_crud=True))


@lru_cache(maxsize=4096)
def _tenant_criteria(tenant_id: int):
    """The criteria option for one tenant, built once: building it (the lambda's analysis) costs more than the
    query it guards. SQLAlchemy caches the lambda by its code and binds ``tenant_id`` as a parameter."""
    return with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)


#: statement -> {tenant id: the statement with that tenant's criteria}, or _UNSCOPED when it reads no tenant rows.
#: Weak keys: a statement built for one call goes with its last reference; a statement built once and run often
#: (``people._LOOKUP``) keeps its scoped copies, and with them SQLAlchemy's memoised cache key, so a repeated
#: query pays neither for the option nor for a new cache key (measured: 0.06 ms instead of 0.9 ms of CPU a call).
_scoped: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_UNSCOPED: dict = {}


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    # Lazy and column loads inherit the criteria of the query that loaded the parent object.
    if state.is_column_load or state.is_relationship_load:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    statement = state.statement
    per_tenant = _scoped.get(statement)
    if per_tenant is None:
        per_tenant = _scoped[statement] = {} if _touches_tenant_rows(state) else _UNSCOPED
    if per_tenant is _UNSCOPED:
        return
    tenant = _tenant.get()
    if tenant is None:
        if _platform.get() is not None:
            return
        raise NoTenantInScope(f"query on {[m.class_.__name__ for m in state.all_mappers]} with no tenant in scope")
    scoped = per_tenant.get(tenant.id)
    if scoped is None:
        scoped = per_tenant[tenant.id] = statement.options(_tenant_criteria(tenant.id))
    state.statement = scoped


@event.listens_for(Session, "transient_to_pending")
def _stamp_new_row(session: Session, obj) -> None:
    """A new row belongs to the tenant in scope when it is added, not when it is flushed: one unit of work may
    add rows for several tenants in turn (the scheduler, the demo loader)."""
    if not isinstance(obj, TenantOwned):
        return
    tenant = _tenant.get()
    if tenant is not None:
        if obj.tenant_id is None:
            obj.tenant_id = tenant.id
        elif obj.tenant_id != tenant.id:
            session.expunge(obj)
            raise CrossTenantWrite(f"{type(obj).__name__} of tenant {obj.tenant_id} added in tenant {tenant.id}")
    elif obj.tenant_id is None and _platform.get() is None:
        session.expunge(obj)  # the event fires once the row is pending; a refused row must not be flushed
        raise NoTenantInScope(f"new {type(obj).__name__} with no tenant in scope")


def tenant_by_slug(session: Session, slug: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None or not tenant.active:
        raise NotFound(f"no tenant {slug!r}")
    return tenant


def tenant_by_host(session: Session, host: str) -> Tenant | None:
    """The active tenant that answers on ``host`` (port ignored), or None."""
    name = host.split(":", 1)[0].lower()
    tenant = session.scalar(select(Tenant).join(TenantDomain).where(TenantDomain.host == name))
    return tenant if tenant is not None and tenant.active else None


class TenantPathPrefix:
    """WSGI middleware: ``/t/<slug>/rest`` is served as ``/rest`` for tenant ``slug``.

    Moving the prefix into SCRIPT_NAME means every ``url_for`` in that request keeps the prefix by itself.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/t/"):
            slug, _, rest = path[3:].partition("/")
            if slug:
                environ["gonghui.tenant_slug"] = slug
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + f"/t/{slug}"
                environ["PATH_INFO"] = "/" + rest
        return self.wsgi_app(environ, start_response)


# --- tenant lifecycle (platform admins) -----------------------------------------------------------------------


def _snapshot(tenant: Tenant) -> dict:
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "active": tenant.active,
        "domains": [d.host for d in tenant.domains],
        "branding": dict(tenant.branding or {}),
    }


def _set_domains(session: Session, tenant: Tenant, hosts: list[str]) -> None:
    from core.errors import Conflict

    wanted = sorted({host.lower() for host in hosts})
    taken = session.scalars(
        select(TenantDomain.host).where(TenantDomain.host.in_(wanted), TenantDomain.tenant_id != (tenant.id or 0))
    ).all()
    if taken:
        raise Conflict("a domain already belongs to another tenant", errors={"domains": list(taken)})
    tenant.domains = [d for d in tenant.domains if d.host in wanted] + [
        TenantDomain(host=host) for host in wanted if host not in {d.host for d in tenant.domains}
    ]


def create_tenant(session: Session, *, slug: str, name: str, domains=(), branding=None, actor=None) -> Tenant:
    """Create a tenant. Must run in platform scope: the tenant does not exist yet."""
    from core import audit
    from core.errors import Conflict

    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"the slug {slug!r} is taken", errors={"slug": ["taken"]})
    tenant = Tenant(slug=slug, name=name, branding=dict(branding or {}), active=True, plugins_version=0)
    session.add(tenant)
    _set_domains(session, tenant, list(domains))
    session.flush()
    audit.record(session, "tenant.create", obj=tenant, after=_snapshot(tenant), actor=actor)
    return tenant


def update_tenant(session: Session, tenant: Tenant, changes: dict, *, actor=None) -> Tenant:
    """Change name, active, domains or branding (branding keys merge; an empty string clears one)."""
    from core import audit

    before = _snapshot(tenant)
    if "name" in changes:
        tenant.name = changes["name"]
    if "active" in changes:
        tenant.active = changes["active"]
    if "domains" in changes:
        _set_domains(session, tenant, changes["domains"])
        tenant.updated_at = utcnow()  # domains are rows of their own: touch the tenant so its version (ETag) moves
    if "branding" in changes:
        merged = {**(tenant.branding or {}), **changes["branding"]}
        tenant.branding = {key: value for key, value in merged.items() if value != ""}
    session.flush()
    action = "tenant.disable" if before["active"] and not tenant.active else "tenant.update"
    audit.record(session, action, obj=tenant, before=before, after=_snapshot(tenant), actor=actor)
    return tenant


def tenant_by_slug_any(session: Session, slug: str) -> Tenant:
    """A tenant by slug, active or not (platform admins manage disabled tenants too)."""
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no tenant {slug!r}")
    return tenant
