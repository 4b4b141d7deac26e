"""Users and their roles: list, create, read, change, deactivate; grant and revoke roles; unlock; sign out
everywhere. Every list and lookup goes through ``accounts.visible_users``: a federation admin sees the users who
hold a role in their subtree, and any other id is 404."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core.api.base import ApiBlueprint
from core.api.etag import require_if_match, set_etag
from core.api.pagination import page_of
from core.app import db_session
from core.auth import accounts, login
from core.auth.permissions import ROLES, check, require, require_signed_in
from core.auth.scope import WHOLE_TENANT, grant_paths, in_scope, scope_paths
from core.errors import NotFound
from core.masking import mask_phone
from core.models.organization import Organization
from core.models.user import ApiToken, RoleGrant, User
from core.registry import people

blp = ApiBlueprint("users", __name__, description="Users of the tenant and the roles they hold")

class UtcDateTime(fields.DateTime):
    """Times are stored as naive UTC; the API says so (``2026-11-23T08:00:00+00:00``)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


def _time():
    return UtcDateTime(dump_only=True, allow_none=True)


class GrantSchema(Schema):
    id = fields.Integer(dump_only=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    organization_id = fields.Integer(load_default=None, allow_none=True,
                                     metadata={"description": "leave out (null) only for tenant_admin"})
    organization_name = fields.String(dump_only=True, allow_none=True)


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(required=True, validate=validate.Length(min=2, max=64))
    display_name = fields.String(load_default="", validate=validate.Length(max=100))
    phone = fields.String(load_default=None, allow_none=True,
                          metadata={"description": "a mainland mobile number; always shown masked"})
    password = fields.String(load_only=True, load_default=None, allow_none=True,
                             metadata={"description": "leave out for a user who signs in by SMS code"})
    active = fields.Boolean(dump_only=True)
    grants = fields.List(fields.Nested(GrantSchema), load_default=list)
    last_login_at = _time()
    locked_until = _time()
    created_at = _time()
    version = fields.Integer(dump_only=True)


class UserUpdateSchema(Schema):
    display_name = fields.String(validate=validate.Length(max=100))
    phone = fields.String(allow_none=True)
    password = fields.String(load_only=True, metadata={"description": "a reset: every session of the user ends"})
    active = fields.Boolean(metadata={"description": "false deactivates: sessions end and tokens stop working"})


class UserQuerySchema(Schema):
    q = fields.String(metadata={"description": "part of the user name or display name"})
    role = fields.String(validate=validate.OneOf(ROLES))
    organization_id = fields.Integer(metadata={"description": "holds a role at exactly this organization"})
    phone = fields.String(metadata={"description": "the whole mobile number"})
    active = fields.Boolean()


class SignOutEverywhereSchema(Schema):
    revoke_tokens = fields.Boolean(load_default=False, metadata={"description": "revoke your API tokens too"})


class SignedOutSchema(Schema):
    tokens_revoked = fields.Integer()


class PersonLinkSchema(Schema):
    id_number = fields.String(required=True, metadata={"description": "the ID number of the user's own person"})


class PersonLinkedSchema(Schema):
    user_id = fields.Integer()
    person_id = fields.Integer()


class TokenListSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    scopes = fields.List(fields.String())
    active = fields.Boolean()
    created_at = _time()
    expires_at = _time()
    revoked_at = _time()
    last_used_at = _time()


# --- reading and showing ----------------------------------------------------------------------------------------


@blp.before_request
def _resolve_user() -> None:
    """Every route with a user id finds the user first, before its body is parsed: a user outside the caller's
    area is 404 whatever else the request says, exactly like an id that does not exist."""
    user_id = (request.view_args or {}).get("user_id")
    if user_id is not None:
        check(g.get("user"), "users.read")
        user = db_session().scalar(accounts.visible_users(g.user).where(User.id == user_id))
        if user is None:
            raise NotFound("no such user")
        g.target_user = user


def _target(manage: bool = True) -> User:
    """The user the path names; with ``manage``, one the caller may change (403 otherwise)."""
    user = g.target_user
    if manage:
        accounts.require_may_manage(g.user, user)
    return user


def _shown_grants(user: User, places: dict[int, tuple[str, str]], everything: bool) -> list[RoleGrant]:
    """The grants the caller may see, oldest first: all of their own, else those inside the caller's subtrees."""
    roots = () if everything else scope_paths(g.user, "users.read")
    shown = [
        grant for grant in user.grants
        if everything or roots == WHOLE_TENANT or (
            grant.organization_id in places and any(places[grant.organization_id][0].startswith(r) for r in roots))
    ]
    return sorted(shown, key=lambda grant: grant.id)


def _sees(user: User, grant: RoleGrant) -> bool:
    """Is ``grant`` one the caller is shown (inside their subtrees)?"""
    roots = scope_paths(g.user, "users.read")
    path = next(root for candidate, root, _active in grant_paths(user) if candidate is grant)
    return roots == WHOLE_TENANT or (grant.organization_id is not None and any(path.startswith(r) for r in roots))


def _dump_many(users: list[User], *, everything: bool = False) -> list[dict]:
    session = db_session()
    ids = {grant.organization_id for user in users for grant in user.grants if grant.organization_id}
    places: dict[int, tuple[str, str]] = {}  # id -> (path, name), one query for the whole page
    if ids:
        query = sa.select(Organization.id, Organization.path, Organization.name).where(Organization.id.in_(ids))
        places = {org_id: (path, name) for org_id, path, name in session.execute(query)}
    grants = {user.id: _shown_grants(user, places, everything) for user in users}
    locks = login.locked_until(session, g.tenant.id, [user.username for user in users])
    return [
        {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "phone": mask_phone(user.phone) if user.phone else None,
            "active": user.active,
            "grants": [{"id": grant.id, "role": grant.role, "organization_id": grant.organization_id,
                        "organization_name": places.get(grant.organization_id, ("", None))[1]}
                       for grant in grants[user.id]],
            "last_login_at": user.last_login_at,
            "locked_until": locks.get(user.username),
            "created_at": user.created_at,
            "version": user.version,
        }
        for user in users
    ]


def _dump(user: User, *, everything: bool = False) -> dict:
    set_etag(user)
    return _dump_many([user], everything=everything)[0]


def _filtered(statement: sa.Select, query: dict) -> sa.Select:
    if "q" in query:
        like = f"%{query['q'].strip().lower()}%"
        statement = statement.where(sa.or_(User.username.like(like), User.display_name.like(f"%{query['q']}%")))
    if "active" in query:
        statement = statement.where(User.active == query["active"])
    if "phone" in query:
        statement = statement.where(User.phone_index == accounts.phone_index(accounts.normalize_phone(query["phone"])))
    held = []
    if "role" in query:
        held.append(RoleGrant.role == query["role"])
    if "organization_id" in query:
        held.append(RoleGrant.organization_id == query["organization_id"])
    if held:
        statement = statement.where(sa.select(RoleGrant.id).where(RoleGrant.user_id == User.id, *held).exists())
    return statement


# --- endpoints ----------------------------------------------------------------------------------------------------


@blp.route("")
class Users(MethodView):
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserSchema(many=True))
    @blp.paginate()
    @require("users.read")
    def get(self, query, pagination_parameters):
        """List the users who hold a role in your area"""
        statement = _filtered(accounts.visible_users(g.user), query).order_by(User.username, User.id)
        return _dump_many(page_of(db_session(), statement, pagination_parameters))

    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    @require("users.manage")
    def post(self, data):
        """Create a user with roles in your area"""
        user = accounts.create_user(db_session(), actor=g.user, **data)
        return _dump(user)


