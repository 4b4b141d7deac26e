"""Users, their roles and API tokens (用户、角色与令牌), for tenant admins and others who manage users.

The same rules as the API, from ``core.auth.accounts``: a caller sees the users holding a role in their
subtrees (any other user is 404), grants only roles no stronger than their own inside their area, and revokes only
what they could have granted. Holders of ``tokens.manage`` see and revoke the tokens of the users they see. Every
signed-in user makes and revokes their own tokens on ``/tokens``; a new token is shown once, on the page that
made it, never again.

Managers (``users.manage``) also create users with a first role in their area, deactivate and reactivate them,
reset a password, lift a lock and link an account to its person in the registry. A new or reset password is made
here (``passwords.one_time_password``), shown once on the page that made it (never cached), and every other
session of the user ends. A manager does none of this to themselves: their own password is changed on its page.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _

from core import audit
from core.app import db_session
from core.auth import WHOLE_TENANT, accounts, has_permission, login, passwords, require, scope_filter, scope_paths, tokens
from core.auth.scope import grant_paths
from core.db import utcnow
from core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from core.masking import mask_id_number, mask_phone
from core.models.organization import Organization
from core.models.person import Person
from core.registry import people
from core.models.user import ApiToken, User
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page
from core.web.staff.common import ROLES, Refusal, int_arg, reaches_person

READ, MANAGE, TOKENS = "users.read", "users.manage", "tokens.manage"
#: What a refused grant or revocation says, by the error's code (core.auth.accounts), in the page's words.
REFUSALS = {
    "forbidden": "You may grant and revoke only roles no stronger than your own, inside your area.",
    "already_granted": "The user holds this role there already.",
    "last_tenant_admin": "The city must keep at least one active tenant admin.",
}
PAGE_SIZE = 100
#: How long a token made on the page lives, in days, and the choices offered.
LIFETIMES = (30, 90, 180, 366)


def shown_grants(user: User) -> list[tuple[object, str | None]]:
    """``(grant, organization name)`` for the grants of ``user`` inside the caller's subtrees."""
    roots = scope_paths(g.user, READ)
    shown = [grant for grant, root, _active in grant_paths(user)
             if roots == WHOLE_TENANT or (grant.organization_id is not None and any(root.startswith(r) for r in roots))]
    ids = {grant.organization_id for grant in shown if grant.organization_id}
    names = dict(db_session().execute(sa.select(Organization.id, Organization.name).where(Organization.id.in_(ids)))
                 .all()) if ids else {}
    return [(grant, names.get(grant.organization_id)) for grant in sorted(shown, key=lambda grant: grant.id)]


@core_pages.get("/users")
@signed_in_page
@require(READ)
def user_list():
    query = request.args.get("q", "").strip()
    statement = accounts.visible_users(g.user).order_by(User.username, User.id).limit(PAGE_SIZE)
    if query:
        statement = statement.where(sa.or_(User.username.contains(query.lower(), autoescape=True),
                                           User.display_name.contains(query, autoescape=True)))
    found = list(db_session().scalars(statement))
    return render_page("core/staff/users.html", users=[(user, shown_grants(user)) for user in found], query=query,
                       roles=ROLES, limit=PAGE_SIZE, mask_phone=mask_phone, manage=has_permission(g.user, MANAGE))


def visible(user_id: int, permission: str = READ) -> User:
    user = db_session().scalar(accounts.visible_users(g.user, permission).where(User.id == user_id))
    if user is None:
        raise NotFound(_("No such user."))
    return user


def _grant_places() -> list[tuple[int, str]]:
    """The active organizations where the caller may grant roles (the choices of the grant form)."""
    return [(o.id, o.name) for o in db_session().scalars(
        sa.select(Organization)
        .where(scope_filter(g.user, MANAGE, Organization.path), Organization.status == "active")
        .order_by(Organization.path).limit(500))]


