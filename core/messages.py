"""The texts plugins send (SMS, notices): declared by the ``message_templates`` hook, overridable per tenant.

A plugin declares each text with a key and ``str.format`` fields. A tenant changes a text without code by
putting ``{"messages": {"<key>": "<text>"}}`` in the settings of the plugin that declares it; an override that
names a field the plugin does not pass is refused when composed, with the field named.
"""
from __future__ import annotations

import string

from sqlalchemy.orm import Session

from flask import current_app

from core.contributions import MessageTemplate
from core.errors import InvalidInput, NotFound
from core.models.tenant import Tenant


def _plugins():
    return current_app.extensions["gonghui"].plugins


def templates(session: Session, tenant: Tenant) -> dict[str, tuple[str, MessageTemplate]]:
    """Every text the tenant's enabled plugins declare: ``key -> (plugin, template)``."""
    return {t.key: (owner, t) for owner, t in _plugins().tenant_contributions(session, tenant, "message_templates")}


def text_for(session: Session, tenant: Tenant, key: str) -> str:
    """The text of ``key`` for ``tenant``: its override if it set one, else the plugin's own."""
    found = templates(session, tenant).get(key)
    if found is None:
        raise NotFound(f"no enabled plugin declares the message {key!r}")
    owner, template = found
    overrides = _plugins().settings_of(session, tenant, owner).get("messages") or {}
    return overrides.get(key) or template.text


def compose(session: Session, tenant: Tenant, key: str, **params) -> str:
    """The finished text of ``key`` with ``params`` filled in."""
    text = text_for(session, tenant, key)
    wanted = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    unknown = wanted - set(params)
    if unknown:
        raise InvalidInput(
            f"the text of {key} uses fields that are not supplied",
            errors={f"messages.{key}": [f"unknown field {{{name}}}" for name in sorted(unknown)]},
        )
    return text.format(**params)
