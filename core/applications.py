"""What a plugin that takes applications asks of the other plugins a tenant enabled.

A city plugin owns its applications, but the rules around them are open: any enabled plugin may refuse an
application (``screen_application``) or choose the reservoir that holds a membership while a unit has no union
(``reservoir_for``). These two calls go through the tenant's gate like every tenant hook, so a disabled
plugin's rule does not exist for the tenant.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from core.contributions import ScreeningRefusal
from core.models.organization import Organization


def _hooks(session: Session, tenant):
    return current_app.extensions["gonghui"].plugins.tenant_hooks(session, tenant)


def screen(session: Session, tenant, application: dict) -> list[ScreeningRefusal]:
    """Every refusal the tenant's enabled plugins give ``application`` (a dict of what was submitted, see
    docs/writing-plugins.md), in plugin order; an empty list lets it through."""
    answers = _hooks(session, tenant).screen_application(tenant=tenant, session=session, application=application)
    return [answer for answer in answers if answer is not None]


def reservoir_for(session: Session, tenant, person, unit) -> Organization | None:
    """The reservoir the first enabled plugin chooses for ``person`` of ``unit`` (which has no union), or None."""
    return _hooks(session, tenant).reservoir_for(tenant=tenant, session=session, person=person, unit=unit)
