"""What the page tests share: the two demo cities with their branding, and people who sign in there."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from core import demo, tenancy
from core.auth import accounts
from core.registry import organizations

PASSWORD = "yichang-2026!"
PHONE = "13900001111"


class _Cli:
    id = None
    username = "test"
    is_platform_admin = True
    grants = ()


@dataclass
class Cities:
    yichang: object
    changzhou: object


@pytest.fixture
def cities(make_tenant, db) -> Cities:
    """宜昌 and 常州 with the demo's branding: in 宜昌 a chairman (王主席, ``wang``) and a member who signs in by
    SMS (李会员); in 常州 a tenant admin (赵管理员, ``zhao``)."""
    made = {}
    for spec in demo.DEMO_TENANTS:
        tenant = make_tenant(spec["slug"], name=spec["name"], plugins=["sms_console"])
        with db() as session:
            with tenancy.platform_scope("test: brand the tenant"):
                session.merge(tenant).branding = spec["branding"]
        made[spec["slug"]] = tenant
    with db() as session, tenancy.tenant_scope(made["yichang"]):
        city = organizations.create(session, name="宜昌市总工会", kind="city_federation")
        county = organizations.create(session, name="夷陵区总工会", kind="county_federation", parent=city)
        union = organizations.create(session, name="宜昌某某物流有限公司工会委员会", kind="grassroots_union", parent=county)
        accounts.create_user(session, actor=_Cli(), username="wang", display_name="王主席", password=PASSWORD,
                             grants=[{"role": "chairman", "organization_id": union.id}])
        accounts.create_user(session, actor=_Cli(), username="li", display_name="李会员", phone=PHONE,
                             grants=[{"role": "member", "organization_id": union.id}])
    with db() as session, tenancy.tenant_scope(made["changzhou"]):
        accounts.create_user(session, actor=_Cli(), username="zhao", display_name="赵管理员", password=PASSWORD,
                             grants=[{"role": "tenant_admin", "organization_id": None}])
    with db() as session:
        with tenancy.platform_scope("test: read the tenants again"):
            from core.models.tenant import Tenant

            fresh = {t.slug: t for t in session.query(Tenant)}
            session.expunge_all()
    return Cities(fresh["yichang"], fresh["changzhou"])


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Fill in the sign-in form on the page that shows it, and send it."""
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def sms_code(db, jobs, tenant, phone: str) -> str:
    """The newest code texted to ``phone`` (read from the sms_console gateway, once the outbox has delivered)."""
    import re

    import sqlalchemy as sa

    from plugins.sms_console.models import ConsoleMessage

    jobs.drain()
    with db() as session, tenancy.tenant_scope(tenant):
        text = session.scalars(sa.select(ConsoleMessage.text).where(ConsoleMessage.phone == phone)
                               .order_by(ConsoleMessage.id.desc())).first()
    return re.search(r"验证码为(\d{6})", text).group(1)


def valid_id_number(first17: str) -> str:
    """An ID number with its check character: ``valid_id_number("42050619850612001")``."""
    from core.id_numbers import check_character

    return first17 + check_character(first17)


class PageClient:
    """Flask's test client signed in through the sign-in form, as a browser would be: it sends the session's
    CSRF token with every form (``post``). For page tests a browser would add nothing to."""

    def __init__(self, app, tenant, username: str, password: str = PASSWORD):
        import re

        self.client, self.prefix = app.test_client(), f"/t/{tenant.slug}"
        page = self.client.get(f"{self.prefix}/login").get_data(as_text=True)
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        answer = self.post("/login", data={"username": username, "password": password})
        assert answer.status_code == 303, f"{username} could not sign in"
        page = self.client.get(f"{self.prefix}/").get_data(as_text=True)  # signing in made a new CSRF token
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def get(self, path: str, **kwargs):
        return self.client.get(self.prefix + path, **kwargs)

    def post(self, path: str, data=None, **kwargs):
        return self.client.post(self.prefix + path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


#: The actor of set-up done outside any request (what the CLI may do: everything in the tenant).
SETUP_ACTOR = _Cli()
