"""Data scope: which part of the union tree a caller may act on (like RuoYi's "department and below").

A role held at an organization acts on that organization's subtree and nothing else; a grant without an
organization acts on the whole tenant. Every query and endpoint asks the functions here. The caller's grants come
with the user, and each grant with its organization's path (one query for all of it, which the request makes to
know who is calling anyway); every check is string prefix tests in memory.
"""
from __future__ import annotations

import sqlalchemy as sa

from core.auth.permissions import check, table, token_allows
from core.errors import NotFound
from core.models.user import RoleGrant, User

WHOLE_TENANT: tuple[str, ...] = ("/",)
#: Where a grant's organization is not found: matches no path.
NOWHERE = ""


def subtree_bounds(path: str) -> tuple[str, str]:
    """The range of ``path`` values in the subtree rooted at ``path`` (itself included): ``[path, path + "~")``.

    Paths are ``/id/id/.../`` of digits and slashes, all below "~", so a range scan on an ordinary B-tree index
    finds a subtree on both engines, with no LIKE and no operator class.
    """
    return path, path + "~"


def grant_paths(user: User) -> list[tuple[RoleGrant, str, bool]]:
    """``(grant, root, active)`` for each of ``user``'s grants: root ``"/"`` for a grant without an organization,
    the organization's path otherwise (``NOWHERE`` if it is not found); ``active`` is False once the organization
    is dissolved or merged. The paths come with the grants (``RoleGrant.organization_path``), which come with
    the user: no query of its own."""
    return [
        (grant, WHOLE_TENANT[0], True) if grant.organization_id is None
        else (grant, grant.organization_path or NOWHERE, grant.organization_status == "active")
        for grant in user.grants
    ]


def narrowest(roots) -> tuple[str, ...]:
    """The roots that are not inside another root, sorted."""
    roots = {root for root in roots if root}
    if WHOLE_TENANT[0] in roots:
        return WHOLE_TENANT
    kept: list[str] = []
    for root in sorted(roots):  # a subtree's paths sort right after its root
        if not kept or not root.startswith(kept[-1]):
            kept.append(root)
    return tuple(kept)


def roots_for_roles(user: User, roles) -> tuple[str, ...]:
    """Roots of the subtrees where ``user`` holds one of ``roles`` at an active organization."""
    if user.is_platform_admin:
        return WHOLE_TENANT
    return narrowest(root for grant, root, active in grant_paths(user) if active and grant.role in roles)


def scope_paths(user: User | None, permission: str) -> tuple[str, ...]:
    """Roots of the subtrees where ``user`` holds ``permission``: ``WHOLE_TENANT`` for a grant without an
    organization (or a platform admin), () for none."""
    roles = table().roles(permission)
    if user is None or not token_allows(user, permission):
        return ()
    return roots_for_roles(user, roles)


def covers(root: str, path: str | None) -> bool:
    """Is ``path`` (None: the whole tenant) inside the subtree at ``root``?"""
    if root == WHOLE_TENANT[0]:
        return True
    return path is not None and path.startswith(root)


def in_scope(user: User | None, permission: str, path: str) -> bool:
    """May ``user`` use ``permission`` on the organization at ``path``?"""
    return any(path.startswith(root) for root in scope_paths(user, permission))


def subtree_filter(path_column, roots) -> sa.ColumnElement:
    """A WHERE clause limiting ``path_column`` to the subtrees at ``roots``: true when they include the whole
    tenant ("/"), false when there are none; a range scan per root otherwise (``subtree_bounds``)."""
    if WHOLE_TENANT[0] in roots:
        return sa.true()
    if not roots:
        return sa.false()
    return sa.or_(*[sa.and_(path_column >= low, path_column < high) for low, high in map(subtree_bounds, roots)])


def scope_filter(user: User | None, permission: str, path_column):
    """A WHERE clause limiting ``path_column`` to the caller's subtrees (false when they have none)."""
    return subtree_filter(path_column, scope_paths(user, permission))


def require_in_scope(user: User | None, permission: str, path: str) -> None:
    """Refuse an object outside the caller's subtrees as if it did not exist (404, never 403: an id of another
    subtree must not even be confirmed)."""
    check(user, permission)
    if not in_scope(user, permission, path):
        raise NotFound("not found")
