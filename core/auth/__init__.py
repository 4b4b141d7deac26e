"""Who is calling, and what they may do.

A caller is a ``User`` found from an API token (``Authorization: Bearer gh_...``) or a signed-in web session.
Roles are held at an organization (``RoleGrant``) and act on its subtree; a permission is granted to roles by
core and by plugins (``permissions`` hook). ``require(permission)`` is the one check every endpoint and page
uses, and the scope functions (``scope_paths``, ``in_scope``, ``scope_filter``, ``require_in_scope``) the one
place that decides which part of the union tree a caller may act on. See docs/auth.md.

- ``permissions``: roles, permissions, ``require``;
- ``scope``: the data scope over the organization tree;
- ``callers``: ``authenticate`` (token or session), sessions, the CSRF check;
- ``passwords``, ``tokens``: argon2id hashes; API tokens;
- ``accounts``: users and role grants (create, change, grant, revoke), audited;
- ``login``: password and SMS-code sign-in, lockout and rate limits kept in the database;
- ``cli``: ``gonghui users ...``.
"""
from core.auth.callers import SESSION_MAX_AGE, authenticate, check_csrf, csrf_token, sign_in, sign_out
from core.auth.passwords import hash_password, verify_password
from core.auth.permissions import (
    CORE_PERMISSIONS,
    ROLE_RANK,
    ROLES,
    PermissionTable,
    check,
    has_permission,
    require,
    require_platform_admin,
    require_signed_in,
)
from core.auth.scope import (
    WHOLE_TENANT,
    in_scope,
    require_in_scope,
    scope_filter,
    scope_paths,
    subtree_bounds,
)
from core.auth.tokens import TOKEN_PREFIX, create_token

__all__ = [
    "CORE_PERMISSIONS",
    "ROLES",
    "ROLE_RANK",
    "SESSION_MAX_AGE",
    "TOKEN_PREFIX",
    "WHOLE_TENANT",
    "PermissionTable",
    "authenticate",
    "check",
    "check_csrf",
    "create_token",
    "csrf_token",
    "has_permission",
    "hash_password",
    "in_scope",
    "require",
    "require_in_scope",
    "require_platform_admin",
    "require_signed_in",
    "scope_filter",
    "scope_paths",
    "sign_in",
    "sign_out",
    "subtree_bounds",
    "verify_password",
]
