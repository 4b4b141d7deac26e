"""``docs/hooks.md``, generated from ``core/hookspecs.py``: the hooks, their arguments and what they return.

Regenerate after changing a hookspec or a dataclass a hook returns::

    python -m core.hookdocs --write      # or: python -m core.hookdocs > docs/hooks.md

``--check`` exits 1 when the file is stale (``tests/core/test_hookdocs.py`` fails then too). The output depends
only on the source, so it is the same on every machine.

Each hook's section comes from its first argument (``tenant`` makes it a tenant hook); ``problems()`` reports a
hook that sits under the other comment header of ``hookspecs.py``, has no docstring, or takes an argument this
module does not describe.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from core import contributions, hookspecs, integrations

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"
COMMAND = "python -m core.hookdocs --write"
DEPLOYMENT, TENANT = "Deployment hooks", "Tenant hooks"
#: Modules whose dataclasses and protocols hooks hand back; documented when a hook's docstring names one.
TYPE_MODULES = (contributions, integrations)

#: What each hook argument is. A hook that takes an argument not listed here is a documentation gap.
ARGUMENTS = {
    "tenant": "the `Tenant` the call is for (`slug`, `name`, `branding`); only plugins it enabled are called",
    "session": "the SQLAlchemy session of the caller's unit of work, already scoped to `tenant`; never commit it",
    "user": "the signed-in `User`, or None for an anonymous visitor",
    "application": "the application being submitted, as the fields the applicant sent",
    "person": "the registry person who asks to join",
    "unit": "the registry unit (employer) the person works for",
    "event": "a domain event dataclass from `core.events` (`toolkit.MembershipStarted`, ...); it carries ids only",
}

_HEADER = re.compile(r"^# -+ (?P<title>.+?) -*$")
_MENTION = re.compile(r"``toolkit\.(?P<name>\w+)``")
_NAME = re.compile(r"\b[A-Z]\w*\b")


@dataclass(frozen=True)
class HookDoc:
    """One hookspec as the docs show it."""

    name: str
    parameters: tuple[str, ...]
    firstresult: bool
    docstring: str
    #: The comment header of ``hookspecs.py`` the hook sits under (None above the first header).
    header: str | None

    @property
    def section(self) -> str:
        return TENANT if self.parameters[:1] == ("tenant",) else DEPLOYMENT

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.parameters)})"

    @property
    def mentions(self) -> list[str]:
        """``toolkit.X`` names in the docstring, in order, each once."""
        return list(dict.fromkeys(m["name"] for m in _MENTION.finditer(self.docstring)))


def hooks(module: ModuleType = hookspecs) -> list[HookDoc]:
    """Every hookspec of ``module`` in source order."""
    spec_attribute = f"{hookspecs.hookspec.project_name}_spec"
    headers = _headers(module)
    found = []
    for name, function in vars(module).items():
        options = getattr(function, spec_attribute, None)
        if options is None or not inspect.isfunction(function):
            continue
        line = inspect.getsourcelines(function)[1]
        above = [title for header_line, title in headers if header_line < line]
        found.append(
            (
                line,
                HookDoc(
                    name=name,
                    parameters=tuple(inspect.signature(function).parameters),
                    firstresult=bool(options.get("firstresult")),
                    docstring=inspect.getdoc(function) or "",
                    header=above[-1] if above else None,
                ),
            )
        )
    return [doc for _line, doc in sorted(found, key=lambda pair: pair[0])]


def _headers(module: ModuleType) -> list[tuple[int, str]]:
    lines = inspect.getsource(module).splitlines()
    return [(number, m["title"]) for number, line in enumerate(lines, 1) if (m := _HEADER.match(line))]


def problems(docs: list[HookDoc] | None = None) -> list[str]:
    """What keeps a hook from being documented properly; empty when every hook is."""
    found = []
    for hook in hooks() if docs is None else docs:
        if not hook.docstring.strip():
            found.append(f"{hook.name} has no docstring")
        if hook.header not in (DEPLOYMENT, TENANT):
            found.append(f"{hook.name} is not under a '# --- {DEPLOYMENT}' or '# --- {TENANT}' header")
        elif hook.header == TENANT and hook.section != TENANT:
            found.append(f"{hook.name} is under '{TENANT}' but its first argument is not `tenant`")
        elif hook.header == DEPLOYMENT and "tenant" in hook.parameters:
            found.append(f"{hook.name} is under '{DEPLOYMENT}' but takes `tenant`")
        for parameter in hook.parameters:
            if parameter not in ARGUMENTS:
                found.append(f"{hook.name}: argument `{parameter}` is not described in core.hookdocs.ARGUMENTS")
    return found


# --- the types hooks return ----------------------------------------------------------------------------------


def _type_named(name: str) -> type | None:
    for module in TYPE_MODULES:
        candidate = vars(module).get(name)
        if inspect.isclass(candidate) and candidate.__module__ == module.__name__:
            return candidate
    return None


def _referenced(cls: type) -> list[str]:
    """Names in the annotations of ``cls``'s fields or methods."""
    texts = []
    if dataclasses.is_dataclass(cls):
        texts = [str(f.type) for f in dataclasses.fields(cls)]
    else:
        for _name, method in _methods(cls):
            signature = inspect.signature(method)
            texts += [str(p.annotation) for p in signature.parameters.values()] + [str(signature.return_annotation)]
    return [name for text in texts for name in _NAME.findall(text)]


