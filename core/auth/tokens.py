"""API tokens for programs: shown once, stored as SHA-256, bound to one user of one tenant, with scopes and an
expiry, revocable, their last use recorded to the minute."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from core import audit
from core.db import utcnow
from core.models.user import ApiToken, User

TOKEN_PREFIX = "gh_"
DEFAULT_LIFETIME = dt.timedelta(days=90)
#: A busy program would otherwise write its token row on every request.
LAST_USE_PRECISION = dt.timedelta(minutes=1)


def digest(token: str) -> str:
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
        token_hash=digest(clear),
        prefix=clear[:10],
        scopes=sorted(scopes or []),
        expires_at=expires_at,
    )
    session.add(token)
    return token, clear


def usable_token(session: Session, clear: str, tenant_id: int | None) -> ApiToken | None:
    """The token ``clear`` names if it is valid here (its tenant, not expired or revoked, its user active)."""
    query = sa.select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == digest(clear))
    if tenant_id is None:
        query = query.where(ApiToken.tenant_id.is_(None))
    token = session.scalar(query)
    now = utcnow()
    if token is None or token.revoked_at or (token.expires_at and token.expires_at <= now):
        return None
    if token.tenant_id != tenant_id or not token.user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        token.last_used_at = now
    return token


def is_active(token: ApiToken) -> bool:
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > utcnow())


def revoke(session: Session, token: ApiToken, *, actor) -> None:
    """Revoke ``token`` (nothing happens to one already revoked); audited."""
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    audit.record(session, "token.revoke", obj=token, before={"user_id": token.user_id, "name": token.name},
                 actor=actor)


def revoke_all(session: Session, user: User, *, actor) -> int:
    """Revoke every active token of ``user``; the number revoked."""
    tokens = session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        revoke(session, token, actor=actor)
    return len(tokens)
