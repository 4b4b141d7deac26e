"""The sign-in pages: ``/login`` (user name and password), ``/login/sms`` (phone and a code sent by SMS, for
workers and chairmen), ``/logout`` (POST; optionally everywhere), ``/password`` (change it; sign out everywhere).

They answer on a tenant's addresses, and ``/login`` and ``/password`` on a platform host for platform admins.
Every form carries the session's CSRF token (``csrf_token()`` in any template); ``core.auth.authenticate``
refuses a form without it before any view runs.
"""
from __future__ import annotations

import functools

from flask import Blueprint, flash, g, make_response, redirect, request, url_for

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


def _refused(template: str, error: DomainError, **context):
    response = make_response(render_page(template, error=error.message, **context), error.status)
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
        return _refused("core/auth/login.html", error, **form)
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
        error = InvalidInput("请输入正确的 11 位手机号码。")
        return _refused("core/auth/login_sms.html", error, **form)
    except DomainError as error:
        return _refused("core/auth/login_sms.html", error, **form)
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
    flash("您已在所有设备上退出登录。" if everywhere else "您已退出登录。")
    return redirect(url_for("auth_pages.login_page"), code=303)


@blp.route("/password", methods=["GET", "POST"])
@signed_in_page
def password_page():
    if request.method == "GET":
        return render_page("core/auth/password.html")
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password_again", ""):
        return _refused("core/auth/password.html", InvalidInput("两次输入的新密码不一致。"))
    problems = passwords.password_problems(new, username=g.user.username)
    if problems:
        message = "新密码" + "；".join(passwords.PROBLEMS[p][1] for p in problems) + "。"
        return _refused("core/auth/password.html", InvalidInput(message))
    try:
        login.check_current_password(db_session(), unit_of_work, g.user, request.form.get("current_password", ""),
                                     _address())
    except DomainError as error:
        return _refused("core/auth/password.html", error)
    accounts.change_password(db_session(), g.user, new=new)
    sign_in(g.user)  # this browser carries on; every other session of the user has ended
    flash("密码已修改。其他设备上的登录已全部退出。")
    return _go("/password")
