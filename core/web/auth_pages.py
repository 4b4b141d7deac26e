"""The sign-in pages: ``/login`` (user name and password), ``/login/sms`` (phone and a code sent by SMS, for
workers and chairmen), ``/logout`` (POST; optionally everywhere), ``/password`` (change it; sign out everywhere).

They answer on a tenant's addresses, and ``/login`` and ``/password`` on a platform host for platform admins.
Every form carries the session's CSRF token (``csrf_token()`` in any template); ``core.auth.authenticate``
refuses a form without it before any view runs. The sign-in logic is ``core.auth.login``'s; these views call it,
keep what was typed (never a password) and name the field an error is about (``field``), so the page marks it.
"""
from __future__ import annotations

import functools

from flask import Blueprint, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _

from core import audit
from core.app import db_session, unit_of_work
from core.auth import accounts, login, passwords
from core.auth.callers import csrf_token, sign_in, sign_out
from core.errors import DomainError, InvalidInput, NotFound
from core.web import render_page

blp = Blueprint("auth_pages", __name__)


@blp.app_context_processor
def _template_helpers():
    return {"csrf_token": csrf_token}


def _address() -> str:
    return request.remote_addr or "unknown"


def _tenant_id() -> int | None:
    return g.tenant.id if g.get("tenant") is not None else None


def _next() -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    target = request.values.get("next", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _go(path: str):
    return redirect(request.script_root + path, code=303)


#: Which input a refusal is about, by the error's code, where the code says (a wrong password or code; a lock
#: or a wait is about no field).
FIELD_OF = {"login": {"wrong_credentials": "password", "account_inactive": "username"},
            "sms": {"wrong_credentials": "code"},
            "password": {"wrong_credentials": "current_password"}}


def _refused(template: str, error: DomainError, field: str | None = None, **context):
    response = make_response(render_page(template, error=error.message, field=field, **context), error.status)
    if isinstance(error, login.TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def signed_in_page(view):
    """A page for signed-in users: anyone else is sent to sign in and brought back."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            here = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
            return redirect(url_for("auth_pages.login_page", next=here), code=303)
        return view(*args, **kwargs)

    return wrapper


@blp.route("/login", methods=["GET", "POST"])
def login_page():
    form = {"next": _next(), "username": request.form.get("username", "")}
    if request.method == "GET":
        return render_page("core/auth/login.html", **form)
    try:
        user = login.sign_in_with_password(
            db_session(), unit_of_work, tenant_id=_tenant_id(), username=form["username"],
            password=request.form.get("password", ""), address=_address(),
        )
    except DomainError as error:
        return _refused("core/auth/login.html", error, FIELD_OF["login"].get(error.code), **form)
    sign_in(user)
    return _go(form["next"])


@blp.route("/login/sms", methods=["GET", "POST"])
def sms_page():
    if g.get("tenant") is None:
        raise NotFound("a platform admin signs in with a password")
    form = {"next": _next(), "phone": request.form.get("phone", "").strip()}
    if request.method == "GET":
        return render_page("core/auth/login_sms.html", **form)
    try:
        if request.form.get("action") == "send":
            login.send_sign_in_code(db_session(), unit_of_work, tenant_id=g.tenant.id, phone=form["phone"],
                                    address=_address())
            return render_page("core/auth/login_sms.html", sent=True, **form)
        user = login.sign_in_with_code(db_session(), unit_of_work, tenant_id=g.tenant.id, phone=form["phone"],
                                       code=request.form.get("code", ""), address=_address())
    except InvalidInput:
        error = InvalidInput(_("Enter a valid 11-digit mobile number."))
        return _refused("core/auth/login_sms.html", error, "phone", **form)
    except DomainError as error:
        return _refused("core/auth/login_sms.html", error, FIELD_OF["sms"].get(error.code), **form)
    sign_in(user)
    return _go(form["next"])


@blp.route("/logout", methods=["POST"])
def logout():
    """Sign out here; with ``everywhere`` end every session of the user (and with ``revoke_tokens`` their API
    tokens too)."""
    user = g.get("user")
    everywhere = user is not None and bool(request.form.get("everywhere"))
    if everywhere:
        accounts.sign_out_everywhere(db_session(), user, actor=user,
                                     revoke_tokens=bool(request.form.get("revoke_tokens")))
    elif user is not None:
        audit.record(db_session(), "user.sign_out", obj=user, actor=user)
    sign_out()
    flash(_("You have signed out on every device.") if everywhere else _("You have signed out."))
    return redirect(url_for("auth_pages.login_page"), code=303)


@blp.route("/password", methods=["GET", "POST"])
@signed_in_page
def password_page():
    if request.method == "GET":
        return render_page("core/auth/password.html")
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password_again", ""):
        return _refused("core/auth/password.html", InvalidInput(_("The two new passwords differ.")), "new_password_again")
    problems = passwords.password_problems(new, username=g.user.username)
    if problems:
        message = _("New password: %(problems)s.", problems="；".join(passwords.PROBLEMS[p][1] for p in problems))
        return _refused("core/auth/password.html", InvalidInput(message), "new_password")
    try:
        login.check_current_password(db_session(), unit_of_work, g.user, request.form.get("current_password", ""),
                                     _address())
    except DomainError as error:
        return _refused("core/auth/password.html", error, FIELD_OF["password"].get(error.code))
    accounts.change_password(db_session(), g.user, new=new)
    sign_in(g.user)  # this browser carries on; every other session of the user has ended
    flash(_("Your password is changed. Every other device has been signed out."))
    return _go("/password")
