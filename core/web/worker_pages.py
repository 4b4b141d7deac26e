"""Worker pages (mobile first, 360 px, inside WeChat's web view: plain forms, no script needed).

- ``/signup`` (注册): real name, ID number, phone proved by an SMS code, then a password or SMS-only sign-in; the
  logic is ``core.auth.signup``'s.
- ``/me`` (我的会籍): the signed-in worker's own person (``user.person_id``), their current membership and its
  history; ``/me/export`` downloads everything held about them (个人信息查阅复制). Nobody else's.
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, flash, g, redirect, request, session as web_session, url_for
from flask_babel import gettext as _

from core.app import db_session, unit_of_work
from core.auth import signup
from core.auth.callers import sign_in
from core.errors import DomainError, NotFound
from core.masking import mask_card_number, mask_id_number, mask_phone
from core.models.membership import END_REASONS, STEPS
from core.models.organization import Organization
from core.models.person import Person
from core.models.unit import Unit
from core.registry import memberships, people
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page

#: Where the web session keeps the sign-up code that was sent (``signup.SentCode``).
SENT_CODE = "sign_up_code"
#: The sign-up form's fields, in order; the first one an error names takes the focus.
SIGN_UP_FIELDS = ("name", "id_number", "phone", "code", "username", "password")


def _own_person():
    person_id = getattr(g.user, "person_id", None)
    return db_session().scalar(sa.select(Person).where(Person.id == person_id)) if person_id is not None else None


@core_pages.get("/me")
@signed_in_page
def my_membership():
    session = db_session()
    person = _own_person()
    if person is None:
        return render_page("core/worker/my_membership.html", person=None)
    current = memberships.current(session, person)
    ledger = memberships.ledger(session, person)
    organization_ids = {e.organization_id for e in ledger} | ({current.organization_id} if current else set())
    names = _names(session, Organization, organization_ids)
    unit = session.get(Unit, current.unit_id) if current is not None and current.unit_id else None
    return render_page(
        "core/worker/my_membership.html", person=person, current=current, ledger=list(reversed(ledger)),
        names=names, unit=unit, steps=STEPS, end_reasons=END_REASONS, masked_id=mask_id_number(person.id_number),
        masked_phone=mask_phone(person.phone) if person.phone else "",
        masked_card=mask_card_number(current.card_number) if current is not None and current.card_number else "",
    )


@core_pages.get("/me/export")
@signed_in_page
def my_data():
    """Everything held about the signed-in worker, as a JSON file (the read is on record, as in the API)."""
    person = _own_person()
    if person is None:
        raise NotFound(_("Your account is not linked to a member record yet. Ask your union's chairman to link it."))
    data = people.subject_access_export(db_session(), person, actor=g.user)
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    filename = f"{_('My data')}-{data['exported_at'][:10]}.json"
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response.headers["Cache-Control"] = "no-store"
    return response


def _names(session, model, ids) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(sa.select(model.id, model.name).where(model.id.in_(ids))).all())


# --- sign-up ------------------------------------------------------------------------------------------------------


@core_pages.route("/signup", methods=["GET", "POST"])
def sign_up_page():
    if g.get("tenant") is None:
        raise NotFound("workers sign up on their city's pages")
    if g.get("user") is not None:
        return redirect(url_for("core_pages.my_membership"), code=303)
    form = {key: request.form.get(key, "").strip() for key in ("name", "id_number", "phone", "username")}
    if request.method == "GET":
        return render_page("core/worker/sign_up.html", **form)
    session, address = db_session(), request.remote_addr or "unknown"
    try:
        applicant = signup.check_applicant(session, name=form["name"], id_number=form["id_number"],
                                           phone=form["phone"])
        if request.form.get("action") == "send":
            sent = signup.send_code(session, unit_of_work, tenant_id=g.tenant.id, applicant=applicant,
                                    address=address)
            web_session[SENT_CODE] = sent.as_json()
            return render_page("core/worker/sign_up.html", sent=True, **form)
        user = signup.sign_up(
            session, unit_of_work, tenant_id=g.tenant.id, applicant=applicant,
            sent=signup.SentCode.from_json(web_session.get(SENT_CODE)), code=request.form.get("code", ""),
            username=form["username"], password=request.form.get("password", ""), address=address)
    except DomainError as error:
        message, field = refusal(error)
        return render_page("core/worker/sign_up.html", error=message, field=field, **form), error.status
    sign_in(user)  # a new web session: the sent code goes with the old one
    flash(_("Welcome, %(name)s. Your account is ready.", name=user.display_name))
    return redirect(url_for("core_pages.my_membership"), code=303)


def refusal(error: DomainError) -> tuple[str, str | None]:
    """What the page says about ``error``, each wrong field by its label, and the first field it names."""
    if not error.errors:
        field = "code" if error.code == "wrong_credentials" else None
        return error.message, field
    labels = {"name": _("Real name"), "id_number": _("ID number"), "phone": _("Mobile number"),
              "code": _("Code from the text message"), "username": _("User name"), "password": _("Password")}
    named = [key for key in SIGN_UP_FIELDS if key in error.errors]
    message = _("; ").join(labels[key] + _(": ") + _(", ").join(said(p) for p in error.errors[key]) for key in named)
    return (message or error.message), (named[0] if named else None)


#: Problems that carry a value, as message ids with ``%(n)s`` (the others are message ids as they are).
_WITH_VALUE = (
    (re.compile(r"^at most (\d+) characters$"), "at most %(n)s characters"),
    (re.compile(r"^at least (\d+) characters$"), "at least %(n)s characters"),
    (re.compile(r"^the check character should be (\w)$"), "the check character should be %(n)s"),
    (re.compile(r"^18 characters \(or an old 15-digit number\); this has (\d+)$"),
     "18 characters (or an old 15-digit number); this has %(n)s"),
    (re.compile(r"^(\d{6}) is not an address code of the national table$"),
     "%(n)s is not an address code of the national table"),
)


def said(problem: str) -> str:
    """A field's problem (core speaks English message ids) in the page's language."""
    for pattern, message_id in _WITH_VALUE:
        found = pattern.match(problem)
        if found:
            return _(message_id, n=found.group(1))
    return _(problem)
