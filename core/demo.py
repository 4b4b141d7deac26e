"""The demo deployment: the Yichang and Changzhou tenants, their data, one user per role, the plugins a demo shows.

Each tenant gets its real districts and streets, its union tree grown to 200 organizations, 2,000 units and
5,000 people, most of them members (``core.demo_data``), and one user of each role: a tenant admin, a federation
admin of a county, the chairman and an operator of a grassroots union, and a member of that union whose account
is linked to their person (they sign in with an SMS code, which the console gateway shows).

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

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from core import demo_data, tenancy
from core.auth import accounts, create_token, hash_password
from core.db import utcnow
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.tenant import Tenant
from core.models.user import ApiToken, RoleGrant, User
from core.registry import organizations

DEMO_TENANTS = (
    {
        "slug": "yichang",
        "name": "宜昌市总工会",
        "branding": {
            "short_name": "宜昌工会",
            "primary_color": "#c8102e",
            "accent_color": "#f2b705",
            "footer": "宜昌市总工会 · 职工服务网",
            "contact_name": "市总工会组织部",
            "contact_phone": "0717-6222000",
            "contact_address": "宜昌市西陵区",
        },
    },
    {
        "slug": "changzhou",
        "name": "常州市总工会",
        "branding": {
            "short_name": "常州工会",
            "primary_color": "#0b5fa5",
            "accent_color": "#e8a317",
            "footer": "常州市总工会 · 工会服务卡",
            "contact_name": "市总工会网络中心",
            "contact_phone": "0519-8868000",
            "contact_address": "常州市新北区",
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
    grants = ()


TITLES = {"federation_admin": "管理员", "chairman": "主席", "operator": "工作人员"}
#: The staff and worker accounts of each demo tenant besides its admin: (name after the slug, role, where).
STAFF_ROLES = (("county", "federation_admin", "county"), ("chairman", "chairman", "union"),
               ("operator", "operator", "union"), ("member", "member", "union"))


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


def _staff(session: Session, tenant: Tenant, password_for) -> list[Login]:
    """One user per role below the tenant admin, all around one grassroots union and the member's own person."""
    membership = session.scalar(
        select(Membership).where(Membership.status == "active", Membership.parked.is_(False)).order_by(Membership.id)
    )
    union = session.get(Organization, membership.organization_id)
    places = {"union": union, "county": next(o for o in _ancestors(session, union) if o.kind == "county_federation")}
    person = session.get(Person, membership.person_id)
    logins = []
    for suffix, role, where in STAFF_ROLES:
        username = f"{tenant.slug}-{suffix}"
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            is_member = role == "member"
            user = accounts.create_user(
                session, actor=_DemoActor(), username=username, password=password_for(username),
                display_name=person.name if is_member else f"{places[where].name[:12]}{TITLES[role]}",
                phone=person.phone if is_member else None,
                grants=[{"role": role, "organization_id": places[where].id}],
            )
            if is_member:
                accounts.link_person(session, user, person, actor=_DemoActor())
        logins.append(Login(tenant.slug, username, password_for(username), role, _fresh_token(session, user)))
    return logins


def _ancestors(session: Session, organization: Organization) -> list[Organization]:
    ids = [int(part) for part in organization.path.strip("/").split("/")]
    return list(session.scalars(select(Organization).where(Organization.id.in_(ids)).order_by(Organization.depth.desc())))


def load(state, data_dir: Path) -> list[Login]:
    """Create (or find) the demo tenants, their plugins and admins; return the logins to print."""
    passwords = _passwords(data_dir)
    logins: list[Login] = []

    def password_for(key: str) -> str:
        # letters and digits, and a symbol: every password rule is met whatever the random part holds
        return passwords.setdefault(key, f"{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}")

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
                demo_data.load(session, tenant, actor=_DemoActor())
                username = f"{tenant.slug}-admin"
                user = _user(session, tenant, username, password_for(username), "tenant_admin")
                logins.append(Login(tenant.slug, username, passwords[username], "tenant_admin", _fresh_token(session, user)))
                for login in _staff(session, tenant, password_for):
                    logins.append(login)
                state.plugins.tenant_hooks(session, tenant).demo_data(tenant=tenant, session=session)
    _analyze(state.db)
    _save_passwords(data_dir, passwords)
    return logins


def _analyze(database) -> None:
    """Refresh the planner's statistics once the demo's thousands of rows are in (PostgreSQL's autovacuum would
    get to it only later; until then it plans a unit search for 有限 as if the tables were empty: ~800 ms instead
    of a few). SQLite keeps statistics only when asked, so both engines are asked."""
    with database.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
