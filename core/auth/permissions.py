"""Roles and permissions: which roles hold which permission, and the one check every endpoint and page uses."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import current_app, g

from core.contributions import Permission
from core.errors import Forbidden, Unauthorized
from core.models.user import User

#: Strongest first. A role acts on the subtree of the organization it is held at.
ROLES = ("tenant_admin", "federation_admin", "chairman", "operator", "member")
#: Higher is stronger: nobody grants a role stronger than one they hold over the same organization.
ROLE_RANK = {role: len(ROLES) - index for index, role in enumerate(ROLES)}
_STAFF = ("tenant_admin", "federation_admin", "chairman", "operator")

CORE_PERMISSIONS = (
    Permission("tenant.manage", "管理本租户的品牌与设置", roles=("tenant_admin",)),
    Permission("plugins.manage", "为本租户启用、停用和配置插件", roles=("tenant_admin",)),
    Permission("audit.read", "查看辖区内的审计记录", roles=("tenant_admin", "federation_admin")),
    Permission("organizations.read", "查看辖区内的工会组织", roles=_STAFF),
    Permission("organizations.manage", "新建、修改、迁移、撤销与合并辖区内的工会组织", roles=("tenant_admin", "federation_admin")),
    Permission("regions.read", "查看行政区域", roles=_STAFF),
    Permission("regions.manage", "维护行政区域", roles=("tenant_admin",)),
    Permission("units.read", "查看辖区内的单位", roles=_STAFF),
    Permission("units.manage", "登记、修改辖区内的单位，设置覆盖单位的工会", roles=("tenant_admin", "federation_admin")),
    Permission("people.read", "查看辖区内的会员与职工（身份证号、手机号脱敏）", roles=_STAFF),
    Permission("people.manage", "登记、更正辖区内的会员与职工信息", roles=_STAFF),
    Permission("people.read_id_number", "查看完整身份证号（每次查看留痕）", roles=("tenant_admin", "federation_admin")),
    Permission("people.subject_access", "为本人导出其全部个人信息（个人信息查阅复制）", roles=("tenant_admin",)),
    Permission("memberships.manage", "办理辖区内的入会、转会、迁出、保留会籍与终止会籍", roles=("tenant_admin", "federation_admin", "chairman")),
    Permission("users.read", "查看辖区内的用户及其角色", roles=("tenant_admin", "federation_admin", "chairman")),
    Permission(
        "users.manage", "新建、修改、停用辖区内的用户，授予和收回角色", roles=("tenant_admin", "federation_admin", "chairman")
    ),
    Permission("tokens.manage", "查看和作废辖区内用户的 API 令牌", roles=("tenant_admin",)),
)


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

    def roles(self, permission: str) -> frozenset[str]:
        try:
            return self.roles_by_permission[permission]
        except KeyError:
            raise KeyError(f"unknown permission {permission!r}: declare it in a permissions hook") from None

    def allows(self, user: User | None, permission: str) -> bool:
        roles = self.roles(permission)
        if user is None:
            return False
        if user.is_platform_admin:
            return True
        return any(grant.role in roles for grant in user.grants)


def table() -> PermissionTable:
    return current_app.extensions["gonghui"].permissions


def token_allows(user: User, permission: str) -> bool:
    """An API token with scopes lends its user only those permissions, for the request it authenticated."""
    scopes = g.get("token_scopes")
    return not scopes or g.get("user") is not user or permission in scopes


def has_permission(user: User | None, permission: str) -> bool:
    return table().allows(user, permission) and token_allows(user, permission)


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


def require_signed_in(view):
    """Decorator for views any signed-in caller may use (their own tokens, their own password)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            raise Unauthorized("sign in or send an API token")
        return view(*args, **kwargs)

    return wrapper


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