def _detail(user: User, refusal: Refusal | None = None, status: int = 200):
    session = db_session()
    sees_tokens = has_permission(g.user, TOKENS) and session.scalar(
        accounts.visible_users(g.user, TOKENS).where(User.id == user.id)) is not None
    found_tokens = list(session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))) if sees_tokens else []
    manage = has_permission(g.user, MANAGE)
    person = session.get(Person, user.person_id) if user.person_id else None
    body = render_page(
        "core/staff/user.html", target=user, grants=shown_grants(user), roles=ROLES, manage=manage,
        may_revoke=lambda grant: accounts.may_grant(g.user, grant.role, grant.organization_path
                                                    if grant.organization_id else None),
        places=_grant_places() if manage else [], tokens=found_tokens, sees_tokens=sees_tokens,
        is_active=tokens.is_active, masked_phone=mask_phone(user.phone) if user.phone else "",
        refusal=refusal, form=request.form if refusal else {},
        changes=manage and user.id != g.user.id and accounts.may_manage(g.user, user),
        locked_until=login.locked_until(session, g.tenant.id, [user.username]).get(user.username),
        person=person, person_id_number=mask_id_number(person.id_number) if person else "",
    )
    return make_response(body, status)


@core_pages.get("/users/<int:user_id>")
@signed_in_page
@require(READ)
def user_detail(user_id):
    return _detail(visible(user_id))


def _refusal(error: DomainError) -> Refusal:
    refusal = Refusal.of(error)
    if error.code in REFUSALS:
        refusal.message = _(REFUSALS[error.code])
    if "organization_id" in refusal.fields:
        refusal.fields["organization_id"] = _(
            "Not a place for this role: a federation admin sits at a federation or industry union, a chairman, "
            "operator or member at a grassroots union or a reservoir, a tenant admin at none.")
    return refusal


@core_pages.post("/users/<int:user_id>/grants")
@signed_in_page
@require(MANAGE)
def user_grant(user_id):
    user = visible(user_id)
    role = request.form.get("role", "")
    organization_id = int_arg("organization_id")
    if role not in ROLES:
        return _detail(user, Refusal(_("Check the fields marked below."), {"role": _("Choose a role.")}), 422)
    try:
        accounts.grant_role(db_session(), user, role=role, organization_id=organization_id, actor=g.user)
    except DomainError as error:
        db_session().rollback()
        return _detail(visible(user_id), _refusal(error), error.status)
    flash(_("The role is granted."))
    return redirect(url_for("core_pages.user_detail", user_id=user_id), code=303)


@core_pages.post("/users/<int:user_id>/grants/<int:grant_id>/revoke")
@signed_in_page
@require(MANAGE)
def user_revoke(user_id, grant_id):
    user = visible(user_id)
    grant = next((grant for grant, _name in shown_grants(user) if grant.id == grant_id), None)
    if grant is None:
        raise NotFound(_("No such role."))
    try:
        accounts.revoke_role(db_session(), grant, actor=g.user)
    except DomainError as error:
        db_session().rollback()
        return _detail(visible(user_id), _refusal(error), error.status)
    flash(_("The role is revoked."))
    return redirect(url_for("core_pages.user_detail", user_id=user_id), code=303)


