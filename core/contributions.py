"""What a plugin hands to core through its hooks: one small dataclass per kind of contribution.

Hooks return these rather than loose dicts so that a typo fails at start, not in front of a user.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Permission:
    """A named permission and the roles that hold it unless a tenant says otherwise."""

    name: str
    label: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeriodicJob:
    """An actor the scheduler sends once per tenant that enabled the plugin, every ``every_seconds``."""

    name: str
    actor: Any
    every_seconds: int


@dataclass(frozen=True)
class JinjaFilter:
    name: str
    function: Callable


@dataclass(frozen=True)
class MenuItem:
    """An entry in the staff or worker navigation. ``endpoint`` is a Flask endpoint name."""

    label: str
    endpoint: str
    area: str = "staff"  # "staff" or "worker"
    permission: str | None = None
    order: int = 100
    icon: str = ""


@dataclass(frozen=True)
class DashboardWidget:
    """A box on the staff dashboard: ``template`` is rendered with ``context``."""

    title: str
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100
    permission: str | None = None


@dataclass(frozen=True)
class PrintableForm:
    """A printable form: ``render(session, object_id) -> str`` returns print-ready HTML."""

    key: str
    title: str
    applies_to: str
    render: Callable


@dataclass(frozen=True)
class Importer:
    """Reads a spreadsheet into the registry: ``run(session, rows, actor)`` with ``rows`` an iterable of dicts
    keyed by ``columns``; it returns the number of rows written and raises ``InvalidInput`` with row errors."""

    key: str
    title: str
    columns: tuple[str, ...]
    run: Callable


@dataclass(frozen=True)
class Exporter:
    """Writes rows: ``rows(session, scope) -> iterable of tuples`` under ``columns``."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: Callable


@dataclass(frozen=True)
class ScreeningRefusal:
    """Why an application may not go ahead: shown to the applicant and sent by SMS."""

    rule: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class MessageTemplate:
    """A text a plugin sends (SMS, notices). ``text`` uses ``str.format`` fields; tenants may override it."""

    key: str
    text: str
    description: str = ""
