"""Users and their roles (用户与角色): create, change, deactivate, grant and revoke.

Plain functions over a session, each audited, none committing. Whoever acts (``actor``: a user, or the CLI) acts
only inside their own part of the union tree: they grant a role only at an organization in a subtree where they
hold ``users.manage``, and never a role stronger than the one they hold there; they change a user only if they
could have granted every role that user holds.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload

from core import audit, crypto
from core.auth import passwords, tokens
from core.auth.permissions import ROLE_RANK, ROLES, table
from core.auth.scope import WHOLE_TENANT, covers, grant_paths, roots_for_roles, scope_filter, scope_paths
from core.db import utcnow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.masking import mask_phone
from core.models.organization import FEDERATION_KINDS, RESERVOIR_KINDS, Organization
from core.models.user import RoleGrant, User

USERNAME = re.compile(r"^[\w.@-]{2,64}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
_UNION_KINDS = ("grassroots_union",) + RESERVOIR_KINDS
#: Where each role may be held; None: only the whole tenant (no organization).
ROLE_KINDS: dict[str, tuple[str, ...] | None] = {
    "tenant_admin": None,
    "federation_admin": FEDERATION_KINDS + ("industry_union",),
    "chairman": _UNION_KINDS,
    "operator": _UNION_KINDS,
    "member": _UNION_KINDS,
}
#: Roles whose holders must sign in with a password (an SMS code alone is too weak for their reach).
ADMIN_ROLES = ("tenant_admin", "federation_admin")
MANAGE = "users.manage"


def normalize_username(value: str) -> str:
    return (value or "").strip().lower()


def normalize_phone(value: str) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86 prefix dropped); InvalidInput otherwise."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    if not MOBILE.match(digits):
        raise InvalidInput("not a mainland mobile number", errors={"phone": ["11 digits starting with 1"]})
    return digits


def phone_index(phone: str) -> str:
    return crypto.blind_index("phone", phone)


def find_by_phone(session: Session, phone: str) -> User | None:
    """The user of the current tenant with this (normalized) phone."""
    return session.scalar(sa.select(User).where(User.phone_index == phone_index(phone)))


def holders_of(session: Session, organization: Organization, roles: tuple[str, ...]) -> list[User]:
    """The active users holding one of ``roles`` at ``organization`` itself (not above it): whom to tell that
    work waits there, by SMS to the phone on their account."""
    return list(session.scalars(
        sa.select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.organization_id == organization.id, RoleGrant.role.in_(roles), User.active.is_(True))
        .order_by(User.id).distinct()
        .options(lazyload(User.grants))  # phones are wanted here, not what the users may do
    ))


def snapshot(user: User) -> dict:
    """What the audit trail keeps of a user: the phone masked, no password."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "phone": mask_phone(user.phone) if user.phone else None,
        "active": user.active,
        "grants": [[grant.role, grant.organization_id] for grant in user.grants],
    }


# --- who may do what to whom ------------------------------------------------------------------------------------


def _grant_path(user: User, grant: RoleGrant) -> str | None:
    if grant.organization_id is None:
        return None
    return next(root for candidate, root, _active in grant_paths(user) if candidate is grant)


def may_grant(actor, role: str, path: str | None) -> bool:
    """May ``actor`` grant ``role`` at the organization at ``path`` (None: the whole tenant)?"""
    if actor.is_platform_admin:
        return True
    roles = table().roles(MANAGE)
    return any(
        active and grant.role in roles and ROLE_RANK[grant.role] >= ROLE_RANK[role] and covers(root, path)
        for grant, root, active in grant_paths(actor)
    )


def may_manage(actor, user: User) -> bool:
    """May ``actor`` change ``user``: could they have granted every role ``user`` holds?"""
    if actor.is_platform_admin:
        return True
    if not user.grants:
        return roots_for_roles(actor, table().roles(MANAGE)) == WHOLE_TENANT
    return all(may_grant(actor, grant.role, _grant_path(user, grant)) for grant in user.grants)


def require_may_manage(actor, user: User) -> None:
    if not may_manage(actor, user):
        raise Forbidden("this user holds a role you may not grant; ask someone above you")


def visible_users(actor, permission: str = "users.read") -> sa.Select:
    """Users the actor sees: those holding a role in the actor's subtrees (every user, for the whole tenant)."""
    query = sa.select(User)
    roots = scope_paths(actor, permission)
    if roots == WHOLE_TENANT:
        return query
    in_area = (
        sa.select(RoleGrant.id)
        .join(Organization, Organization.id == RoleGrant.organization_id)
        .where(RoleGrant.user_id == User.id, scope_filter(actor, permission, Organization.path))
    )
    return query.where(in_area.exists())