@core_pages.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
@signed_in_page
@require(TOKENS)
def user_token_revoke(user_id, token_id):
    user = visible(user_id, TOKENS)
    token = db_session().scalar(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise NotFound(_("No such token."))
    if token.user_id != g.user.id:
        accounts.require_may_manage(g.user, user)
    tokens.revoke(db_session(), token, actor=g.user)
    flash(_("The token is revoked: it no longer works."))
    return redirect(url_for("core_pages.user_detail", user_id=user_id), code=303)


# --- create, deactivate, reset, unlock, link ---------------------------------------------------------------------

#: What a refused user form says next to each field, by field and the API's word for the problem.
FIELD_WORDS = {
    ("username", "taken"): "This user name is taken.",
    ("username", None): "2 to 64 letters, digits, '.', '_', '@' or '-'.",
    ("phone", "taken"): "Another user has this mobile number.",
    ("phone", None): "11 digits starting with 1.",
}


def _user_refusal(error: DomainError) -> Refusal:
    refusal = _refusal(error)
    for name in ("username", "phone"):
        if name in refusal.fields:
            word = "taken" if "taken" in str(error.errors.get(name)) else None
            refusal.fields[name] = _(FIELD_WORDS[name, word])
    if error.code == "forbidden":
        refusal.fields["role"] = _("A role no stronger than your own.")
    return refusal


def _new_user_page(refusal: Refusal | None = None):
    body = render_page("core/staff/user_new.html", roles=ROLES, places=_grant_places(), refusal=refusal,
                       form=request.form if refusal else {})
    return make_response(body, refusal.status if refusal else 200)


def _shown_once(template: str, **context):
    """A page with a one-time password: no copy of it in any cache."""
    response = make_response(render_page(template, **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@core_pages.route("/users/new", methods=["GET", "POST"])
@signed_in_page
@require(MANAGE)
def user_new():
    if request.method == "GET":
        return _new_user_page()
    form = request.form
    role, phone, sms_only = form.get("role", ""), form.get("phone", "").strip(), form.get("sms_only") == "1"
    errors = {}
    if role not in ROLES:
        errors["role"] = _("Choose a role.")
    elif sms_only and role in accounts.ADMIN_ROLES:
        errors["sms_only"] = _("Admins sign in with a password: an SMS code alone is too weak for their reach.")
    if sms_only and not phone:
        errors["phone"] = _("Signing in by SMS needs a mobile number.")
    if errors:
        return _new_user_page(Refusal(_("Check the fields marked below."), errors))
    password = None if sms_only else passwords.one_time_password()
    try:
        user = accounts.create_user(
            db_session(), actor=g.user, username=form.get("username", ""),
            display_name=form.get("display_name", "").strip()[:100], phone=phone or None, password=password,
            grants=[{"role": role, "organization_id": int_arg("organization_id")}])
    except DomainError as error:
        db_session().rollback()
        return _new_user_page(_user_refusal(error))
    return _shown_once("core/staff/user_password.html", target=user, password=password, created=True)


def _change(user_id: int, change, done: str):
    """Run ``change(user)`` on a user the caller may change (never themselves); then the detail page again, with
    the outcome, or with what was refused (the transaction rolled back). ``change`` may return its own page."""
    user = visible(user_id)
    try:
        if user.id == g.user.id:
            raise InvalidInput(_("Change your own password and account on your own pages, not here."))
        if not accounts.may_manage(g.user, user):
            raise Forbidden(_("This user holds a role you may not grant: ask someone above you."))
        result = change(user)
    except DomainError as error:
        db_session().rollback()
        refusal = Refusal(error.message, status=error.status) if error.code == "forbidden" else _refusal(error)
        return _detail(visible(user_id), refusal, error.status)
    if result is not None:
        return result
    flash(done)
    return redirect(url_for("core_pages.user_detail", user_id=user_id), code=303)


def _set_active(active: bool):
    def change(user: User) -> None:
        accounts.update_user(db_session(), user, {"active": active}, actor=g.user)

    return change


@core_pages.post("/users/<int:user_id>/deactivate")
@signed_in_page
@require(MANAGE)
def user_deactivate(user_id):
    return _change(user_id, _set_active(False),
                   _("The user is deactivated: signed out everywhere, and no sign-in works."))


@core_pages.post("/users/<int:user_id>/activate")
@signed_in_page
@require(MANAGE)
def user_activate(user_id):
    return _change(user_id, _set_active(True), _("The user is active again."))


@core_pages.post("/users/<int:user_id>/password")
@signed_in_page
@require(MANAGE)
def user_password_reset(user_id):
    def reset(user):
        password = passwords.one_time_password()
        accounts.update_user(db_session(), user, {"password": password}, actor=g.user)
        return _shown_once("core/staff/user_password.html", target=user, password=password, created=False)

    return _change(user_id, reset, "")


@core_pages.post("/users/<int:user_id>/unlock")
@signed_in_page
@require(MANAGE)
def user_unlock(user_id):
    return _change(user_id, lambda user: login.unlock(db_session(), user, actor=g.user),
                   _("The lock is lifted: the user may sign in with their password again."))


def _link(user: User) -> None:
    session = db_session()
    try:
        person = people.find_by_id_number(session, request.form.get("id_number", ""))
    except InvalidInput:
        raise InvalidInput("not an ID number", errors={
            "id_number": [_("Not a valid ID number: 18 characters, the last a digit or X.")]}) from None
    if person is None or not reaches_person(g.user, "people.read", people.home(session, person)):
        raise NotFound("no such person", errors={"id_number": [_("Not registered in your area.")]})
    try:
        accounts.link_person(session, user, person, actor=g.user)
    except Conflict:
        raise Conflict("linked elsewhere", errors={"id_number": [_("Another account is linked to this person.")]}) \
            from None


@core_pages.post("/users/<int:user_id>/person")
@signed_in_page
@require(MANAGE)
def user_person_link(user_id):
    return _change(user_id, _link, _("The account is linked to the person."))


@core_pages.post("/users/<int:user_id>/person/unlink")
@signed_in_page
@require(MANAGE)
def user_person_unlink(user_id):
    return _change(user_id, lambda user: accounts.link_person(db_session(), user, None, actor=g.user),
                   _("The account is no longer linked to a person."))


# --- your own tokens ----------------------------------------------------------------------------------------------


def _own_tokens_page(*, clear: str | None = None, refusal: Refusal | None = None, status: int = 200):
    found = list(db_session().scalars(
        sa.select(ApiToken).where(ApiToken.user_id == g.user.id).order_by(ApiToken.id.desc())))
    body = render_page("core/staff/tokens.html", tokens=found, clear=clear, refusal=refusal,
                       form=request.form if refusal else {}, is_active=tokens.is_active,
                       lifetimes=[(days, _("%(days)s days", days=days)) for days in LIFETIMES])
    response = make_response(body, status)
    if clear:
        response.headers["Cache-Control"] = "no-store"  # the token is shown once: no copy in a cache
    return response


@core_pages.route("/tokens", methods=["GET", "POST"])
@signed_in_page
def own_tokens():
    if request.method == "GET":
        return _own_tokens_page()
    name = request.form.get("name", "").strip()
    days = int_arg("expires_in_days")
    errors = {}
    if not name or len(name) > 100:
        errors["name"] = _("A name that says what the token is for, at most 100 characters.")
    if days not in LIFETIMES:
        errors["expires_in_days"] = _("Choose how long it works.")
    if errors:
        return _own_tokens_page(refusal=Refusal(_("Check the fields marked below."), errors), status=422)
    session = db_session()
    token, clear = tokens.create_token(session, g.user, name=name, expires_at=utcnow() + dt.timedelta(days=days))
    session.flush()
    audit.record(session, "token.create", obj=token, actor=g.user,
                 after={"name": token.name, "scopes": token.scopes, "expires_at": token.expires_at.isoformat()})
    return _own_tokens_page(clear=clear)


@core_pages.post("/tokens/<int:token_id>/revoke")
@signed_in_page
def own_token_revoke(token_id):
    token = db_session().scalar(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == g.user.id))
    if token is None:
        raise NotFound(_("No such token."))
    tokens.revoke(db_session(), token, actor=g.user)
    flash(_("The token is revoked: it no longer works."))
    return redirect(url_for("core_pages.own_tokens"), code=303)