@blp.route("/<int:user_id>")
class UserById(MethodView):
    @blp.response(200, UserSchema)
    @require("users.read")
    def get(self, user_id):
        """Read a user, with ETag"""
        return _dump(_target(manage=False))

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @require("users.manage")
    def patch(self, changes, user_id):
        """Change a user's name, phone or password, or deactivate them (``{"active": false}``); needs If-Match"""
        user = _target()
        require_if_match(user)
        accounts.update_user(db_session(), user, changes, actor=g.user)
        return _dump(user)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    @require_signed_in
    def get(self):
        """The caller, with every role they hold"""
        return _dump(g.user, everything=True)


@blp.route("/me/sign-out-everywhere", methods=["POST"])
@blp.arguments(SignOutEverywhereSchema)
@blp.response(200, SignedOutSchema)
@require_signed_in
def sign_out_everywhere(data):
    """End every web session of yours (copied cookies included); API tokens too with ``revoke_tokens``"""
    revoked = accounts.sign_out_everywhere(db_session(), g.user, actor=g.user, revoke_tokens=data["revoke_tokens"])
    return {"tokens_revoked": revoked}


@blp.route("/<int:user_id>/grants", methods=["POST"])
@blp.arguments(GrantSchema)
@blp.response(201, GrantSchema)
@require("users.manage")
def grant(data, user_id):
    """Grant a role at an organization in your area, no stronger than your own"""
    user = _target(manage=False)  # granting checks the role and the place itself
    created = accounts.grant_role(db_session(), user, role=data["role"], organization_id=data["organization_id"],
                                  actor=g.user)
    name = db_session().scalar(sa.select(Organization.name).where(Organization.id == created.organization_id))
    return {"id": created.id, "role": created.role, "organization_id": created.organization_id,
            "organization_name": name}


