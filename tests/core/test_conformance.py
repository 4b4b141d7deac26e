"""The rules between the parts (DESIGN.md): core imports no plugin, plugins import only ``core.toolkit``,
every installed plugin says who it is and keeps its tables named after itself and scoped to a tenant."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pytest
from marshmallow import missing
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from core.plugins import ENTRY_POINT_GROUP, PluginMeta, Plugins, discover
from core.version import CORE_VERSION
from tests.testplugin import plugin as testplugin

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_TREES = [ROOT / "plugins", ROOT / "cities", ROOT / "tests" / "testplugin"]
INSTALLED = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """``(line, dotted name)`` for every import in ``path``, at any depth, relative ones made absolute.

    ``from a import b`` yields ``a.b`` (``b`` may be a module or a name in ``a``); ``importlib.import_module`` and
    ``__import__`` with a literal name count too.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}" if base else alias.name) for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def _python_files(*trees: Path) -> list[Path]:
    return sorted(path for tree in trees if tree.exists() for path in tree.rglob("*.py"))


def test_core_imports_nothing_from_plugins_or_cities():
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _python_files(ROOT / "core")
        for line, name in imported_modules(path)
        if name.split(".")[0] in ("plugins", "cities", "tests")
    ]

    assert offending == [], "core must not know any plugin; reach plugins through hooks"


def _allowed_from_plugin(name: str) -> bool:
    return name.split(".")[0] != "core" or name == "core.toolkit" or name.startswith("core.toolkit.")


def test_plugins_and_cities_import_from_core_only_its_toolkit():
    files = _python_files(*PLUGIN_TREES)
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in files
        for line, name in imported_modules(path)
        if not _allowed_from_plugin(name)
    ]

    assert files, "the test plugin at least is scanned"
    assert offending == [], "a plugin imports from core only `core.toolkit`; ask for a name there"


def test_the_import_scan_sees_imports_inside_functions_and_relative_imports(tmp_path):
    package = tmp_path / "plugins" / "demo"
    package.mkdir(parents=True)
    (package / "plugin.py").write_text(
        "from core.toolkit import hookimpl\n"
        "from .models import Thing\n"
        "def late():\n"
        "    from core import tenancy\n"
        "    import importlib\n"
        "    return importlib.import_module('core.app')\n"
    )
    names = [name for _line, name in imported_modules(package / "plugin.py", root=tmp_path)]

    assert names == ["core.toolkit.hookimpl", "plugins.demo.models.Thing", "core.tenancy", "importlib", "core.app"]
    assert [n for n in names if not _allowed_from_plugin(n)] == ["core.tenancy", "core.app"]


# --- installed plugins -----------------------------------------------------------------------------------------


def test_every_installed_plugin_loads_into_one_deployment():
    plugins = Plugins(discover())

    assert sorted(plugins.loaded) == INSTALLED


@pytest.mark.parametrize("entry_point", INSTALLED)
def test_an_installed_plugins_entry_point_name_is_its_meta_name(entry_point):
    (module,) = discover((entry_point,))

    assert isinstance(getattr(module, "meta", None), PluginMeta), f"{module.__name__} has no `meta = PluginMeta(...)`"
    assert module.meta.name == entry_point


#: Every installed plugin, and the test plugin (loaded by tests without an entry point).
PLUGINS = INSTALLED + ["testplugin"]


def _load(name: str) -> ModuleType:
    return testplugin if name == "testplugin" else discover((name,))[0]


@pytest.mark.parametrize("name", PLUGINS)
def test_plugin_metadata_is_valid(name):
    meta = _load(name).meta
    assert isinstance(meta, PluginMeta)
    assert meta.name.isidentifier() and meta.name == meta.name.lower(), "a lowercase identifier"
    assert meta.label.strip(), "a label to show staff"
    assert meta.kind in ("city", "integration", "feature")
    try:
        Version(meta.version)
    except InvalidVersion:
        pytest.fail(f"version {meta.version!r} is not a version number")
    try:
        assert Version(CORE_VERSION) in SpecifierSet(meta.requires_core), f"needs core {meta.requires_core}"
    except InvalidSpecifier:
        pytest.fail(f"requires_core {meta.requires_core!r} is not a version range")
    known = set(PLUGINS)
    assert set(meta.requires) <= known, f"requires plugins that are not installed: {set(meta.requires) - known}"


@pytest.mark.parametrize("name", PLUGINS)
def test_a_plugins_settings_schema_loads_its_own_defaults(name):
    meta = _load(name).meta
    if meta.settings_schema is None:
        return
    schema = meta.settings_schema()
    defaults = {
        field.data_key or name: field.load_default() if callable(field.load_default) else field.load_default
        for name, field in schema.fields.items()
        if field.load_default is not missing and not field.dump_only
    }

    loaded = schema.load(defaults, partial=True)  # settings with no default (secrets) are the tenant's to give
    assert schema.load(schema.dump(loaded), partial=True) == loaded, "what is stored loads back unchanged"


#: Run in a fresh interpreter: importing every module of a plugin here would add tables to the metadata the test
#: kit created its schema from, and every later test would clean up tables that do not exist.
_DESCRIBE_TABLES = """
import importlib, json, pkgutil, sys
import sqlalchemy as sa
from core.db import Base

package_name, plugin = sys.argv[1], sys.argv[2]
package = importlib.import_module(package_name)
for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
    if not {"migrations", "tests", "templates"} & set(info.name.split(".")[1:]):
        importlib.import_module(info.name)
tables = {m.local_table for m in Base.registry.mappers if m.class_.__module__.startswith(package_name + ".")}
tables |= {t for t in Base.metadata.tables.values() if t.name.startswith(plugin + "_")}
print(json.dumps([
    {
        "name": t.name,
        "columns": list(t.columns.keys()),
        "unique": [list(c.columns.keys()) for c in t.constraints if isinstance(c, sa.UniqueConstraint)]
        + [list(i.columns.keys()) for i in t.indexes if i.unique],
    }
    for t in sorted(tables, key=lambda t: t.name)
]))
"""


def _tables_of(module: ModuleType) -> list[dict]:
    """Every table the plugin's package defines (all its modules imported, migrations and tests aside)."""
    package = module.__name__.rpartition(".")[0]
    result = subprocess.run(
        [sys.executable, "-c", _DESCRIBE_TABLES, package, module.meta.name],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, f"importing the modules of {package} failed:\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", PLUGINS)
def test_a_plugins_tables_are_named_after_it_and_belong_to_a_tenant(name):
    for table in _tables_of(_load(name)):
        assert table["name"].startswith(f"{name}_"), f"{table['name']}: a table of {name} is named {name}_<thing>"
        assert "tenant_id" in table["columns"], f"{table['name']} has no tenant_id"
        for unique in table["unique"]:
            assert "tenant_id" in unique, f"{table['name']}: unique key {unique} without tenant_id crosses tenants"
