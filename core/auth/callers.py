"""Who is calling: the user behind an API token or a signed-in web session, and the CSRF check on every form.

A web session is a signed cookie holding the user, their tenant, the user's session epoch when it was issued,
when it was issued, and a CSRF token. It counts only in its tenant, only while the user is active, only while the
user's epoch is unchanged (sign out everywhere, a new password and deactivation bump it) and for at most
``SESSION_MAX_AGE``.
"""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
import time

from flask import g, request
from flask import session as web_session
from sqlalchemy.orm import Session

from core.auth.tokens import usable_token
from core.errors import Forbidden, Unauthorized
from core.models.user import User

#: A session older than this is refused whatever happens to it: a cookie copied and never used by its owner
#: again still dies.
SESSION_MAX_AGE = dt.timedelta(hours=12)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def authenticate(session: Session, tenant_id: int | None) -> User | None:
    """The caller of this request, or None. Cached on ``g`` for the request.

    Also the CSRF gate: a form (any page request that is not GET/HEAD/OPTIONS) and any API call that changes
    something on the strength of the session cookie must carry the session's CSRF token. A Bearer token is not
    sent by the browser by itself, so token calls need none.
    """
    if "user" in g:
        return g.user
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = usable_token(session, header[7:].strip(), tenant_id)
        if token is None:
            raise Unauthorized("the API token is unknown, expired or revoked")
        user = token.user
        g.token_scopes = frozenset(token.scopes or ())
    else:
        user = _user_from_web_session(session, tenant_id)
        if _changes_by_cookie(user):
            check_csrf()
    g.user = user
    return user


def _changes_by_cookie(user: User | None) -> bool:
    """Does this request change something on the strength of the browser's cookie? Every form does (signing in
    included: a forged sign-in would put the victim in the attacker's account); an API call does when a session
    signed it in. An address with no route is left to answer 404."""
    if request.method in SAFE_METHODS or request.url_rule is None:
        return False
    return user is not None or not request.path.startswith("/api/")


def _user_from_web_session(session: Session, tenant_id: int | None) -> User | None:
    user_id = web_session.get("user_id")
    if user_id is None or web_session.get("tenant_id") != tenant_id:
        return None
    issued = web_session.get("issued_at", 0)
    if time.time() - issued > SESSION_MAX_AGE.total_seconds():
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.tenant_id != tenant_id:
        return None
    if web_session.get("epoch") != user.session_epoch:
        return None
    return user


def sign_in(user: User) -> None:
    """Start a fresh session for ``user`` in this browser (a new cookie, a new CSRF token)."""
    web_session.clear()
    web_session.update(
        user_id=user.id, tenant_id=user.tenant_id, epoch=user.session_epoch, issued_at=int(time.time()),
        csrf=secrets.token_urlsafe(32),
    )


def sign_out() -> None:
    """Forget the session in this browser. A copy of the cookie elsewhere stays valid until it ages out or the
    user signs out everywhere."""
    web_session.clear()


def csrf_token() -> str:
    """The CSRF token of this browser's session; made on first use. Put it in every form as ``csrf_token``."""
    token = web_session.get("csrf")
    if not token:
        token = web_session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    expected = web_session.get("csrf", "")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        if request.path.startswith("/api/"):
            raise Forbidden(f"send the session's CSRF token in {CSRF_HEADER}", code="csrf_failed")
        raise Forbidden("页面已过期或表单并非来自本站，请刷新页面后重新提交。", code="csrf_failed")
