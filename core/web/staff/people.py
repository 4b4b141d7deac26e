"""Person lookup by ID number (身份证号查询) and a person's membership history (the ledger).

The ID number is typed into a POST form, never put in an address (addresses end up in logs and browser
histories). The person's page shows it masked; holders of ``people.read_id_number`` over the person see a "show
full number" button, and each press is on record (``core.registry.people.reveal_id_number``). A person outside
the caller's subtrees is "not registered", exactly like a number nobody has (the API's rule, docs/people.md).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g, make_response, redirect, request, url_for
from flask_babel import gettext as _

from core.app import db_session
from core.auth import has_permission, require
from core.errors import DomainError, NotFound
from core.id_numbers import age_on, today
from core.masking import mask_id_number, mask_phone
from core.models.membership import END_REASONS, STEPS
from core.models.organization import Organization
from core.models.person import SEXES
from core.models.unit import Unit
from core.registry import memberships, people
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page
from core.web.staff.common import Refusal, reaches_person, refused

READ, FULL_ID_NUMBER = "people.read", "people.read_id_number"


@core_pages.route("/people", methods=["GET", "POST"])
@signed_in_page
@require(READ)
def person_lookup():
    if request.method == "GET":
        return render_page("core/staff/person_lookup.html", refusal=None, form={})
    session = db_session()
    try:
        found = people.lookup(session, request.form.get("id_number", ""))
        home = found.organization or people.home(session, found.person)
        if not reaches_person(g.user, READ, home):
            raise NotFound("no person with this ID number", errors={"id_number": ["not registered"]})
    except DomainError as error:
        refusal = Refusal.of(error)
        if error.status == 404:
            refusal = Refusal(_("No one with this ID number is registered in your area."),
                              {"id_number": _("Not registered in your area.")}, 404)
        elif "id_number" in refusal.fields:
            refusal.fields["id_number"] = _("Not a valid ID number: 18 characters, the last a digit or X.")
        return refused("core/staff/person_lookup.html", refusal)
    return redirect(url_for("core_pages.person_detail", person_id=found.person.id), code=303)


def readable(person_id: int):
    """The person and their home organization, if the caller may read them; 404 otherwise."""
    session = db_session()
    try:
        person = people.person_by_id(session, person_id)
    except NotFound:
        raise NotFound(_("No such person.")) from None
    home = people.home(session, person)
    if not reaches_person(g.user, READ, home):
        raise NotFound(_("No such person."))
    return person, home


def _page(person, home, *, full_id_number: str | None = None):
    session = db_session()
    current = memberships.current(session, person)
    ledger = memberships.ledger(session, person)
    ids = {entry.organization_id for entry in ledger} | ({current.organization_id} if current else set())
    names = dict(session.execute(sa.select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all()) \
        if ids else {}
    unit = session.get(Unit, current.unit_id) if current is not None and current.unit_id else None
    return render_page(
        "core/staff/person.html", person=person, current=current, ledger=list(reversed(ledger)), names=names,
        unit=unit, steps=STEPS, end_reasons=END_REASONS, sexes=SEXES,
        id_number=full_id_number or mask_id_number(person.id_number), revealed=full_id_number is not None,
        may_reveal=has_permission(g.user, FULL_ID_NUMBER) and reaches_person(g.user, FULL_ID_NUMBER, home),
        age=age_on(person.birth_date, today()), masked_phone=mask_phone(person.phone) if person.phone else "",
    )


@core_pages.get("/people/<int:person_id>")
@signed_in_page
@require(READ)
def person_detail(person_id):
    return _page(*readable(person_id))


@core_pages.post("/people/<int:person_id>/id-number")
@signed_in_page
@require(FULL_ID_NUMBER)
def person_reveal(person_id):
    """Show the full ID number once, on this response only (not cached), and put the read on record."""
    person, home = readable(person_id)
    if not reaches_person(g.user, FULL_ID_NUMBER, home):
        raise NotFound(_("No such person."))
    response = make_response(_page(person, home, full_id_number=people.reveal_id_number(
        db_session(), person, actor=g.user)))
    response.headers["Cache-Control"] = "no-store"
    return response
