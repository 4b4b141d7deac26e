"""The plugin toolkit: the one module of core that plugins import.

Everything a plugin needs from core is here, under a name that stays stable across minor versions of core.
``TOOLKIT_VERSION`` follows semantic versioning: a minor bump adds names, a major bump may remove or change
them. Import nothing else from ``core``; a conformance test fails a plugin that does.
"""
from __future__ import annotations

from flask import g

from core import audit, calendar, id_numbers, masking, messages, outbox
from core.api.base import ApiBlueprint
from core.api.etag import require_if_match, set_etag
from core.api.pagination import page_of
from core.api.path_objects import resolve_path_object
from core.app import db_session, plugin_settings, unit_of_work
from core.applications import reservoir_for, screen
from core.auth import (
    WHOLE_TENANT,
    check,
    csrf_token,
    has_permission,
    in_scope,
    require,
    require_in_scope,
    scope_filter,
    scope_paths,
    subtree_bounds,
)
from core.auth.accounts import holders_of
from core.contributions import (
    DashboardWidget,
    Exporter,
    Importer,
    JinjaFilter,
    MenuItem,
    MessageTemplate,
    PeriodicJob,
    Permission,
    PrintableForm,
    ScreeningRefusal,
)
from core.db import Base, TenantOwned, Timestamped, Versioned, utcnow
from core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from core.events import Event, MembershipEnded, MembershipStarted, MembershipTransferred, emit
from core.integrations import (
    CardHolder,
    CardIssuer,
    CardRequest,
    CardResult,
    SmsGateway,
    SmsMessage,
    SmsResult,
)
from core.jobs import actor
from core.masking import mask_id_number, mask_phone
from core.models.membership import Membership
from core.models.organization import RESERVOIR_KINDS, Organization
from core.models.person import Person
from core.models.region import Region
from core.models.unit import Unit
from core.models.user import User
from core.plugins import PluginMeta, hookimpl
from core.registry import memberships, organizations, people, regions, unit_search, units
from core.rows import by_id
from core.secrets import MissingSecret, SecretRef
from core.secrets import resolve as resolve_secret
from core.tenancy import current_tenant, require_tenant, tenant_scope
from core.web import render_page
from core.web.staff.common import Refusal
from core.web.staff.dashboard import Bar, Chart


def current_user() -> User | None:
    """The signed-in user or token holder of this request, or None (added in 1.2)."""
    return g.get("user")


TOOLKIT_VERSION = "1.3"

__all__ = [
    "TOOLKIT_VERSION",
    # declaring a plugin
    "PluginMeta",
    "hookimpl",
    # what hooks return
    "DashboardWidget",
    "Exporter",
    "Importer",
    "JinjaFilter",
    "MenuItem",
    "MessageTemplate",
    "PeriodicJob",
    "Permission",
    "PrintableForm",
    "ScreeningRefusal",
    # data
    "Base",
    "TenantOwned",
    "Timestamped",
    "Versioned",
    "utcnow",
    "db_session",
    "unit_of_work",
    "plugin_settings",
    "current_tenant",
    "require_tenant",
    "tenant_scope",
    # API and pages
    "ApiBlueprint",
    "page_of",
    "require_if_match",
    "set_etag",
    "render_page",
    "Refusal",
    "Chart",
    "Bar",
    "require",
    "has_permission",
    "csrf_token",
    # data scope: which part of the union tree the caller may act on (added in 1.1)
    "WHOLE_TENANT",
    "scope_paths",
    "in_scope",
    "scope_filter",
    "require_in_scope",
    "subtree_bounds",
    "Organization",
    # the registries and who is calling (added in 1.2): the stable functions are listed in
    # docs/writing-plugins.md; each takes the caller's session and never commits
    "people",
    "units",
    "unit_search",
    "organizations",
    "regions",
    "memberships",
    "Person",
    "Unit",
    "Region",
    "Membership",
    "User",
    "RESERVOIR_KINDS",
    "current_user",
    "check",
    "holders_of",
    "id_numbers",
    "screen",
    "reservoir_for",
    # the object an id names (added in 1.3): found by id, and for a route found and scope-checked before its body
    "by_id",
    "resolve_path_object",
    # errors
    "DomainError",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    # events, audit, jobs, outbox, working days
    "Event",
    "MembershipEnded",
    "MembershipStarted",
    "MembershipTransferred",
    "emit",
    "audit",
    "actor",
    "outbox",
    "calendar",
    "messages",
    # personal data
    "masking",
    "mask_id_number",
    "mask_phone",
    # settings with secrets
    "SecretRef",
    "MissingSecret",
    "resolve_secret",
    # outside services
    "SmsGateway",
    "SmsMessage",
    "SmsResult",
    "CardIssuer",
    "CardHolder",
    "CardRequest",
    "CardResult",
]
