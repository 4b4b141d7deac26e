"""The data-quality report (数据质量) on the staff pages: how many records of the caller's subtrees each check
finds, each list a page at a time, and its export. The checks are ``core.registry.quality``'s; who sees what is
decided as in the API, by ``quality.caller_scope``: a check needs ``<area>.read`` and counts only the caller's
subtrees.
"""
from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext

from core.app import db_session
from core.auth import has_permission, require
from core.errors import NotFound
from core.models.person import SEXES
from core.registry import quality
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page

#: Records a list shows per page.
PAGE_SIZE = 50
#: What ``missing`` names, as the page says it.
FIELD_LABELS = {
    "ethnicity": lazy_gettext("Ethnicity"), "education": lazy_gettext("Education"),
    "household_type": lazy_gettext("Household type"), "employment_form": lazy_gettext("Form of employment"),
    "unit": lazy_gettext("Unit"), "code": lazy_gettext("Credit code"), "region": lazy_gettext("Region"),
    "industry": lazy_gettext("Industry"), "economic_type": lazy_gettext("Economic type"),
    "employees": lazy_gettext("Employees"),
}


def _readable() -> list[quality.Check]:
    return [check for check in quality.CHECKS.values() if has_permission(g.user, quality.read_permission(check))]


@core_pages.get("/quality")
@signed_in_page
@require("people.read")
def quality_report():
    session = db_session()
    counts = [(check, quality.count(session, check, quality.caller_scope(session, g.user, check)))
              for check in _readable()]
    return render_page("core/quality/report.html", counts=counts)


@core_pages.get("/quality/<name>")
@signed_in_page
def quality_list(name: str):
    check = quality.CHECKS.get(name)
    if check is None:
        raise NotFound(f"no check {name}")
    session = db_session()
    scope = quality.caller_scope(session, g.user, check)
    total = quality.count(session, check, scope)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    records = quality.page(session, check, scope, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render_page("core/quality/list.html", check=check, records=records, total=total, page=number,
                       pages=pages, labels=FIELD_LABELS, sexes=SEXES)