def _keep_a_tenant_admin(session: Session, *, without_grant: RoleGrant | None = None,
                         without_user: User | None = None) -> None:
    query = (
        sa.select(sa.func.count(sa.distinct(RoleGrant.user_id)))
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == "tenant_admin", RoleGrant.organization_id.is_(None), User.active)
    )
    if without_grant is not None:
        query = query.where(RoleGrant.id != without_grant.id)
    if without_user is not None:
        query = query.where(RoleGrant.user_id != without_user.id)
    if not session.scalar(query):
        raise Conflict("the tenant must keep at least one active tenant admin", code="last_tenant_admin")


def _holds_tenant_admin(user: User) -> bool:
    return any(grant.role == "tenant_admin" and grant.organization_id is None for grant in user.grants)


# --- users ------------------------------------------------------------------------------------------------------


def _check_password(password: str, username: str, field: str = "password") -> None:
    problems = passwords.password_problems(password, username=username)
    if problems:
        raise InvalidInput("the password is too weak", errors={field: [passwords.PROBLEMS[p][0] for p in problems]})


def _set_phone(session: Session, user: User, phone: str | None) -> None:
    if phone is None:
        user.phone = user.phone_index = None
        return
    phone = normalize_phone(phone)
    holder = find_by_phone(session, phone)
    if holder is not None and holder is not user:
        raise Conflict("another user has this phone", errors={"phone": ["taken"]})
    user.phone, user.phone_index = phone, phone_index(phone)


def _touch(user: User) -> None:
    """A change to a user's grants is a change to the user: its version (the ETag) moves."""
    user.updated_at = utcnow()


def create_user(
    session: Session, *, actor, username: str, display_name: str = "", phone: str | None = None,
    password: str | None = None, grants: list[dict] = (), platform_admin: bool = False,
) -> User:
    """A new user of the tenant in scope (a platform admin in platform scope) with ``grants``
    (``{"role": ..., "organization_id": ...}``). Someone without the whole tenant must give at least one role in
    their area, or the new user would be out of their sight."""
    username = normalize_username(username)
    if not USERNAME.match(username):
        raise InvalidInput("not a user name", errors={"username": ["2–64 letters, digits, '.', '_', '@' or '-'"]})
    if password is not None:
        _check_password(password, username)
    if not grants and not platform_admin and roots_for_roles(actor, table().roles(MANAGE)) != WHOLE_TENANT:
        raise InvalidInput("give the user a role in your area", errors={"grants": ["at least one"]})
    query = sa.select(User.id).where(User.username == username)
    if platform_admin:
        query = query.where(User.tenant_id.is_(None))
    if session.scalar(query) is not None:
        raise Conflict(f"the user name {username!r} is taken", errors={"username": ["taken"]})
    user = User(username=username, display_name=display_name or username, active=True,
                is_platform_admin=platform_admin, session_epoch=0)
    if password is not None:
        user.password_hash = passwords.hash_password(password)
    _set_phone(session, user, phone)
    session.add(user)
    session.flush()
    for grant in grants:
        grant_role(session, user, role=grant["role"], organization_id=grant.get("organization_id"), actor=actor)
    audit.record(session, "user.create", obj=user, after=snapshot(user), actor=actor)
    return user


def update_user(session: Session, user: User, changes: dict, *, actor) -> User:
    """Change ``display_name``, ``phone`` (None removes it), ``password`` (a reset) or ``active``. A new password
    or a deactivation ends every session of the user."""
    require_may_manage(actor, user)
    before = snapshot(user)
    if "display_name" in changes:
        user.display_name = changes["display_name"]
    if "phone" in changes:
        _set_phone(session, user, changes["phone"])
    if "password" in changes:
        _check_password(changes["password"], user.username)
        user.password_hash = passwords.hash_password(changes["password"])
        user.session_epoch += 1
    if "active" in changes and changes["active"] != user.active:
        if not changes["active"] and _holds_tenant_admin(user):
            _keep_a_tenant_admin(session, without_user=user)
        user.active = changes["active"]
        user.session_epoch += 1
    session.flush()
    action = "user.update"
    if before["active"] != user.active:
        action = "user.activate" if user.active else "user.deactivate"
    after = snapshot(user) | ({"password": "reset"} if "password" in changes else {})
    audit.record(session, action, obj=user, before=before, after=after, actor=actor)
    return user


