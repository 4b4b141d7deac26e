"""Plugins: discovery, metadata, the per-tenant gate, and the service that turns a plugin on or off for a tenant.

Discovery is not enablement. Every plugin the deployment installed (entry-point group ``gonghui``, narrowed by
``GONGHUI_PLUGINS``) is loaded for the whole deployment; a tenant uses one only after ``enable`` wrote a
``tenant_plugin`` row. ``tenant_hooks(tenant)`` is the one gate for tenant hooks.
"""
from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pluggy
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import audit, hookspecs
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.models.tenant import Tenant, TenantPlugin
from core.version import CORE_VERSION

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "gonghui"
hookimpl = pluggy.HookimplMarker("gonghui")


class PluginError(Exception):
    """A plugin cannot be loaded: bad metadata, incompatible core, missing dependency."""


@dataclass(frozen=True)
class PluginMeta:
    """What a plugin says about itself. Every plugin's ``plugin.py`` has one, named ``meta``."""

    name: str
    label: str
    version: str
    kind: str = "feature"  # "city", "integration" or "feature"
    requires_core: str = ">=0.1"
    requires: tuple[str, ...] = ()
    settings_schema: type[Schema] | None = None
    #: Only a platform admin may enable a restricted plugin (it reaches outside the tenant, e.g. a bank).
    restricted: bool = False
    on_enable: Callable | None = None
    on_disable: Callable | None = None


@dataclass
class LoadedPlugin:
    meta: PluginMeta
    module: ModuleType

    @property
    def root(self) -> Path:
        return Path(self.module.__file__).parent

    @property
    def template_dir(self) -> Path | None:
        path = self.root / "templates"
        return path if path.is_dir() else None

    @property
    def migrations_dir(self) -> Path | None:
        path = self.root / "migrations"
        return path if path.is_dir() else None


def discover(allow: tuple[str, ...] = ()) -> list[ModuleType]:
    """Import every plugin of the entry-point group, or only those named in ``allow``."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    unknown = set(allow) - set(found)
    if unknown:
        raise PluginError(f"GONGHUI_PLUGINS names plugins that are not installed: {', '.join(sorted(unknown))}")
    names = allow or tuple(sorted(found))
    return [found[name].load() for name in names]


def _check_meta(module: ModuleType) -> PluginMeta:
    meta = getattr(module, "meta", None)
    if not isinstance(meta, PluginMeta):
        raise PluginError(f"{module.__name__} has no `meta = PluginMeta(...)`")
    if not meta.name.isidentifier() or meta.name != meta.name.lower():
        raise PluginError(f"plugin name {meta.name!r} must be a lowercase identifier")
    try:
        compatible = Version(CORE_VERSION) in SpecifierSet(meta.requires_core)
    except InvalidSpecifier:
        raise PluginError(f"plugin {meta.name}: requires_core {meta.requires_core!r} is not a version range") from None
    if not compatible:
        raise PluginError(f"plugin {meta.name} needs core {meta.requires_core}, this is {CORE_VERSION}")
    return meta


class _TenantHooks:
    """Hook callers of one tenant: the deployment's hooks minus the plugins the tenant has not enabled."""

    def __init__(self, pm: pluggy.PluginManager, removed: list[Any]):
        self._pm = pm
        self._removed = removed
        self._callers: dict[str, Any] = {}

    def __getattr__(self, name: str):
        caller = self._callers.get(name)
        if caller is None:
            caller = self._pm.subset_hook_caller(name, remove_plugins=self._removed)
            self._callers[name] = caller
        return caller


