"""``gonghui users ...``: make users (tenant users with roles, or platform admins) and API tokens from the
server's shell, where whoever runs the command is trusted like a platform admin. Every change is audited as
made by "cli"."""
from __future__ import annotations

import datetime as dt

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from core import audit, tenancy
from core.auth import accounts, login, tokens
from core.db import utcnow
from core.errors import DomainError
from core.models.user import User


class _CliActor:
    id = None
    username = "cli"
    is_platform_admin = True
    grants = ()


def _parse_role(value: str) -> dict:
    role, _, organization = value.partition("@")
    if organization and not organization.isdigit():
        raise click.BadParameter(f"{value}: ROLE or ROLE@ORGANIZATION_ID")
    return {"role": role, "organization_id": int(organization) if organization else None}


def _in_scope_of(slug: str | None, work):
    """Run ``work(session)`` in one unit of work, in the tenant's scope (or the platform's without a slug)."""
    try:
        with current_app.extensions["gonghui"].db.unit_of_work() as session:
            if slug is None:
                with tenancy.platform_scope("cli: platform users"):
                    return work(session)
            with tenancy.platform_scope("cli: find tenant"):
                tenant = tenancy.tenant_by_slug_any(session, slug)
            with tenancy.tenant_scope(tenant):
                return work(session)
    except DomainError as exc:
        details = " ".join(f"{field}: {'; '.join(map(str, messages))}" for field, messages in exc.errors.items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from None


def _user(session, slug: str | None, username: str) -> User:
    query = sa.select(User).where(User.username == accounts.normalize_username(username))
    if slug is None:
        query = query.where(User.tenant_id.is_(None))
    user = session.scalar(query)
    if user is None:
        raise click.ClickException(f"no user {username!r} in {slug or 'the platform'}")
    return user


def _where(tenant_slug: str | None, platform: bool) -> str | None:
    if bool(tenant_slug) == platform:
        raise click.UsageError("give either --tenant SLUG or --platform")
    return tenant_slug


@click.group("users")
def users():
    """Create users and API tokens; lift a sign-in lock."""


@users.command("create")
@click.argument("username")
@click.option("--tenant", "tenant_slug", help="The tenant the user belongs to.")
@click.option("--platform", is_flag=True, help="A platform admin (belongs to no tenant).")
@click.option("--role", "roles", multiple=True, help="ROLE or ROLE@ORGANIZATION_ID; repeatable.")
@click.option("--name", "display_name", default="", help="The name shown to others (姓名).")
@click.option("--phone", default=None, help="Mobile number, for SMS sign-in.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, default="",
              show_default=False, help="Prompted for when left out; empty: no password (SMS sign-in only).")
@with_appcontext
def create(username, tenant_slug, platform, roles, display_name, phone, password):
    """Create USERNAME, e.g. `gonghui users create wang --tenant yichang --role tenant_admin`."""
    slug = _where(tenant_slug, platform)
    grants = [_parse_role(role) for role in roles]
    user = _in_scope_of(slug, lambda session: accounts.create_user(
        session, actor=_CliActor(), username=username, display_name=display_name, phone=phone,
        password=password or None, grants=grants, platform_admin=platform,
    ))
    click.echo(f"created user {user.username} in {slug or 'the platform'}")


@users.command("create-token")
@click.argument("username")
@click.option("--tenant", "tenant_slug", help="The user's tenant.")
@click.option("--platform", is_flag=True, help="The user is a platform admin.")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3660), help="Valid for this long.")
@click.option("--scope", "scopes", multiple=True, help="A permission the token may use; repeatable. None: all.")
@with_appcontext
def create_token(username, tenant_slug, platform, name, days, scopes):
    """Print a new API token for USERNAME. It is shown this once."""
    slug = _where(tenant_slug, platform)

    def work(session):
        user = _user(session, slug, username)
        token, clear = tokens.create_token(session, user, name=name, scopes=list(scopes),
                                           expires_at=utcnow() + dt.timedelta(days=days))
        session.flush()
        audit.record(session, "token.create", obj=token, actor=_CliActor(),
                     after={"name": name, "scopes": token.scopes, "expires_at": token.expires_at.isoformat()})
        return clear

    click.echo(_in_scope_of(slug, work))


@users.command("unlock")
@click.argument("username")
@click.option("--tenant", "tenant_slug", help="The user's tenant.")
@click.option("--platform", is_flag=True, help="The user is a platform admin.")
@with_appcontext
def unlock(username, tenant_slug, platform):
    """Lift the lock that wrong passwords put on USERNAME's password sign-in."""
    slug = _where(tenant_slug, platform)
    _in_scope_of(slug, lambda session: login.unlock(session, _user(session, slug, username), actor=_CliActor()))
    click.echo(f"unlocked {username}")
