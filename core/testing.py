"""The Gonghui test kit, a pytest plugin (entry point ``pytest11``) that out-of-tree plugins use too.

The suite runs on whatever ``GONGHUI_TEST_DATABASE_URL`` and ``GONGHUI_TEST_REDIS_URL`` name: unset, a SQLite
file and the in-process broker; set, PostgreSQL and the real dramatiq Redis broker. Fixtures:

- ``app``: an application with every installed plugin, or exactly those of ``@pytest.mark.plugins(...)``
  (names of installed plugins or plugin modules);
- ``make_tenant(slug, plugins=[...])``: a tenant with those plugins enabled;
- ``make_user(tenant, roles=[...])`` and ``api(tenant, user)``: a client that calls the tenant's API as that
  user; ``platform_api``: a client on the platform host as a platform admin;
- ``jobs``: the application's job runtime; ``jobs.drain()`` waits until every queued message is processed.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from core import settings as settings_module
from core import tenancy


def _test_settings(tmp: Path) -> settings_module.Settings:
    return settings_module.load(
        {},
        data_dir=tmp,
        database_url=os.environ.get("GONGHUI_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'test.sqlite3'}",
        redis_url=os.environ.get("GONGHUI_TEST_REDIS_URL", ""),
        secret_key="test-secret-key-" + "x" * 32,
        log_level="WARNING",
        # Cheap argon2 parameters: thousands of hashes in a suite. Deployments keep the default (core.auth.passwords).
        password_hashing="fast-for-tests",
    )


def _plugin_modules(names_or_modules) -> list[ModuleType]:
    from core.plugins import discover

    installed = {module.meta.name: module for module in discover()}
    modules = []
    for item in names_or_modules:
        if isinstance(item, ModuleType):
            modules.append(item)
        elif item in installed:
            modules.append(installed[item])
        else:
            raise pytest.UsageError(f"@pytest.mark.plugins: no installed plugin {item!r}")
    return modules


def pytest_configure(config):
    config.addinivalue_line("markers", "plugins(*names): build the app with exactly these plugins")


@pytest.fixture(scope="session")
def gonghui_settings(tmp_path_factory) -> settings_module.Settings:
    return _test_settings(tmp_path_factory.mktemp("gonghui"))


@pytest.fixture(scope="session")
def gonghui_extra_plugins() -> list[ModuleType]:
    """Plugin modules loaded beside the installed ones by default; override in a conftest."""
    return []


@pytest.fixture(scope="session")
def _schema(gonghui_settings, gonghui_extra_plugins):
    """Create every table once per session: core, installed plugins, extra plugins."""
    import core.models  # noqa: F401  (registers core tables)
    from core.db import Base, make_engine

    _installed()  # importing a plugin registers its tables
    engine = make_engine(gonghui_settings.database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _installed():
    from core.plugins import discover

    return discover()


def _wipe(engine) -> None:
    from core.db import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            existing = set(sa.inspect(connection).get_table_names())
            names = ", ".join(f'"{name}"' for name in tables if name in existing)
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            for name in tables:
                connection.exec_driver_sql(f'DELETE FROM "{name}"')


@pytest.fixture
def app(request, gonghui_settings, gonghui_extra_plugins, _schema):
    from core.app import create_app

    marker = request.node.get_closest_marker("plugins")
    if marker is not None:
        modules = _plugin_modules(marker.args)
    else:
        modules = _installed() + list(gonghui_extra_plugins)
    application = create_app(gonghui_settings, plugins=modules)
    application.config["TESTING"] = True
    yield application
    application.extensions["gonghui_jobs"].stop_worker()
    if application.extensions["gonghui_jobs"].broker.__class__.__name__ == "RedisBroker":
        application.extensions["gonghui_jobs"].broker.flush_all()
    application.extensions["gonghui"].db.engine.dispose()
    _wipe(_schema)


@pytest.fixture
def db(app):
    """A unit of work outside any request, in the app context: ``with db() as session: ...`` commits at the end."""

    @contextmanager
    def unit_of_work():
        with app.app_context(), app.extensions["gonghui"].db.unit_of_work() as session:
            yield session

    return unit_of_work


@pytest.fixture
def jobs(app):
    return app.extensions["gonghui_jobs"]


@pytest.fixture
def make_tenant(app, db):
    def make(slug: str | None = None, *, name: str | None = None, plugins=(), domains=(), settings=None):
        slug = slug or f"t{uuid.uuid4().hex[:8]}"
        state = app.extensions["gonghui"]
        with db() as session:
            with tenancy.platform_scope("test: create tenant"):
                tenant = tenancy.create_tenant(session, slug=slug, name=name or f"{slug}市总工会", domains=domains)
            with tenancy.tenant_scope(tenant):
                for plugin in plugins:
                    state.plugins.enable(
                        session, tenant, plugin, (settings or {}).get(plugin), actor=_TestActor()
                    )
        return tenant

    return make


class _TestActor:
    id = None
    username = "test"
    is_platform_admin = True


@pytest.fixture
def make_user(app, db):
    """``make_user(tenant, roles=["tenant_admin"])`` (tenant None: a platform admin) -> (user, clear token)."""
    from core.auth import create_token, hash_password
    from core.models.user import RoleGrant, User

    def make(tenant=None, *, roles=(), username=None, password="correct horse battery staple"):
        with db() as session:
            scope = tenancy.tenant_scope(tenant) if tenant is not None else tenancy.platform_scope("test user")
            with scope:
                user = User(
                    tenant_id=tenant.id if tenant is not None else None,
                    username=username or f"u{uuid.uuid4().hex[:8]}",
                    display_name="测试用户",
                    password_hash=hash_password(password),
                    is_platform_admin=tenant is None,
                )
                session.add(user)
                session.flush()
                for role in roles:
                    session.add(RoleGrant(user_id=user.id, role=role))
                _token, clear = create_token(session, user, name="test")
        return user, clear

    return make


@dataclass
class ApiClient:
    """A test client bound to one tenant (path prefix ``/t/<slug>``) and, optionally, one caller's token."""

    client: object
    prefix: str = ""
    token: str | None = None

    def _headers(self, headers):
        merged = dict(headers or {})
        if self.token:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def open(self, method: str, path: str, headers=None, **kwargs):
        return self.client.open(self.prefix + path, method=method, headers=self._headers(headers), **kwargs)

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.open("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.open("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.open("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.open("DELETE", path, **kwargs)


@pytest.fixture
def api(app):
    """``api(tenant, token=None)``: a client for that tenant's addresses (``tenant=None``: the platform host)."""

    def make(tenant=None, token: str | None = None) -> ApiClient:
        prefix = f"/t/{tenant.slug}" if tenant is not None else ""
        return ApiClient(app.test_client(), prefix, token)

    return make


@pytest.fixture
def platform_api(api, make_user) -> ApiClient:
    _user, token = make_user(None)
    return api(None, token)
