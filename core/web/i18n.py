"""Page wording from message catalogues: Chinese (zh_CN) first, English second.

Templates and pages write English message ids (``{{ _("Sign in") }}``, ``gettext("You have signed out.")``);
``core/translations/zh_CN/LC_MESSAGES/messages.po`` says them in Chinese. English needs no catalogue: a message
id is its own English text.

The ``.po`` files are compiled in memory the first time a process needs them, so a clean ``pip install -e .``
serves Chinese with no build step and no binary ``.mo`` in the repository. A city adjusts the wording through
its plugin: a ``translations/<locale>/LC_MESSAGES/messages.po`` in the plugin's package overrides
core's messages for the tenants that enabled the plugin, the way its templates override core's
(docs/architecture.md, "Pages").
"""
from __future__ import annotations

import io
import threading
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, g, redirect, request
from flask_babel import Babel, Domain, get_locale

CORE_TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
#: The languages pages can be shown in, the first the default; the value is what the page calls it.
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"
#: Remembers a visitor's choice of language for a year (a preference, not a secret: readable by scripts is fine).
LANGUAGE_COOKIE = "gonghui_lang"

_lock = threading.Lock()


def init_app(app: Flask) -> None:
    babel = Babel(app, default_locale=DEFAULT_LANGUAGE, default_timezone="Asia/Shanghai",
                  locale_selector=chosen_language)
    babel.domain_instance = TenantCatalogues()


def chosen_language() -> str:
    """The visitor's choice (the language switch in the footer), else the tenant's ``branding.language``,
    else Chinese. Not the browser's Accept-Language: a city's wording is what its members are shown."""
    choice = request.cookies.get(LANGUAGE_COOKIE)
    if choice in LANGUAGES:
        return choice
    tenant = g.get("tenant")
    preferred = (tenant.branding or {}).get("language") if tenant is not None else None
    return preferred if preferred in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    locale = get_locale()
    return DEFAULT_LANGUAGE if locale is None else ("zh_CN" if locale.language == "zh" else "en")


def switch_language(code: str):
    """``/language/<code>``: show the pages in ``code`` from now on, and go back where the visitor was."""
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = request.script_root + "/"
    response = redirect(target, code=303)
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=request.is_secure, path="/")
    return response


def compile_po(path: Path, locale: str) -> Translations:
    """A ``.po`` file as translations, compiled in memory (fuzzy entries are left out, as msgfmt does)."""
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain="messages")


class TenantCatalogues(Domain):
    """Core's catalogue, then the catalogues of the plugins the tenant enabled (city plugins last, so a city's
    wording wins), merged once per (language, set of directories) and kept for the life of the process."""

    def get_translations(self):
        language = current_language()
        directories = tuple(_directories())
        key = (language, directories)
        found = self.cache.get(key)
        if found is None:
            found = NullTranslations() if language == "en" and not _has_english(directories) else _merged(
                language, directories)
            with _lock:
                self.cache[key] = found
        return found


def _directories() -> list[Path]:
    """Where the current tenant's catalogues are: core's, then each enabled plugin's ``translations/``."""
    directories = [CORE_TRANSLATIONS]
    tenant = g.get("tenant")
    if tenant is None:
        return directories
    from core.app import db_session, runtime

    state = runtime()
    enabled = state.plugins.enabled(db_session(), tenant)
    plugins = sorted((p for name, p in state.plugins.loaded.items() if name in enabled),
                     key=lambda p: (p.meta.kind == "city", p.meta.name))
    return directories + [p.root / "translations" for p in plugins if (p.root / "translations").is_dir()]


def _has_english(directories) -> bool:
    return any((d / "en" / "LC_MESSAGES" / "messages.po").exists() for d in directories)


def _merged(language: str, directories) -> Translations:
    merged = Translations()
    for directory in directories:
        path = directory / language / "LC_MESSAGES" / "messages.po"
        if path.exists():
            merged.merge(compile_po(path, language))
    return merged