def sign_out_everywhere(session: Session, user: User, *, actor, revoke_tokens: bool = False) -> int:
    """End every web session of ``user`` (any copied cookie included). API tokens keep working unless
    ``revoke_tokens``; returns how many tokens were revoked."""
    user.session_epoch += 1
    revoked = tokens.revoke_all(session, user, actor=actor) if revoke_tokens else 0
    audit.record(session, "user.sign_out_everywhere", obj=user, after={"tokens_revoked": revoked}, actor=actor)
    return revoked


def link_person(session: Session, user: User, person, *, actor) -> None:
    """Link ``user``'s account to their own ``person`` in the registry (None unlinks), so they can read what is held
    about them (``GET /api/v1/me/export``). A person has at most one account in a tenant."""
    require_may_manage(actor, user)
    person_id = person.id if person is not None else None
    if person_id is not None and session.scalar(
        sa.select(User.id).where(User.person_id == person_id, User.id != user.id)
    ) is not None:
        raise Conflict("another account is linked to this person", errors={"person_id": ["taken"]})
    before = {"person_id": user.person_id}
    user.person_id = person_id
    session.flush()
    audit.record(session, "user.link_person", obj=user, before=before, after={"person_id": person_id}, actor=actor)


def change_password(session: Session, user: User, *, new: str) -> None:
    """Set the user's own new password (the caller checked the current one). Every other session ends."""
    _check_password(new, user.username, field="new_password")
    user.password_hash = passwords.hash_password(new)
    user.session_epoch += 1
    audit.record(session, "user.password_change", obj=user, actor=user)


# --- roles ------------------------------------------------------------------------------------------------------


def _organization(session: Session, organization_id: int) -> Organization:
    organization = session.scalar(sa.select(Organization).where(Organization.id == organization_id))
    if organization is None:
        raise NotFound("no such organization", errors={"organization_id": ["not found"]})
    return organization


def grant_role(session: Session, user: User, *, role: str, organization_id: int | None, actor) -> RoleGrant:
    """Give ``user`` ``role`` at an organization: a federation admin at a federation or industry union, a
    chairman, operator or member at a grassroots union or a reservoir, a tenant admin at none (the whole
    tenant). An organization outside the actor's area is not found; a role stronger than the actor's is 403."""
    if role not in ROLES:
        raise InvalidInput("no such role", errors={"role": [f"one of {', '.join(ROLES)}"]})
    organization = _organization(session, organization_id) if organization_id is not None else None
    path = organization.path if organization is not None else None
    if organization is not None and not (actor.is_platform_admin or any(
        covers(root, path) for root in roots_for_roles(actor, table().roles(MANAGE))
    )):
        raise NotFound("no such organization", errors={"organization_id": ["not found"]})
    _check_place(role, organization)
    if not may_grant(actor, role, path):
        raise Forbidden("you may grant only roles no stronger than your own, inside your area")
    if any(g.role == role and g.organization_id == organization_id for g in user.grants):
        raise Conflict("the user holds this role there already", code="already_granted")
    grant = RoleGrant(user=user, role=role, organization_id=organization_id)
    session.add(grant)
    session.flush()
    _touch(user)
    audit.record(session, "role.grant", obj=grant, actor=actor, after={
        "user_id": user.id, "username": user.username, "role": role, "organization_id": organization_id,
        "organization": organization.name if organization is not None else None,
    })
    return grant


def _check_place(role: str, organization: Organization | None) -> None:
    kinds = ROLE_KINDS[role]
    if kinds is None and organization is not None:
        raise InvalidInput("a tenant admin acts on the whole tenant",
                           errors={"organization_id": ["leave it out for tenant_admin"]})
    if kinds is not None and organization is None:
        raise InvalidInput(f"a {role} is held at an organization", errors={"organization_id": ["required"]})
    if organization is not None and organization.kind not in kinds:
        raise InvalidInput(f"a {role} is held at a {' or '.join(kinds)}",
                           errors={"organization_id": [f"a {organization.kind} cannot have a {role}"]})
    if organization is not None and organization.status != "active":
        raise InvalidInput("the organization is closed", errors={"organization_id": [organization.status]})


def revoke_role(session: Session, grant: RoleGrant, *, actor) -> None:
    """Take ``grant`` away: only someone who could have granted it, and never the tenant's last tenant admin."""
    user = grant.user
    if not may_grant(actor, grant.role, _grant_path(user, grant)):
        raise Forbidden("you may revoke only roles you could grant")
    if grant.role == "tenant_admin" and grant.organization_id is None and user.active:
        _keep_a_tenant_admin(session, without_grant=grant)
    before = {"user_id": user.id, "username": user.username, "role": grant.role,
              "organization_id": grant.organization_id}
    audit.record(session, "role.revoke", obj=grant, before=before, actor=actor)
    user.grants.remove(grant)
    session.flush()
    _touch(user)
