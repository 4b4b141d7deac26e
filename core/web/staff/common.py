"""What the staff pages share: the scope questions they ask (the API's rules, from ``core.auth`` and the
registry, never from ``core.api``), the Chinese names of coded values, and forms that keep what was typed and
name the wrong field.

A form's refusal renders the same page again with status 422 (409 for a stale version), so the request's
transaction rolls back (``core.app``: only a response under 400 commits) and nothing is half-applied.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import make_response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from core.auth import WHOLE_TENANT, in_scope, scope_paths
from core.errors import DomainError
from core.models.organization import Organization
from core.registry import units as unit_registry
from core.web import render_page

#: The kinds of the union tree, as staff call them. Message ids, said in the page's language.
KINDS = {
    "city_federation": lazy_gettext("City federation"),
    "county_federation": lazy_gettext("County federation"),
    "industry_union": lazy_gettext("Industry union"),
    "street_federation": lazy_gettext("Street federation"),
    "grassroots_union": lazy_gettext("Grassroots union"),
    "city_enterprise_committee": lazy_gettext("City enterprise committee (reservoir)"),
    "service_centre_committee": lazy_gettext("Service centre committee (reservoir)"),
    "grid_union": lazy_gettext("Grid union (reservoir)"),
}
STATUSES = {"active": lazy_gettext("Active"), "dissolved": lazy_gettext("Dissolved"),
            "merged": lazy_gettext("Merged")}
ROLES = {
    "tenant_admin": lazy_gettext("Tenant admin"),
    "federation_admin": lazy_gettext("Federation admin"),
    "chairman": lazy_gettext("Chairman"),
    "operator": lazy_gettext("Operator"),
    "member": lazy_gettext("Member"),
}


# --- scope -------------------------------------------------------------------------------------------------------


def visible_units(session, user, permission: str) -> sa.ColumnElement:
    """The units ``user`` may use ``permission`` on: covered by a union in their subtrees, or without a union in
    the area of a federation they act for (docs/units.md; the same clause as the API's)."""
    roots = scope_paths(user, permission)
    return unit_registry.within(roots, unit_registry.federation_areas(session, roots))


def reaches_person(user, permission: str, home: Organization | None) -> bool:
    """Does ``user`` hold ``permission`` over a person whose newest membership is at ``home``? A person with no
    membership at all is reached by tenant-wide holders only (docs/people.md)."""
    if scope_paths(user, permission) == WHOLE_TENANT:
        return True
    return home is not None and in_scope(user, permission, home.path)


# --- forms -------------------------------------------------------------------------------------------------------


@dataclass
class Refusal:
    """Why a form was refused: a message above the form, and a message per wrong field (what core's form macros
    show; the first wrong field takes the focus). ``step`` names the form of a page that has several."""

    message: str
    fields: dict[str, str] = field(default_factory=dict)
    status: int = 422
    step: str = ""

    @classmethod
    def of(cls, error: DomainError, step: str = "") -> "Refusal":
        fields = {name: "；".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
                  for name, messages in error.errors.items()}
        message = _("Check the fields marked below.") if fields else error.message
        return cls(message, fields, error.status, step)

    @property
    def first(self) -> str | None:
        return next(iter(self.fields), None)


def stale() -> Refusal:
    return Refusal(_("Someone else changed this while you were editing. Your input is kept below: check the "
                     "current values and send it again."), {}, 409)


def version_matches(obj, version_field: str = "version") -> bool:
    """The form's hidden ``version`` is the row's current version (the pages' If-Match)."""
    return request.form.get(version_field, "") == str(obj.version)


def refused(template: str, refusal: Refusal, **context):
    """The page again, with what was typed (``form``) and what is wrong (``refusal``)."""
    return make_response(render_page(template, refusal=refusal, form=request.form, **context), refusal.status)


def int_arg(name: str) -> int | None:
    value = request.values.get(name, "").strip()
    return int(value) if value.isdigit() else None
