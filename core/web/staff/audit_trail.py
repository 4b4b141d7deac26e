"""The audit trail (审计记录): search the tenant's records by object, user, action and day, newest first.

Scoped like the API (``core.audit.search`` with ``scope_filter`` on the record's ``scope_path``): a holder of
``audit.read`` over the whole tenant sees every record, one with grants at organizations the records located in
their subtrees. Days are Beijing time, as staff read them; the records keep UTC.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import g, request
from flask_babel import gettext as _

from core import audit
from core.app import db_session
from core.auth import require, scope_filter
from core.models.audit import AuditRecord
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page
from core.web.staff.common import Refusal

PERMISSION = "audit.read"
PAGE_SIZE = 50
BEIJING = dt.timezone(dt.timedelta(hours=8))
FILTERS = ("object_type", "object_id", "actor", "action")


def _day(name: str, errors: dict[str, str]) -> dt.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = _("A date such as 2026-11-23.")
        return None


def _utc(day: dt.date) -> dt.datetime:
    """Beijing midnight of ``day`` as naive UTC, the way the records keep their times."""
    return dt.datetime.combine(day, dt.time(), BEIJING).astimezone(dt.timezone.utc).replace(tzinfo=None)


def beijing(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def pretty(value) -> str:
    """A record's before or after, as staff read it (Chinese as itself, not escaped)."""
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


@core_pages.get("/audit")
@signed_in_page
@require(PERMISSION)
def audit_trail():
    errors: dict[str, str] = {}
    since, until = _day("since", errors), _day("until", errors)
    page = max(int(request.args["page"]), 1) if request.args.get("page", "").isdigit() else 1
    query = {name: request.args.get(name, "").strip() for name in FILTERS}
    records: list[AuditRecord] = []
    more = False
    if not errors:
        statement = audit.search(
            **{name: value for name, value in query.items() if value},
            since=_utc(since) if since else None,
            until=_utc(until + dt.timedelta(days=1)) if until else None,
        ).where(scope_filter(g.user, PERMISSION, AuditRecord.scope_path))
        found = list(db_session().scalars(statement.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
        records, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    refusal = Refusal(_("Check the fields marked below."), errors) if errors else None
    arguments = {**{k: v for k, v in query.items() if v},
                 **{k: request.args[k] for k in ("since", "until") if request.args.get(k)}}
    body = render_page("core/staff/audit.html", records=records, more=more, page=page, refusal=refusal,
                       form=request.args, arguments=arguments, beijing=beijing, pretty=pretty)
    return body, 422 if errors else 200
