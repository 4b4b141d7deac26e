"""The demo deployment: the Yichang and Changzhou tenants, their admins, and the plugins a demo shows.

Loading is idempotent: running ``gonghui demo`` again keeps what is there and prints the same logins. The
passwords are generated on the first run and kept in ``<data dir>/demo-logins.json`` (owner-only), so no
well-known password ever guards a demo that someone exposes by mistake.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import tenancy
from core.auth import create_token, hash_password
from core.db import utcnow
from core.models.tenant import Tenant
from core.models.user import ApiToken, RoleGrant, User
from core.registry import organizations

DEMO_TENANTS = (
    {
        "slug": "yichang",
        "name": "宜昌市总工会",
        "branding": {
            "primary_color": "#c8102e",
            "accent_color": "#f2b705",
            "footer": "宜昌市总工会 · 职工服务网",
            "contact_name": "市总工会组织部",
            "contact_phone": "0717-6222000",
        },
    },
    {
        "slug": "changzhou",
        "name": "常州市总工会",
        "branding": {
            "primary_color": "#0b5fa5",
            "accent_color": "#e8a317",
            "footer": "常州市总工会 · 工会服务卡",
            "contact_name": "市总工会网络中心",
            "contact_phone": "0519-8868000",
        },
    },
)

#: The development SMS gateway, so every flow of the demo can send (and show) its text messages.
DEMO_SMS_PLUGIN = "sms_console"


def demo_plugins(state, slug: str) -> list[str]:
    """What a demo tenant gets: the console SMS gateway and the city plugin named after the tenant, if loaded."""
    metas = {meta.name: meta for meta in state.plugins.metas()}
    wanted = [DEMO_SMS_PLUGIN] + [name for name, meta in metas.items() if meta.kind == "city" and name == slug]
    return [name for name in wanted if name in metas]


@dataclass(frozen=True)
class Login:
    tenant: str  # "" for the platform
    username: str
    password: str
    role: str
    token: str


class _DemoActor:
    id = None
    username = "demo"
    is_platform_admin = True


def _passwords(data_dir: Path) -> dict[str, str]:
    path = data_dir / "demo-logins.json"
    if path.exists():
        return json.loads(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    passwords: dict[str, str] = {}
    with os.fdopen(fd, "w") as handle:
        json.dump(passwords, handle)
    return passwords


def _save_passwords(data_dir: Path, passwords: dict[str, str]) -> None:
    (data_dir / "demo-logins.json").write_text(json.dumps(passwords, ensure_ascii=False, indent=2))


def _user(session: Session, tenant: Tenant | None, username: str, password: str, role: str | None) -> User:
    tenant_id = tenant.id if tenant is not None else None
    query = select(User).where(User.username == username)
    query = query.where(User.tenant_id.is_(None)) if tenant_id is None else query.where(User.tenant_id == tenant_id)
    user = session.scalar(query)
    if user is None:
        user = User(
            tenant_id=tenant_id,
            username=username,
            display_name=username,
            password_hash=hash_password(password),
            is_platform_admin=tenant is None,
        )
        session.add(user)
        session.flush()
        if role:
            session.add(RoleGrant(user_id=user.id, role=role))
    return user


def _fresh_token(session: Session, user: User) -> str:
    """A new demo token each run; the previous demo tokens of the user are revoked."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.name == "demo", ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _token, clear = create_token(session, user, name="demo")
    return clear


def load(state, data_dir: Path) -> list[Login]:
    """Create (or find) the demo tenants, their plugins and admins; return the logins to print."""
    passwords = _passwords(data_dir)
    logins: list[Login] = []

    def password_for(key: str) -> str:
        return passwords.setdefault(key, secrets.token_urlsafe(9))

    with state.db.unit_of_work() as session:
        with tenancy.platform_scope("demo: platform admin and tenants"):
            admin = _user(session, None, "admin", password_for("admin"), None)
            logins.append(Login("", "admin", passwords["admin"], "platform_admin", _fresh_token(session, admin)))
            tenants = []
            for spec in DEMO_TENANTS:
                tenant = session.scalar(select(Tenant).where(Tenant.slug == spec["slug"]))
                if tenant is None:
                    tenant = tenancy.create_tenant(session, actor=_DemoActor(), **spec)
                tenants.append(tenant)
        for tenant in tenants:
            with tenancy.tenant_scope(tenant):
                enabled = state.plugins.enabled(session, tenant)
                for name in demo_plugins(state, tenant.slug):
                    if name not in enabled:
                        state.plugins.enable(session, tenant, name, {}, actor=_DemoActor())
                organizations.load_demo(session, tenant.slug, actor=_DemoActor())
                username = f"{tenant.slug}-admin"
                user = _user(session, tenant, username, password_for(username), "tenant_admin")
                logins.append(Login(tenant.slug, username, passwords[username], "tenant_admin", _fresh_token(session, user)))
    _save_passwords(data_dir, passwords)
    return logins
