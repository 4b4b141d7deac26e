"""Who is calling, and what they may do.

A caller is a ``User`` found from an API token (``Authorization: Bearer gh_...``) or a signed-in web session.
Roles are held at an organization (``RoleGrant``); a permission is granted to roles by core and by plugins
(``permissions`` hook). ``require(permission)`` is the one check every endpoint and page uses.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request
from flask import session as web_session
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.contributions import Permission
from core.db import utcnow
from core.errors import Forbidden, Unauthorized
from core.models.user import ApiToken, User

ROLES = ("tenant_admin", "federation_admin", "chairman", "operator", "member")
TOKEN_PREFIX = "gh_"

CORE_PERMISSIONS = (
    Permission("tenant.manage", "管理本租户的品牌与设置", roles=("tenant_admin",)),
    Permission("plugins.manage", "为本租户启用、停用和配置插件", roles=("tenant_admin",)),
    Permission("audit.read", "查看审计记录", roles=("tenant_admin",)),
)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, user: User, *, name: str, scopes: list[str] | None = None, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Make an API token for ``user``. The clear token is returned once and never stored."""
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        tenant_id=user.tenant_id,
        user_id=user.id,
        name=name,
        token_hash=_digest(clear),
        prefix=clear[:10],
        scopes=scopes or [],
        expires_at=expires_at,
    )
    session.add(token)
    return token, clear


def _user_from_token(session: Session, clear: str, tenant_id: int | None) -> User | None:
    query = select(ApiToken).where(ApiToken.token_hash == _digest(clear))
    if tenant_id is None:
        query = query.where(ApiToken.tenant_id.is_(None))
    token = session.scalar(query)
    now = utcnow()
    if token is None or token.revoked_at or (token.expires_at and token.expires_at <= now):
        return None
    if token.tenant_id != tenant_id or not token.user.active:
        return None
    token.last_used_at = now
    return token.user


def _user_from_web_session(session: Session, tenant_id: int | None) -> User | None:
    user_id = web_session.get("user_id")
    if user_id is None or web_session.get("tenant_id") != tenant_id:
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.tenant_id != tenant_id:
        return None
    if web_session.get("epoch") != user.session_epoch:
        return None
    return user


def authenticate(session: Session, tenant_id: int | None) -> User | None:
    """The caller of this request, or None. Cached on ``g`` for the request."""
    if "user" in g:
        return g.user
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = _user_from_token(session, header[7:].strip(), tenant_id)
        if user is None:
            raise Unauthorized("the API token is unknown, expired or revoked")
    else:
        user = _user_from_web_session(session, tenant_id)
    g.user = user
    return user


def sign_in(user: User) -> None:
    web_session.clear()
    web_session.update(user_id=user.id, tenant_id=user.tenant_id, epoch=user.session_epoch)


@dataclass(frozen=True)
class PermissionTable:
    """Which roles hold which permission, from core and every loaded plugin."""

    roles_by_permission: dict[str, frozenset[str]]

    @classmethod
    def build(cls, permissions: list[Permission]) -> "PermissionTable":
        table: dict[str, set[str]] = {}
        for permission in permissions:
            table.setdefault(permission.name, set()).update(permission.roles)
        return cls({name: frozenset(roles) for name, roles in table.items()})

    def allows(self, user: User | None, permission: str) -> bool:
        if permission not in self.roles_by_permission:
            raise KeyError(f"unknown permission {permission!r}: declare it in a permissions hook")
        if user is None:
            return False
        if user.is_platform_admin:
            return True
        roles = self.roles_by_permission[permission]
        return any(grant.role in roles for grant in user.grants)


def has_permission(user: User | None, permission: str) -> bool:
    return current_app.extensions["gonghui"].permissions.allows(user, permission)


def check(user: User | None, permission: str) -> None:
    if user is None:
        raise Unauthorized("sign in or send an API token")
    if not has_permission(user, permission):
        raise Forbidden(f"you do not have the permission {permission}")


def require(permission: str):
    """Decorator for views: the caller must hold ``permission`` in the current tenant."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            check(g.get("user"), permission)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_platform_admin(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        user = g.get("user")
        if user is None:
            raise Unauthorized("sign in or send an API token")
        if not user.is_platform_admin:
            raise Forbidden("only a platform admin may do this")
        return view(*args, **kwargs)

    return wrapper
