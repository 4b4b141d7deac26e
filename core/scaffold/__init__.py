"""`gonghui plugin new`: write a new plugin distribution that works before its author changes a line.

The files come from ``template/`` beside this module (``string.Template``: ``$name``, ``$label`` ...); ``FILES``
says where each one goes. The result installs with pip, is found by its ``gonghui`` entry point, and carries
its own tests on the core test kit; ``docs/writing-plugins.md`` walks through it.
"""
from __future__ import annotations

import datetime as dt
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import click

from core.version import CORE_VERSION

TEMPLATES = Path(__file__).parent / "template"

#: Template (``template/<key>.tmpl``) -> path in the new distribution.
FILES = {
    "pyproject.toml": "pyproject.toml",
    "README.md": "README.md",
    "gitignore": ".gitignore",
    "__init__.py": "{package}/__init__.py",
    "plugin.py": "{package}/plugin.py",
    "models.py": "{package}/models.py",
    "api.py": "{package}/api.py",
    "pages.py": "{package}/pages.py",
    "index.html": "{package}/templates/{name}/index.html",
    "first_revision.py": "{package}/migrations/{name}_0001_first.py",
    "test_plugin.py": "tests/test_{name}.py",
}

_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: Plugin routes live under /api/v1/<name>/ and /<name>/; these would collide with core's own.
RESERVED = frozenset({"core", "api", "static", "t", "plugins", "tenant", "tenants", "healthz"})
#: Keeps the first revision id, <name>_0001, within Alembic's 32-character version column (and the longest
#: derived constraint name, fk_<name>_note_tenant_id_tenant, well within PostgreSQL's 63).
MAX_NAME = 27
#: The label goes into Python and TOML strings, HTML and a Jinja template as it is.
_UNSAFE_LABEL = re.compile(r"[\"'\\<>&{}\x00-\x1f\x7f]")


class ScaffoldError(click.ClickException):
    """A name, label or directory `plugin new` refuses; the message says why."""


@dataclass(frozen=True)
class NewPlugin:
    name: str
    label: str
    kind: str

    @property
    def package(self) -> str:
        return f"gonghui_{self.name}"

    @property
    def distribution(self) -> str:
        return "gonghui-" + self.name.replace("_", "-")

    def substitutions(self) -> dict[str, str]:
        major, minor = CORE_VERSION.split(".")[:2]
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "package": self.package,
            "distribution": self.distribution,
            "table": f"{self.name}_note",
            "revision": f"{self.name}_0001",
            "core_version": CORE_VERSION,
            "requires_core": f">={major}.{minor}",
            "created": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        }


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} is not a plugin name: use a lowercase Python identifier of a-z, 0-9 and _, starting with a "
            "letter (for example xiangyang or sms_aliyun)"
        )
    if len(name) > MAX_NAME:
        raise ScaffoldError(f"{name!r} is too long: a plugin name has at most {MAX_NAME} characters")
    if name in RESERVED:
        raise ScaffoldError(f"{name!r} is used by core's own addresses; choose another name")
    return name


def check_label(label: str) -> str:
    if not label.strip() or _UNSAFE_LABEL.search(label):
        raise ScaffoldError(
            "--label must be a plain name such as 襄阳市总工会: no quotes, backslashes, < > & { } or line breaks"
        )
    return label.strip()


def write(plugin: NewPlugin, parent: Path) -> Path:
    """Write ``plugin``'s distribution into ``parent/<name>/`` and return that directory."""
    target = parent / plugin.name
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another --dir or remove it first")
    values = plugin.substitutions()
    for template, destination in FILES.items():
        path = target / destination.format(name=plugin.name, package=plugin.package)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = Template((TEMPLATES / f"{template}.tmpl").read_text(encoding="utf-8")).substitute(values)
        path.write_text(text, encoding="utf-8")
    return target


@click.group()
def plugin():
    """Tools for plugin developers."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="Where to create the plugin's directory.",
)
@click.option("--label", default=None, help="The name people see, in Chinese (default: NAME).")
@click.option(
    "--kind", type=click.Choice(["city", "integration", "feature"]), default="feature", show_default=True,
    help="city: a city federation's own flows; integration: an outside service; feature: anything else.",
)
def new(name, parent, label, kind):
    """Write a working plugin distribution gonghui-NAME into DIR/NAME/."""
    new_plugin = NewPlugin(check_name(name), check_label(label if label is not None else name), kind)
    target = write(new_plugin, parent).resolve()
    click.echo(f"Created {new_plugin.distribution} in {target}:")
    for destination in FILES.values():
        click.echo("  " + destination.format(name=new_plugin.name, package=new_plugin.package))
    click.echo(
        "\nNext: install it where gonghui is installed, run its tests, create its table, turn it on for a tenant:\n"
        f"  pip install -e {target}\n"
        f"  cd {target} && pytest\n"
        "  gonghui db upgrade\n"
        f"  gonghui plugins enable <tenant> {new_plugin.name}\n"
        "docs/writing-plugins.md explains every file."
    )