class Plugins:
    """The plugins one application loaded, and the per-tenant view of them."""

    def __init__(self, modules: list[ModuleType]):
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.loaded: dict[str, LoadedPlugin] = {}
        from core import hookimpls

        self.pm.register(hookimpls, name="core")
        for module in modules:
            meta = _check_meta(module)
            if meta.name in self.loaded or meta.name == "core":
                raise PluginError(f"two plugins are named {meta.name}")
            self.loaded[meta.name] = LoadedPlugin(meta, module)
            self.pm.register(module, name=meta.name)
        for meta in self.metas():
            missing = [name for name in meta.requires if name not in self.loaded]
            if missing:
                raise PluginError(f"plugin {meta.name} requires {', '.join(missing)}, which is not loaded")
        self.pm.check_pending()
        self._cache: dict[tuple[int, int], tuple[frozenset[str], _TenantHooks]] = {}
        self._settings: dict[tuple[int, int, str], dict] = {}
        self._lock = threading.Lock()

    @property
    def hook(self):
        """Deployment hooks (no tenant)."""
        return self.pm.hook

    def metas(self) -> list[PluginMeta]:
        return [plugin.meta for plugin in self.loaded.values()]

    def get(self, name: str) -> LoadedPlugin:
        try:
            return self.loaded[name]
        except KeyError:
            raise NotFound(f"no plugin {name!r} in this deployment") from None

    def contributions(self, hook_name: str) -> list[tuple[str, Any]]:
        """Call a deployment hook plugin by plugin: ``(plugin name, item)`` for each item returned."""
        result = []
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            for item in impl.function() or ():
                result.append((impl.plugin_name, item))
        return result

    def tenant_contributions(self, session: Session, tenant: Tenant, hook_name: str, **kwargs) -> list[tuple[str, Any]]:
        """Call a list-returning tenant hook plugin by plugin, for the plugins ``tenant`` enabled (and core):
        ``(plugin name, item)`` for each item, when the caller needs to know who contributed what."""
        enabled = self.enabled(session, tenant)
        result = []
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            if impl.plugin_name != "core" and impl.plugin_name not in enabled:
                continue
            arguments = {name: value for name, value in {"tenant": tenant, **kwargs}.items() if name in impl.argnames}
            for item in impl.function(**arguments) or ():
                result.append((impl.plugin_name, item))
        return result

    def settings_of(self, session: Session, tenant: Tenant, name: str) -> dict:
        """The validated settings ``tenant`` keeps for plugin ``name`` ({} when it has none), a copy of its own.

        Kept per process by the tenant's ``plugins_version``, which every enable, configure and disable moves:
        steps read their plugin's settings several times a request. A session that moved the version itself
        reads the row (its change may still be rolled back)."""
        key = (tenant.id, tenant.plugins_version, name)
        cacheable = not session.info.get(_PLUGINS_CHANGED)
        found = self._settings.get(key) if cacheable else None
        if found is None:
            row = _row(session, tenant, name)
            found = dict(row.settings) if row is not None and row.enabled else {}
            if cacheable:
                with self._lock:
                    self._settings = {k: v for k, v in self._settings.items()
                                      if k[0] != tenant.id or k[1] == tenant.plugins_version}
                    self._settings[key] = found
        return copy.deepcopy(found)

    def enabled(self, session: Session, tenant: Tenant) -> frozenset[str]:
        return self._view(session, tenant)[0]

    def tenant_hooks(self, session: Session, tenant: Tenant) -> _TenantHooks:
        return self._view(session, tenant)[1]

    def _view(self, session: Session, tenant: Tenant) -> tuple[frozenset[str], _TenantHooks]:
        key = (tenant.id, tenant.plugins_version)
        view = self._cache.get(key)
        if view is None:
            rows = session.scalars(
                select(TenantPlugin.plugin).where(TenantPlugin.tenant_id == tenant.id, TenantPlugin.enabled)
            )
            names = frozenset(name for name in rows if name in self.loaded)
            removed = [self.loaded[name].module for name in self.loaded if name not in names]
            view = (names, _TenantHooks(self.pm, removed))
            with self._lock:
                self._cache = {k: v for k, v in self._cache.items() if k[0] != tenant.id}
                self._cache[key] = view
        return view

    # --- the service that turns plugins on and off -------------------------------------------------------------

    def enable(self, session: Session, tenant: Tenant, name: str, settings: dict | None, *, actor) -> TenantPlugin:
        """Turn ``name`` on for ``tenant`` with validated ``settings``; ``None`` keeps the settings it had when it
        was last on (or the defaults). Idempotent for an enabled plugin."""
        plugin = self.get(name)
        if plugin.meta.restricted and not getattr(actor, "is_platform_admin", False):
            raise Forbidden(f"only a platform admin may enable {name}")
        enabled = self.enabled(session, tenant)
        missing = [req for req in plugin.meta.requires if req not in enabled]
        if missing:
            raise Conflict(f"{name} needs {', '.join(missing)} enabled first", code="plugin_requirement")
        row = _row(session, tenant, name)
        if settings is None:
            settings = row.settings if row is not None else {}
        clean = validate_settings(plugin.meta, settings)
        before = _snapshot(row)
        if row is None:
            row = TenantPlugin(tenant_id=tenant.id, plugin=name, enabled=True, settings=clean)
            session.add(row)
        else:
            row.enabled, row.settings = True, clean
        session.flush()
        if plugin.meta.on_enable:
            plugin.meta.on_enable(session=session, tenant=tenant, settings=clean)
        _bump(session, tenant)
        audit.record(session, "plugin.enable", obj=row, before=before, after=_snapshot(row), actor=actor)
        return row

    def configure(self, session: Session, tenant: Tenant, name: str, settings: dict, *, actor) -> TenantPlugin:
        plugin = self.get(name)
        row = _row(session, tenant, name)
        if row is None or not row.enabled:
            raise NotFound(f"{name} is not enabled for this tenant")
        before = _snapshot(row)
        row.settings = validate_settings(plugin.meta, settings)
        _bump(session, tenant)
        audit.record(session, "plugin.configure", obj=row, before=before, after=_snapshot(row), actor=actor)
        return row

    def disable(self, session: Session, tenant: Tenant, name: str, *, actor) -> TenantPlugin:
        """Turn ``name`` off. Its settings are kept, so enabling it again restores them."""
        plugin = self.get(name)
        row = _row(session, tenant, name)
        if row is None or not row.enabled:
            raise NotFound(f"{name} is not enabled for this tenant")
        dependants = [
            other for other in self.enabled(session, tenant) if name in self.loaded[other].meta.requires
        ]
        if dependants:
            raise Conflict(f"{', '.join(sorted(dependants))} needs {name}; disable it first", code="plugin_required")
        if plugin.meta.on_disable:
            plugin.meta.on_disable(session=session, tenant=tenant, settings=row.settings)
        before = _snapshot(row)
        row.enabled = False
        _bump(session, tenant)
        audit.record(session, "plugin.disable", obj=row, before=before, after=_snapshot(row), actor=actor)
        return row


