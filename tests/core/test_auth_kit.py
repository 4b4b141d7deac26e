"""What the sign-in and role tests share: a union tree in 宜昌, staff holding roles in it, and a browser.

No tests here; the fixtures are imported by the ``test_auth_*`` modules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from core import tenancy
from core.auth import accounts
from core.models.organization import Organization
from core.registry import organizations

PASSWORD = "yichang-2026!"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _Cli:
    """Tests act as the server's shell when they set up staff."""

    id = None
    username = "test"
    is_platform_admin = True
    grants = ()


@dataclass
class Tree:
    """宜昌市总工会 with two counties, each with one grassroots union."""

    tenant: object
    city: Organization
    yiling: Organization  # 夷陵区总工会
    yiling_union: Organization  # a grassroots union in 夷陵区
    xiling: Organization  # 西陵区总工会
    xiling_union: Organization  # a grassroots union in 西陵区


@pytest.fixture
def tree(make_tenant, db) -> Tree:
    tenant = make_tenant("yichang", name="宜昌市总工会", plugins=["sms_console"])
    with db() as session, tenancy.tenant_scope(tenant):
        city = organizations.create(session, name="宜昌市总工会", kind="city_federation")
        yiling = organizations.create(session, name="夷陵区总工会", kind="county_federation", parent=city)
        yiling_union = organizations.create(session, name="宜昌某某物流有限公司工会委员会", kind="grassroots_union",
                                            parent=yiling)
        xiling = organizations.create(session, name="西陵区总工会", kind="county_federation", parent=city)
        xiling_union = organizations.create(session, name="西陵某某商贸有限公司工会委员会", kind="grassroots_union",
                                            parent=xiling)
    return Tree(tenant, city, yiling, yiling_union, xiling, xiling_union)


@pytest.fixture
def staff(app, db):
    """``staff(tenant, "wang", ("chairman", org), phone=...)`` -> the user, made as the server's shell would."""

    def make(tenant, username, *roles, phone=None, password=PASSWORD):
        grants = [{"role": role, "organization_id": org.id if org is not None else None} for role, org in roles]
        with db() as session, tenancy.tenant_scope(tenant):
            return accounts.create_user(session, actor=_Cli(), username=username, display_name=username,
                                        phone=phone, password=password, grants=grants)

    return make


def token_for(app, db, tenant, user, scopes=()) -> str:
    from core.auth import create_token

    with db() as session, tenancy.tenant_scope(tenant):
        _token, clear = create_token(session, session.merge(user), name="test", scopes=list(scopes))
    return clear


class Browser:
    """A person at one address using the pages of one tenant (None: the platform host)."""

    def __init__(self, app, tenant=None, address="203.0.113.10"):
        self.client = app.test_client()
        self.prefix = f"/t/{tenant.slug}" if tenant is not None else ""
        self.address = address
        self._csrf = None

    def get(self, path, **kwargs):
        return self.client.get(self.prefix + path, environ_base={"REMOTE_ADDR": self.address}, **kwargs)

    def csrf_token(self) -> str:
        """What the sign-in form carries; the same until the session changes hands."""
        if self._csrf is None:
            self._csrf = _CSRF.search(self.get("/login").text).group(1)
        return self._csrf

    def submit(self, path, data, *, csrf=True, **kwargs):
        """Send a form as the page would (with its CSRF token unless ``csrf=False``)."""
        data = ({"csrf_token": self.csrf_token()} if csrf else {}) | data
        response = self.client.post(self.prefix + path, data=data, environ_base={"REMOTE_ADDR": self.address},
                                    **kwargs)
        if response.status_code == 303:
            self._csrf = None  # signing in or out starts a new session with a new token
        return response

    def sign_in(self, username, password=PASSWORD):
        return self.submit("/login", {"username": username, "password": password})

    def api(self, method, path, **kwargs):
        """The API as the page's scripts call it, with the session cookie."""
        headers = kwargs.pop("headers", {})
        if method.upper() not in ("GET", "HEAD"):
            headers.setdefault("X-CSRF-Token", self.csrf_token())
        return self.client.open(self.prefix + path, method=method, headers=headers,
                                environ_base={"REMOTE_ADDR": self.address}, **kwargs)

    def me(self):
        response = self.api("GET", "/api/v1/users/me")
        return response.json["username"] if response.status_code == 200 else None


def audit_actions(db, tenant, actor: str | None = None) -> list[str]:
    """The actions in the tenant's audit trail, oldest first (only ``actor``'s when given)."""
    from core.models.audit import AuditRecord

    query = sa.select(AuditRecord.action).order_by(AuditRecord.seq)
    if actor is not None:
        query = query.where(AuditRecord.actor == actor)
    with db() as session, tenancy.tenant_scope(tenant):
        return list(session.scalars(query))
