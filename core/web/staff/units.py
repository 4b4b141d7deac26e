"""Units (单位): search as you type, read one, change one.

The search is the registry's name search (``core.registry.unit_search``: any two characters from anywhere in the
name, exact names first), kept to the units the caller may read, by the same rule as the API (docs/units.md).
The page works as a plain form; a short script asks ``/units?q=...&fragment=1`` while the user types and puts
the answer in place, which WeChat's web view runs as well. The edit form keeps what was typed, names each wrong
field, and carries the version it was read at: a change made meanwhile by someone else is refused, not lost.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from core.app import db_session
from core.auth import check, has_permission, require
from core.errors import DomainError, Forbidden, InvalidInput, NotFound
from core.models.unit import ECONOMIC_TYPES, HEAD_COUNTS, INDUSTRIES, Unit
from core.registry import unit_search, units
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page
from core.web.staff.common import Refusal, refused, stale, version_matches, visible_units

READ, MANAGE = "units.read", "units.manage"
#: The form's text fields, in the order the form shows them.
TEXT_FIELDS = ("name", "credit_code", "registration_number", "organization_code", "address", "legal_representative")
#: What the registry says about a wrong field (core/registry/units.py, in English for the API), as a message id the
#: page says in its language; the numbers in it come along. A problem not listed is shown as the registry says it.
PROBLEMS = (
    (re.compile(r"^18 characters, not (?P<count>\d+)$"), "18 characters, not %(count)s."),
    (re.compile(r"^8 digits, then 10 digits"), "8 digits, then 10 digits or capital letters other than I, O, S, V and Z."),
    (re.compile(r"^the check (character|digit) .* does not match"), "The check character does not match: a character is mistyped."),
    (re.compile(r"^15 digits, not"), "15 digits."),
    (re.compile(r"^8 digits or capital letters and a check character"), "8 digits or capital letters and a check character, like 12345678-5."),
    (re.compile(r"^at most (?P<count>\d+) characters$"), "At most %(count)s characters."),
    (re.compile(r"^the full name as registered"), "The full name as registered, at least two characters."),
    (re.compile(r"^at most the number of employees \((?P<count>\d+)\)$"), "At most the number of employees (%(count)s)."),
    (re.compile(r"^not negative$"), "A whole number, 0 or more."),
    (re.compile(r"^the credit code \S+ holds the organisation code (?P<code>\S+)$"), "The credit code holds the organisation code %(code)s."),
    (re.compile(r"^another unit has it$"), "Another unit is registered with it."),
)


def search(session, query: str) -> list[unit_search.Hit]:
    """The registry's ranked name search, kept to the units the caller may read (the best ``LIMIT`` of them)."""
    hits = unit_search.search(session, query, limit=unit_search.CANDIDATES)
    if not hits:
        return []
    mine = set(session.scalars(sa.select(Unit.id).where(
        Unit.id.in_([hit.unit.id for hit in hits]), visible_units(session, g.user, READ))))
    return [hit for hit in hits if hit.unit.id in mine][:unit_search.LIMIT]


@core_pages.get("/units")
@signed_in_page
@require(READ)
def unit_list():
    session = db_session()
    query = request.args.get("q", "").strip()
    problem, hits = None, None
    if query:
        try:
            hits = search(session, query)
        except InvalidInput:
            problem = _("Type at least two characters of the name.")
    else:
        recent = session.scalars(
            sa.select(Unit).where(visible_units(session, g.user, READ))
            .options(selectinload(Unit.region), selectinload(Unit.covering_organization))
            .order_by(Unit.updated_at.desc(), Unit.id.desc()).limit(unit_search.LIMIT))
        hits = [unit_search.Hit(unit, "") for unit in recent]
    template = "core/staff/_unit_hits.html" if request.args.get("fragment") else "core/staff/units.html"
    return render_page(template, query=query, hits=hits, problem=problem)


def readable(unit_id: int) -> Unit:
    """The unit, if the caller may read it; 404 otherwise, as if it did not exist."""
    check(g.user, READ)
    session = db_session()
    unit = session.scalar(sa.select(Unit).where(Unit.id == unit_id, visible_units(session, g.user, READ)))
    if unit is None:
        raise NotFound(_("No such unit."))
    return unit


def _may_manage(unit: Unit) -> bool:
    session = db_session()
    return has_permission(g.user, MANAGE) and session.scalar(
        sa.select(Unit.id).where(Unit.id == unit.id, visible_units(session, g.user, MANAGE))) is not None


@core_pages.get("/units/<int:unit_id>")
@signed_in_page
@require(READ)
def unit_detail(unit_id):
    unit = readable(unit_id)
    return render_page("core/staff/unit.html", unit=unit, manage=_may_manage(unit), industries=INDUSTRIES,
                       economic_types=ECONOMIC_TYPES)


def _changes(form) -> tuple[dict, dict[str, str]]:
    """What the form asks to change, and the fields that are not even of the right shape (a count that is not a
    whole number)."""
    changes: dict = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    for code in ("credit_code", "registration_number", "organization_code"):
        changes[code] = changes[code] or None
    changes["industry"] = form.get("industry") or None
    changes["economic_type"] = form.get("economic_type") or None
    wrong: dict[str, str] = {}
    for count in HEAD_COUNTS:
        raw = form.get(count, "").strip()
        if not raw:
            changes[count] = None
        elif raw.isdigit():
            changes[count] = int(raw)
        else:
            wrong[count] = _("A whole number, 0 or more.")
    return changes, wrong


def said(problem: str) -> str:
    """The registry's ``problem`` with a field, in the page's language."""
    for pattern, message in PROBLEMS:
        found = pattern.search(problem)
        if found:
            return _(message, **found.groupdict())
    return problem


def _refusal(error: DomainError) -> Refusal:
    refusal = Refusal.of(error)
    refusal.fields = {name: "；".join(said(p) for p in problem.split("；")) for name, problem in refusal.fields.items()}
    return refusal


def _edit_page(unit: Unit, refusal: Refusal | None = None):
    context = dict(unit=unit, industries=INDUSTRIES, economic_types=ECONOMIC_TYPES, head_counts=HEAD_COUNTS,
                   text_fields=TEXT_FIELDS)
    if refusal is not None:
        return refused("core/staff/unit_edit.html", refusal, **context)
    return render_page("core/staff/unit_edit.html", refusal=None, form=None, **context)


@core_pages.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@signed_in_page
@require(MANAGE)
def unit_edit(unit_id):
    unit = readable(unit_id)
    if not _may_manage(unit):
        raise Forbidden(_("You may not change this unit."))
    if request.method == "GET":
        return _edit_page(unit)
    if not version_matches(unit):
        return _edit_page(unit, stale())
    changes, wrong = _changes(request.form)
    if wrong:
        return _edit_page(unit, Refusal(_("Check the fields marked below."), wrong))
    try:
        units.update(db_session(), unit, changes, actor=g.user)
    except DomainError as error:
        db_session().rollback()
        return _edit_page(readable(unit_id), _refusal(error))
    flash(_("The unit is saved."))
    return redirect(url_for("core_pages.unit_detail", unit_id=unit.id), code=303)