def validate_settings(meta: PluginMeta, settings: dict) -> dict:
    """Load ``settings`` through the plugin's schema; field errors name the setting."""
    if meta.settings_schema is None:
        if settings:
            raise InvalidInput(f"{meta.name} has no settings", errors={"settings": ["this plugin takes no settings"]})
        return {}
    try:
        return meta.settings_schema().dump(meta.settings_schema().load(settings))
    except SchemaError as exc:
        errors = {f"settings.{key}": messages for key, messages in _flatten(exc.messages).items()}
        raise InvalidInput(f"the settings of {meta.name} are not valid", errors=errors) from None


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
    else:
        flat[prefix.rstrip(".")] = list(messages) if isinstance(messages, list) else [str(messages)]
    return flat


def _row(session: Session, tenant: Tenant, name: str) -> TenantPlugin | None:
    return session.scalar(select(TenantPlugin).where(TenantPlugin.tenant_id == tenant.id, TenantPlugin.plugin == name))


#: Set on a session that changed a tenant's plugins: it does not fill the settings cache.
_PLUGINS_CHANGED = "gonghui.plugins_changed"


def _bump(session: Session, tenant: Tenant) -> None:
    """Count the change in the database (other processes rebuild their views) and on ``tenant`` in memory."""
    session.info[_PLUGINS_CHANGED] = True
    version = session.execute(
        update(Tenant)
        .where(Tenant.id == tenant.id)
        .values(plugins_version=Tenant.plugins_version + 1)
        .returning(Tenant.plugins_version)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(tenant, "plugins_version", version)


def _snapshot(row: TenantPlugin | None) -> dict | None:
    if row is None:
        return None
    return {"plugin": row.plugin, "enabled": row.enabled, "settings": row.settings}