def documented_types(docs: list[HookDoc]) -> list[type]:
    """The dataclasses and protocols the hooks mention, and those they in turn refer to, in source order."""
    pending = [name for hook in docs for name in hook.mentions]
    seen: dict[str, type] = {}
    while pending:
        name = pending.pop(0)
        cls = _type_named(name)
        if cls is None or name in seen:
            continue
        seen[name] = cls
        pending += _referenced(cls)
    order = {module.__name__: index for index, module in enumerate(TYPE_MODULES)}
    return sorted(seen.values(), key=lambda c: (order[c.__module__], inspect.getsourcelines(c)[1]))


def _methods(cls: type) -> list[tuple[str, typing.Callable]]:
    return [
        (name, member)
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and not name.startswith("_")
    ]


def _field_notes(cls: type) -> dict[str, str]:
    """``#:`` comments above a field and ``# ...`` comments after it, by field name."""
    notes: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r"^(\w+)\s*:[^#]*?(?:#\s*(?P<after>.*))?$", stripped)
        if match and not stripped.startswith(("def ", "class ")):
            text = " ".join(pending + ([match["after"].strip()] if match["after"] else []))
            if text:
                notes[match[1]] = text
        pending = []
    return notes


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return f"`{f.default!r}`"
    if f.default_factory is not dataclasses.MISSING:
        return f"`{f.default_factory()!r}`"
    return "required"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _render_type(cls: type) -> list[str]:
    path = cls.__module__.replace(".", "/") + ".py"
    out = [f'<a id="{_anchor(cls.__name__)}"></a>', "", f"### `{cls.__name__}`", ""]
    out += [f"`toolkit.{cls.__name__}`, defined in `{path}`.", ""]
    if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):  # skip dataclasses' generated docstring
        out += [_markdown(inspect.cleandoc(cls.__doc__)), ""]
    if dataclasses.is_dataclass(cls):
        notes = _field_notes(cls)
        out += ["| field | type | default | notes |", "| --- | --- | --- | --- |"]
        for f in dataclasses.fields(cls):
            out.append(f"| `{f.name}` | `{_cell(str(f.type))}` | {_cell(_default(f))} | {_cell(notes.get(f.name, ''))} |")
        out.append("")
    else:
        out += ["A protocol: implement these methods.", ""]
        for name, method in _methods(cls):
            out += [f"- `{name}{_method_signature(method)}`: {_markdown(inspect.getdoc(method) or '')}"]
        out.append("")
    return out


def _method_signature(method: typing.Callable) -> str:
    signature = inspect.signature(method)
    parameters = [
        f"{p.name}: {p.annotation}" if p.annotation is not inspect.Parameter.empty else p.name
        for p in signature.parameters.values()
        if p.name != "self"
    ]
    returns = "" if signature.return_annotation is inspect.Signature.empty else f" -> {signature.return_annotation}"
    return f"({', '.join(parameters)}){returns}"


