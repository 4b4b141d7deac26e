"""`gonghui plugin new` writes a plugin that a developer installs with pip from outside the repository; it is
found by its entry point, answers for the tenant that enabled it and is 404 for another, with no line of core
changed.

The generated plugin runs in subprocesses only (its own pytest run, `gonghui db ...`): importing it here would
add its table to this session's metadata.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from packaging.version import Version

from core.cli import main

NAME = "xiangyang"
LABEL = "襄阳市总工会"
BIN = Path(sys.executable).parent


def _run(args: list, *, cwd: Path, env: dict, timeout: int = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _environment(tmp: Path, site: Path | None = None, **extra: str) -> dict:
    """This environment without deployment settings, plus ``extra``; the test database and Redis pass through.

    ``site``, where the plugin was installed, goes first on ``PYTHONPATH``.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("GONGHUI_") or "_TEST_" in key}
    env.update(GONGHUI_DATA_DIR=str(tmp / "var"), **extra)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return env


@contextmanager
def _fresh_database(tmp: Path, suffix: str):
    """An empty database of this run's engine: a new SQLite file, or a new PostgreSQL database beside the test one."""
    url = os.environ.get("GONGHUI_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp / f'{suffix}.sqlite3'}"
        return
    base = sa.make_url(url)
    name = f"{base.database}_{suffix}"[:63]
    server = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


def _can_build_wheels_here() -> bool:
    """setuptools builds wheels by itself from 70.1 on; before, only with the ``wheel`` package beside it."""
    try:
        return Version(version("setuptools")) >= Version("70.1") or bool(version("wheel"))
    except PackageNotFoundError:
        return False


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`gonghui plugin new` in a directory outside the repository, then `pip install` of the result.

    ``--target`` keeps the install out of this environment; ``PYTHONPATH`` pointing there is how the
    subprocesses see it. ``--no-build-isolation`` builds with this environment's setuptools instead of
    downloading one.
    """
    if not _can_build_wheels_here():
        pytest.fail("building without build isolation needs setuptools>=70.1 (or wheel): pip install -e '.[test]'")
    tmp = tmp_path_factory.mktemp("scaffold")
    env = _environment(tmp)
    _run([BIN / "gonghui", "plugin", "new", NAME, "--label", LABEL, "--kind", "city"], cwd=tmp, env=env)
    site = tmp / "site"
    _run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-compile",
         "--target", site, tmp / NAME],
        cwd=tmp, env=env,
    )
    return tmp, site


def test_plugin_new_writes_a_distribution_with_an_entry_point_that_pip_installs(installed):
    tmp, site = installed
    env = _environment(tmp, site)

    found = _run(
        [sys.executable, "-P", "-c",
         "from importlib.metadata import entry_points; "
         f"print(entry_points(group='gonghui')['{NAME}'].load().__file__)"],
        cwd=tmp, env=env,
    )

    assert Path(found.stdout.strip()) == site / f"gonghui_{NAME}" / "plugin.py"
    assert (site / f"gonghui_{NAME}" / "templates" / NAME / "index.html").is_file()
    assert (site / f"gonghui_{NAME}" / "migrations" / f"{NAME}_0001_first.py").is_file()


def test_the_new_plugins_own_tests_pass_on_the_test_kit_it_answers_for_its_tenant_and_is_404_for_another(installed):
    tmp, site = installed
    with _fresh_database(tmp, "newplugin") as url:
        env = _environment(tmp, site, GONGHUI_TEST_DATABASE_URL=url)

        # -P keeps the source directory off sys.path, so the tests run against the installed copy.
        result = _run(
            [sys.executable, "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp / NAME, env=env
        )

    assert "5 passed" in result.stdout, result.stdout


def test_its_first_migration_creates_exactly_the_table_its_model_describes(installed):
    tmp, site = installed
    with _fresh_database(tmp, "newplugin_migrate") as url:
        env = _environment(tmp, site, GONGHUI_DATABASE_URL=url, GONGHUI_PLUGINS=NAME)

        upgraded = _run([BIN / "gonghui", "db", "upgrade"], cwd=tmp, env=env)
        checked = _run([BIN / "gonghui", "db", "check"], cwd=tmp, env=env)

    assert f"{NAME}_0001\t{NAME}" in upgraded.stdout
    assert "the database matches the models" in checked.stdout


def test_the_new_plugin_imports_nothing_from_core_but_the_toolkit(installed):
    tmp, _site = installed
    imported = set()
    for path in (tmp / NAME).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)

    assert {module for module in imported if module.split(".")[0] == "core"} == {"core.toolkit"}


@pytest.fixture
def gonghui(tmp_path, monkeypatch):
    """``gonghui ...`` in-process, from an empty directory, with deployment files under it."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"GONGHUI_DATA_DIR": str(tmp_path / "var")})
    return lambda *args: runner.invoke(main, list(args))


@pytest.mark.parametrize(
    "name, why",
    [
        ("Xiangyang", "is not a plugin name"),
        ("xiang-yang", "is not a plugin name"),
        ("1city", "is not a plugin name"),
        ("襄阳", "is not a plugin name"),
        ("class", "is not a plugin name"),
        ("x" * 28, "is too long"),
    ],
)
def test_plugin_new_refuses_a_name_that_is_not_a_short_lowercase_identifier(gonghui, tmp_path, name, why):
    result = gonghui("plugin", "new", name)

    assert result.exit_code != 0
    assert f"{name!r} {why}" in result.output
    assert not (tmp_path / name).exists()


def test_plugin_new_refuses_a_name_core_uses_in_its_addresses(gonghui):
    result = gonghui("plugin", "new", "plugins")

    assert result.exit_code != 0
    assert "'plugins' is used by core" in result.output


def test_plugin_new_refuses_a_directory_that_exists(gonghui, tmp_path):
    (tmp_path / NAME).mkdir()

    result = gonghui("plugin", "new", NAME, "--dir", str(tmp_path))

    assert result.exit_code != 0
    assert f"{tmp_path / NAME} already exists" in result.output
    assert list((tmp_path / NAME).iterdir()) == []


def test_plugin_new_refuses_a_label_that_would_break_the_generated_code(gonghui, tmp_path):
    result = gonghui("plugin", "new", NAME, "--label", '襄阳"市总工会')

    assert result.exit_code != 0
    assert "--label must be a plain name" in result.output
    assert not (tmp_path / NAME).exists()