@blp.route("/<int:user_id>/grants/<int:grant_id>", methods=["DELETE"])
@blp.response(204)
@require("users.manage")
def revoke(user_id, grant_id):
    """Revoke a role you could have granted"""
    user = _target(manage=False)  # revoking checks the one grant itself
    found = next((grant for grant in user.grants if grant.id == grant_id), None)
    if found is None or not _sees(user, found):
        raise NotFound("no such role grant")
    accounts.revoke_role(db_session(), found, actor=g.user)


@blp.route("/<int:user_id>/unlock", methods=["POST"])
@blp.response(204)
@require("users.manage")
def unlock(user_id):
    """Lift the lock that wrong passwords put on a user's password sign-in"""
    user = _target()
    login.unlock(db_session(), user, actor=g.user)


@blp.route("/<int:user_id>/person", methods=["POST"])
@blp.arguments(PersonLinkSchema)
@blp.response(200, PersonLinkedSchema)
@require("users.manage")
def link_person(data, user_id):
    """Link a user's account to their own person in the registry, found by ID number (a person of your area);
    409 if another account is linked to that person"""
    user = _target()
    session = db_session()
    person = people.find_by_id_number(session, data["id_number"])
    home = people.home(session, person) if person is not None else None
    if person is None or not (scope_paths(g.user, "people.read") == WHOLE_TENANT
                              or (home is not None and in_scope(g.user, "people.read", home.path))):
        raise NotFound("no person with this ID number in your area", errors={"id_number": ["not registered"]})
    accounts.link_person(session, user, person, actor=g.user)
    return {"user_id": user.id, "person_id": person.id}


@blp.route("/<int:user_id>/tokens", methods=["GET"])
@blp.response(200, TokenListSchema(many=True))
@require("tokens.manage")
def tokens_of(user_id):
    """The API tokens of a user in your area (never the tokens themselves)"""
    from core.api.tokens import dump_token

    user = _target(manage=False)
    if db_session().scalar(accounts.visible_users(g.user, "tokens.manage").where(User.id == user.id)) is None:
        raise NotFound("no such user")
    found = db_session().scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    return [dump_token(token) for token in found]
