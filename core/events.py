"""Domain events: facts the registry and plugins announce, delivered to the ``on_event`` tenant hook.

Events are plain frozen dataclasses that carry ids, never ORM objects, so a handler reads what it needs in
the same transaction and a queued job can carry the same ids.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Event:
    """Base of every domain event."""


@dataclass(frozen=True)
class PluginEnabled(Event):
    plugin: str


@dataclass(frozen=True)
class PluginDisabled(Event):
    plugin: str


@dataclass(frozen=True)
class MembershipStarted(Event):
    person_id: int
    membership_id: int
    organization_id: int


@dataclass(frozen=True)
class MembershipTransferred(Event):
    person_id: int
    from_membership_id: int
    to_membership_id: int


@dataclass(frozen=True)
class MembershipEnded(Event):
    person_id: int
    membership_id: int
    reason: str


def emit(session: Session, event: Event) -> None:
    """Call every enabled plugin's ``on_event`` for the tenant in scope, inside the caller's transaction."""
    from flask import current_app

    from core.tenancy import require_tenant

    tenant = require_tenant()
    hooks = current_app.extensions["gonghui"].plugins.tenant_hooks(session, tenant)
    hooks.on_event(tenant=tenant, session=session, event=event)