# --- the page -------------------------------------------------------------------------------------------------


def _markdown(text: str) -> str:
    """reStructuredText literals (````x````) as Markdown code (```x```)."""
    return re.sub(r"``(.+?)``", r"`\1`", text)


def _anchor(name: str) -> str:
    """An explicit anchor: GitHub's own, from a heading like ``menu_items(tenant, user)``, is unwieldy."""
    return name.lower()


_CALLING = {
    TENANT: "Every enabled plugin's implementation is called; the caller gets a list of the results that are not "
    "None, in call order.",
    "firstresult": "`firstresult`: enabled plugins are called in call order until one returns something other "
    "than None; that value is the result (None when no plugin answers).",
}
_ORDER = (
    "**Call order.** pluggy calls the implementation registered last first. Core registers its own (as plugin "
    "`core`), then the plugins in `GONGHUI_PLUGINS` order (every installed plugin by entry-point name when it is "
    "empty); `@hookimpl(tryfirst=True)` or `@hookimpl(trylast=True)` moves an implementation to the front or the "
    "back."
)
_SECTION_INTRO = {
    DEPLOYMENT: "Called without a tenant, once for the whole deployment, for every plugin the deployment loaded "
    "(no gate applies). Each returns a list; core uses every item of every list, through "
    "`Plugins.contributions(hook)`, which pairs each item with the plugin that returned it.",
    TENANT: "Called only through `plugins.tenant_hooks(session, tenant).<hook>(tenant=tenant, ...)`, which leaves "
    "out every plugin `tenant` has not enabled. Pass arguments by name.",
}


def _render_hook(hook: HookDoc, types: dict[str, type]) -> list[str]:
    out = [f'<a id="{_anchor(hook.name)}"></a>', "", f"### `{hook.signature}`", "", _markdown(hook.docstring), ""]
    if hook.parameters:
        out.append("Arguments:")
        out += [f"- `{p}`: {ARGUMENTS.get(p, '(not described)')}" for p in hook.parameters]
        out.append("")
    if hook.section == TENANT:
        out += [_CALLING["firstresult" if hook.firstresult else TENANT], ""]
    named = [name for name in hook.mentions if name in types]
    if named:
        out += ["Types: " + ", ".join(f"[`{name}`](#{_anchor(name)})" for name in named), ""]
    return out


def render() -> str:
    """The whole of ``docs/hooks.md``."""
    docs = hooks()
    types = {cls.__name__: cls for cls in documented_types(docs)}
    out = [
        "# Plugin hooks",
        "",
        f"<!-- Generated from core/hookspecs.py by `{COMMAND}`. Do not edit by hand. -->",
        "",
        _markdown(inspect.getdoc(hookspecs) or ""),
        "",
        "| hook | kind | first result wins |",
        "| --- | --- | --- |",
    ]
    out += [
        f"| [`{h.name}`](#{_anchor(h.name)}) | {h.section.split()[0].lower()} | {'yes' if h.firstresult else ''} |"
        for h in docs
    ]
    out += ["", _ORDER, ""]
    for section in (DEPLOYMENT, TENANT):
        out += [f"## {section}", "", _SECTION_INTRO[section], ""]
        for hook in (h for h in docs if h.section == section):
            out += _render_hook(hook, types)
    out += [
        "## What hooks return",
        "",
        "Hooks return these frozen dataclasses (or objects that implement these protocols), all importable from "
        "`core.toolkit`.",
        "",
    ]
    for cls in types.values():
        out += _render_type(cls)
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.hookdocs", description="Generate docs/hooks.md.")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"write {DOCS_PATH.name} in the repository's docs/")
    action.add_argument("--check", action="store_true", help="exit 1 when docs/hooks.md is stale")
    options = parser.parse_args(argv)
    text = render()
    if options.write:
        DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOCS_PATH.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {DOCS_PATH}", file=sys.stderr)
    elif options.check:
        current = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.exists() else ""
        if current != text:
            print(f"{DOCS_PATH} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
    else:
        sys.stdout.buffer.write(text.encode("utf-8"))
    for problem in problems():
        print(f"warning: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
