"""API tokens: make, list and revoke your own; revoke those of users in your area (``tokens.manage``; their list
is ``GET /api/v1/users/<id>/tokens``). A token is shown once, when it is made. On a platform host a platform
admin manages their own tokens here too."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core import audit
from core.api.base import ApiBlueprint
from core.api.users import UtcDateTime
from core.app import db_session
from core.auth import accounts, tokens
from core.auth.permissions import has_permission, require_signed_in, table
from core.db import utcnow
from core.errors import InvalidInput, NotFound
from core.models.user import ApiToken, User

blp = ApiBlueprint("tokens", __name__, description="API tokens: your own, and those of users in your area")

def _time():
    return UtcDateTime(dump_only=True, allow_none=True)


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    prefix = fields.String(dump_only=True, metadata={"description": "the first characters, to tell tokens apart"})
    scopes = fields.List(fields.String(), load_default=list, metadata={
        "description": "permissions the token may use; empty: every permission you hold"})
    expires_in_days = fields.Integer(load_only=True, load_default=90, validate=validate.Range(min=1, max=366))
    active = fields.Boolean(dump_only=True)
    created_at = _time()
    expires_at = _time()
    revoked_at = _time()
    last_used_at = _time()


class NewTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "shown this once; store it now"})


def dump_token(token: ApiToken) -> dict:
    return {
        "id": token.id, "user_id": token.user_id, "name": token.name, "prefix": token.prefix,
        "scopes": list(token.scopes or []), "active": tokens.is_active(token), "created_at": token.created_at,
        "expires_at": token.expires_at, "revoked_at": token.revoked_at, "last_used_at": token.last_used_at,
    }


def _check_scopes(scopes: list[str]) -> None:
    known = table().roles_by_permission
    bad = [s for s in scopes if s not in known or not has_permission(g.user, s)]
    if bad:
        raise InvalidInput("a token can only have permissions you hold", errors={"scopes": bad})
    if not scopes and g.get("token_scopes"):
        raise InvalidInput("a token with scopes makes only tokens with scopes inside its own",
                           errors={"scopes": ["name them"]})


@blp.route("")
class Tokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    @require_signed_in
    def get(self):
        """Your API tokens, newest first, with their last use (never the tokens themselves)"""
        found = db_session().scalars(
            sa.select(ApiToken).where(ApiToken.user_id == g.user.id).order_by(ApiToken.id.desc())
        )
        return [dump_token(token) for token in found]

    @blp.arguments(TokenSchema)
    @blp.response(201, NewTokenSchema)
    @require_signed_in
    def post(self, data):
        """Make an API token for yourself; the answer is the only time it is shown"""
        _check_scopes(data["scopes"])
        session = db_session()
        token, clear = tokens.create_token(
            session, g.user, name=data["name"], scopes=data["scopes"],
            expires_at=utcnow() + dt.timedelta(days=data["expires_in_days"]),
        )
        session.flush()
        audit.record(session, "token.create", obj=token, actor=g.user,
                     after={"name": token.name, "scopes": token.scopes, "expires_at": token.expires_at.isoformat()})
        return dump_token(token) | {"token": clear}


def _revocable(token_id: int) -> ApiToken:
    """Your own token, or one of a user in your area you could manage; any other id is 404."""
    query = sa.select(ApiToken).where(ApiToken.id == token_id)
    if g.get("tenant") is None:
        query = query.where(ApiToken.tenant_id.is_(None))  # platform scope sees every tenant: stay on the platform
    token = db_session().scalar(query)
    if token is None:
        raise NotFound("no such token")
    if token.user_id == g.user.id:
        return token
    if has_permission(g.user, "tokens.manage"):
        visible = db_session().scalar(
            accounts.visible_users(g.user, "tokens.manage").where(User.id == token.user_id)
        )
        if visible is not None:
            accounts.require_may_manage(g.user, visible)
            return token
    raise NotFound("no such token")


@blp.route("/<int:token_id>", methods=["DELETE"])
@blp.response(204)
@require_signed_in
def revoke(token_id):
    """Revoke a token: yours, or (tokens.manage) one of a user in your area. It stops working at once"""
    tokens.revoke(db_session(), _revocable(token_id), actor=g.user)
