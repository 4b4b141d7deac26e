"""Every hook is documented, sits in the right section, and has a test; ``docs/hooks.md`` is never stale."""
from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from core import hookdocs, toolkit

TESTS = Path(__file__).resolve().parents[1]


def test_docs_hooks_md_is_what_core_hookdocs_generates_from_the_hookspecs():
    current = hookdocs.DOCS_PATH.read_text(encoding="utf-8") if hookdocs.DOCS_PATH.exists() else ""

    if current != hookdocs.render():
        pytest.fail(f"docs/hooks.md is stale: regenerate it with `{hookdocs.COMMAND}`", pytrace=False)


def test_every_hookspec_has_a_docstring_and_sits_in_the_section_its_first_argument_says():
    assert hookdocs.problems() == []


def test_the_hookspec_check_finds_a_missing_docstring_and_a_tenant_hook_without_tenant_first(tmp_path):
    source = tmp_path / "bad_hookspecs.py"
    source.write_text(
        "import pluggy\n"
        "hookspec = pluggy.HookspecMarker('gonghui')\n"
        "# --- Deployment hooks ---\n"
        "@hookspec\n"
        "def undocumented():\n"
        "    pass\n"
        "# --- Tenant hooks ---\n"
        "@hookspec\n"
        "def menu_items(user, tenant):\n"
        "    '''Return menu items.'''\n"
    )
    spec = importlib.util.spec_from_file_location("bad_hookspecs", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert hookdocs.problems(hookdocs.hooks(module)) == [
        "undocumented has no docstring",
        "menu_items is under 'Tenant hooks' but its first argument is not `tenant`",
    ]


def _test_names() -> set[str]:
    names = set()
    for path in TESTS.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                names.add(node.name)
    return names


def test_every_hook_has_a_test_whose_name_contains_the_hooks_name():
    names = _test_names()
    untested = [
        hook.name
        for hook in hookdocs.hooks()
        if not any(re.search(rf"(^|_){hook.name}(_|$)", name) for name in names)
    ]

    assert untested == [], f"write a test named test_<hook>_... for each (tests/core/test_hooks.py): {untested}"


def test_every_type_the_hook_docs_describe_is_importable_from_the_toolkit():
    described = [cls.__name__ for cls in hookdocs.documented_types(hookdocs.hooks())]

    assert described, "the hooks name the dataclasses they return as ``toolkit.Name``"
    assert [name for name in described if getattr(toolkit, name, None) is None] == []
    assert set(described) <= set(toolkit.__all__)
