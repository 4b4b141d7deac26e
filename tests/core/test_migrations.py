"""The schema comes from migrations: core's branch and one branch per plugin, all run by `gonghui db upgrade`."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from core import migrate
from core import settings as settings_module
from core.cli import main
from core.db import make_engine
from core.plugins import discover
from tests.testplugin import plugin as testplugin

SECRET = "test-secret-key-" + "x" * 32
CORE_TABLES = {
    "tenant", "tenant_domain", "tenant_plugin", "user_account", "role_grant", "api_token",
    "audit_record", "audit_chain_head", "outbox_message", "calendar_override",
}


def _settings(tmp_path, url):
    return settings_module.load({}, data_dir=tmp_path, database_url=url, secret_key=SECRET)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path):
    """A database with no tables: a SQLite file, or a new database on the server of GONGHUI_TEST_DATABASE_URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server_url = os.environ.get("GONGHUI_TEST_DATABASE_URL", "")
    if not server_url.startswith("postgresql"):
        pytest.skip("needs GONGHUI_TEST_DATABASE_URL pointing at PostgreSQL")
    server_url = _settings(tmp_path, server_url).database_url
    name = f"gonghui_migrations_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def deployment():
    """Every installed plugin plus the test plugin, which has a table and is not installed."""
    return discover() + [testplugin]


def _tables(url) -> set[str]:
    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _core_head() -> str:
    """The newest core revision: the highest-numbered file in migrations/versions."""
    from pathlib import Path

    import migrations

    versions = Path(list(migrations.__path__)[0]) / "versions"
    return max(p.name[:9] for p in versions.glob("core_*.py"))


CORE_HEAD = _core_head()


def test_a_fresh_database_upgraded_to_every_head_matches_the_models_exactly(empty_database, tmp_path, deployment):
    settings = _settings(tmp_path, empty_database)

    migrate.upgrade(settings, plugins=deployment)

    assert migrate.current(settings, plugins=deployment) == migrate.heads(settings, plugins=deployment)
    assert {CORE_HEAD, "testplugin_0001"} <= set(migrate.current(settings, plugins=deployment))
    assert CORE_TABLES | {"testplugin_note"} <= _tables(empty_database)
    assert [migrate.describe(d) for d in migrate.drift(settings, plugins=deployment)] == []


def _core_shape(url) -> dict:
    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        inspector = sa.inspect(engine)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted(i["name"] for i in inspector.get_indexes(table)),
                sorted(str(u["name"]) for u in inspector.get_unique_constraints(table)),
                sorted(str(f["name"]) for f in inspector.get_foreign_keys(table)),
            )
            for table in sorted(CORE_TABLES)
        }
    finally:
        engine.dispose()


def test_a_plugins_branch_adds_only_tables_named_after_it_and_leaves_core_as_it_was(tmp_path, deployment):
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'branches.sqlite3'}")
    plugins = migrate.target(settings, deployment).plugins
    with_branches = [name for name, plugin in plugins.items() if plugin.migrations_dir and not plugin.meta.requires]
    assert "testplugin" in with_branches
    migrate.upgrade(settings, "core@head", plugins=deployment)
    core_shape = _core_shape(settings.database_url)

    for name in with_branches:
        before = _tables(settings.database_url)
        migrate.upgrade(settings, f"{name}@head", plugins=deployment)
        added = _tables(settings.database_url) - before

        assert added and all(table.startswith(f"{name}_") for table in added), added
        assert _core_shape(settings.database_url) == core_shape


def test_each_plugin_branch_starts_from_nothing_and_depends_on_a_core_revision(tmp_path, deployment):
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    scripts = migrate.script_directory(migrate.target(settings, deployment))
    core_revisions = {script.revision for script in scripts.walk_revisions() if "core" in script.branch_labels}

    for script in scripts.walk_revisions():
        if script.down_revision is None and script.revision not in core_revisions:
            (plugin,) = script.branch_labels
            assert script.revision.startswith(f"{plugin}_")
            needs = {script.dependencies} if isinstance(script.dependencies, str) else set(script.dependencies or ())
            assert needs & core_revisions, f"{script.revision} depends on no core revision"


def test_removing_the_test_plugins_branch_leaves_core_intact(empty_database, tmp_path, deployment):
    settings = _settings(tmp_path, empty_database)
    migrate.upgrade(settings, plugins=deployment)

    migrate.downgrade(settings, "testplugin@base", plugins=deployment)

    assert "testplugin_note" not in _tables(empty_database)
    assert CORE_TABLES <= _tables(empty_database)
    assert CORE_HEAD in migrate.current(settings, plugins=deployment)
    assert "testplugin_0001" not in migrate.current(settings, plugins=deployment)
    # Without the test plugin in the deployment, what is left matches the models exactly.
    assert migrate.drift(settings, plugins=discover()) == []

    migrate.upgrade(settings, plugins=deployment)
    assert "testplugin_note" in _tables(empty_database)


def test_gonghui_db_upgrade_brings_an_empty_database_to_every_head_and_check_agrees(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {
        "GONGHUI_DATABASE_URL": url,
        "GONGHUI_DATA_DIR": str(tmp_path),
        "GONGHUI_SECRET_KEY": SECRET,
        "GONGHUI_REDIS_URL": None,
        "GONGHUI_PLUGINS": None,
        "GONGHUI_LOG_LEVEL": "WARNING",
    }
    runner = CliRunner()

    before = runner.invoke(main, ["db", "check"], env=env)
    assert before.exit_code != 0
    assert "gonghui db upgrade" in before.output

    upgraded = runner.invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert CORE_HEAD in upgraded.output

    current = runner.invoke(main, ["db", "current"], env=env)
    assert current.exit_code == 0, current.output
    assert f"{CORE_HEAD}\tcore (head)" in current.output

    check = runner.invoke(main, ["db", "check"], env=env)
    assert check.exit_code == 0, check.output
    assert CORE_TABLES <= _tables(url)


def test_drift_names_a_table_the_models_have_and_the_database_lacks(tmp_path, deployment):
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'behind.sqlite3'}")
    migrate.upgrade(settings, plugins=discover())  # a deployment without the test plugin

    differences = [migrate.describe(d) for d in migrate.drift(settings, plugins=deployment)]

    assert differences == ["add_table testplugin_note", "add_index ix_testplugin_note_tenant_id"]
