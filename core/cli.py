"""The ``gonghui`` command: serve, worker, scheduler, db, tenants, plugins, users, demo, plugin new, import, export.

Every command builds the application from ``GONGHUI_*`` settings; a bad setting stops it with a message that
names the variable.
"""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from sqlalchemy import select

from core import audit, jobs, migrate, scaffold, tenancy
from core.auth.cli import users as users_cli
from core.registry import exports as registry_exports
from core.registry import imports as registry_imports
from core.registry.regions import cli as regions_cli
from core.settings import SettingsError


def _create_app():
    from core.app import create_app

    try:
        return create_app()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


class _Cli(FlaskGroup):
    """Adds the commands of the application's plugins (``cli_commands`` hook) as ``gonghui <plugin> ...``."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_groups(ctx)))

    def get_command(self, ctx, name):
        return super().get_command(ctx, name) or self._plugin_groups(ctx).get(name)

    def _plugin_groups(self, ctx) -> dict[str, click.Group]:
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except click.ClickException:  # a bad setting: the command that runs reports it with its message
            return {}
        groups: dict[str, click.Group] = {}
        for owner, command in app.extensions["gonghui"].plugins.contributions("cli_commands"):
            group = groups.setdefault(owner, click.Group(owner, help=f"Commands of the {owner} plugin."))
            group.add_command(command)
        return groups


@click.group(cls=_Cli, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main():
    """Gonghui (工会): the trade-union member services platform."""


# Flask's generic --app/--env-file/--debug options mean nothing here: the application is always create_app().
main.params = [param for param in main.params if param.name not in ("app", "env_file", "debug")]


def _state():
    return current_app.extensions["gonghui"]


@main.command("serve")
@click.option("--host", default=None, help="Address to listen on (default GONGHUI_HOST).")
@click.option("--port", default=None, type=int, help="Port (default GONGHUI_PORT).")
@with_appcontext
def serve_command(host, port):
    """Serve the web pages and the API (threads; run several behind a load balancer in production)."""
    from werkzeug.serving import run_simple

    settings = _state().settings
    host, port = host or settings.host, port or settings.port
    click.echo(f"Gonghui listening on http://{host}:{port}/")
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


@main.command()
@click.option("--threads", default=4, show_default=True)
@with_appcontext
def worker(threads):
    """Process background jobs from Redis (needs GONGHUI_REDIS_URL)."""
    state = _state()
    if state.settings.embedded_jobs:
        raise click.ClickException(
            "GONGHUI_REDIS_URL is not set: on the embedded default, jobs run inside `gonghui serve`."
        )
    runtime = jobs.runtime()
    runtime.bind_all()
    worker = runtime.start_worker(threads=threads)
    click.echo(f"worker started with {threads} threads on {len(runtime.broker.get_declared_queues())} queues")
    try:
        import time

        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        worker.stop()


@main.command()
@click.option("--once", is_flag=True, help="Send what is due now and exit.")
@with_appcontext
def scheduler(once):
    """Send periodic jobs once per tenant that enabled their plugin."""
    scheduler = jobs.scheduler_for(current_app._get_current_object())
    if once:
        for name, tenant_id in scheduler.tick():
            click.echo(f"sent {name} for tenant {tenant_id}")
        return
    scheduler.run_forever()


# --- tenants ---------------------------------------------------------------------------------------------------


@main.group()
def tenants():
    """Create, list, update and disable tenants."""


@tenants.command("list")
@with_appcontext
def tenants_list():
    from core.models.tenant import Tenant

    with _state().db.unit_of_work() as session, tenancy.platform_scope("cli: list tenants"):
        for tenant in session.scalars(select(Tenant).order_by(Tenant.slug)):
            status = "active" if tenant.active else "disabled"
            hosts = ",".join(d.host for d in tenant.domains) or "-"
            click.echo(f"{tenant.slug}\t{tenant.name}\t{status}\t{hosts}")


@tenants.command("create")
@click.argument("slug")
@click.argument("name")
@click.option("--domain", "domains", multiple=True, help="A host name of the tenant (repeatable).")
@with_appcontext
def tenants_create(slug, name, domains):
    """Create tenant SLUG named NAME (the federation's Chinese name)."""
    from core.api.schemas import TenantSchema
    from marshmallow import ValidationError

    try:
        data = TenantSchema().load({"slug": slug, "name": name, "domains": list(domains)})
    except ValidationError as exc:
        raise click.ClickException(f"{exc.messages}") from None
    with _state().db.unit_of_work() as session, tenancy.platform_scope("cli: create tenant"):
        tenancy.create_tenant(session, actor="cli", **data)
    click.echo(f"created tenant {slug}")


def _set_active(slug: str, active: bool) -> None:
    from core.errors import DomainError

    try:
        with _state().db.unit_of_work() as session, tenancy.platform_scope("cli: enable or disable a tenant"):
            tenant = tenancy.tenant_by_slug_any(session, slug)
            tenancy.update_tenant(session, tenant, {"active": active}, actor="cli")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{'enabled' if active else 'disabled'} tenant {slug}")


@tenants.command("disable")
@click.argument("slug")
@with_appcontext
def tenants_disable(slug):
    """Disable a tenant: its addresses answer 404 until it is enabled again. Nothing is deleted."""
    _set_active(slug, False)


@tenants.command("enable")
@click.argument("slug")
@with_appcontext
def tenants_enable(slug):
    """Enable a disabled tenant again."""
    _set_active(slug, True)


# --- plugins ---------------------------------------------------------------------------------------------------


@main.group()
def plugins():
    """List plugins and turn them on or off per tenant."""


@plugins.command("list")
@with_appcontext
def plugins_list():
    """Name, version and the tenants that enabled each plugin."""
    from core.models.tenant import Tenant, TenantPlugin

    state = _state()
    with state.db.unit_of_work() as session, tenancy.platform_scope("cli: list plugins"):
        rows = session.execute(
            select(TenantPlugin.plugin, Tenant.slug)
            .join(Tenant, Tenant.id == TenantPlugin.tenant_id)
            .where(TenantPlugin.enabled)
            .order_by(Tenant.slug)
        ).all()
    for meta in sorted(state.plugins.metas(), key=lambda m: m.name):
        tenants_on = ",".join(slug for plugin, slug in rows if plugin == meta.name) or "-"
        click.echo(f"{meta.name}\t{meta.version}\t{meta.kind}\t{tenants_on}")


def _plugin_action(slug: str, action: str, name: str, settings: dict | None = None) -> None:
    from core.errors import DomainError

    state = _state()
    try:
        with state.db.unit_of_work() as session:
            with tenancy.platform_scope("cli: find tenant"):
                tenant = tenancy.tenant_by_slug_any(session, slug)
            with tenancy.tenant_scope(tenant):
                if action == "enable":
                    state.plugins.enable(session, tenant, name, settings, actor=_CliActor())
                else:
                    state.plugins.disable(session, tenant, name, actor=_CliActor())
    except DomainError as exc:
        raise click.ClickException(f"{exc.message} {exc.errors or ''}".strip()) from None


class _CliActor:
    """Whoever runs the CLI on the server is trusted like a platform admin."""

    id = None
    username = "cli"
    is_platform_admin = True


@plugins.command("enable")
@click.argument("slug")
@click.argument("name")
@click.option("--settings", "settings_json", default="{}", help="Settings as JSON.")
@with_appcontext
def plugins_enable(slug, name, settings_json):
    """Enable plugin NAME for tenant SLUG."""
    import json

    try:
        settings = json.loads(settings_json)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--settings is not JSON: {exc}") from None
    _plugin_action(slug, "enable", name, settings)
    click.echo(f"enabled {name} for {slug}")


@plugins.command("disable")
@click.argument("slug")
@click.argument("name")
@with_appcontext
def plugins_disable(slug, name):
    """Disable plugin NAME for tenant SLUG."""
    _plugin_action(slug, "disable", name)
    click.echo(f"disabled {name} for {slug}")


@main.command()
@click.option("--serve/--no-serve", default=True, help="Start serving after loading (default: yes).")
@with_appcontext
def demo(serve):
    """Upgrade the database, load the demo tenants (宜昌, 常州) and their admins, print the logins, serve."""
    from core import demo as demo_data

    state = _state()
    migrate.upgrade(current_app._get_current_object())
    logins = demo_data.load(state, state.settings.data_dir)
    base = f"http://{state.settings.host}:{state.settings.port}"
    click.echo("")
    click.echo("Gonghui demo")
    click.echo(f"  database      {state.settings.database_url.split('@')[-1]}")
    click.echo(f"  jobs          {'in-process' if state.settings.embedded_jobs else 'Redis'}")
    click.echo(f"  API docs      {base}/api/docs")
    for login in logins:
        where = f"{base}/t/{login.tenant}/" if login.tenant else f"{base}/  (platform)"
        click.echo(f"  {where}")
        click.echo(f"      {login.role:<15} user {login.username}  password {login.password}")
        click.echo(f"      API token      {login.token}")
    click.echo("")
    if serve:
        click.get_current_context().invoke(serve_command)


main.add_command(migrate.db)
main.add_command(regions_cli)
main.add_command(audit.commands)
main.add_command(users_cli)
main.add_command(scaffold.plugin)
main.add_command(registry_imports.import_command)
main.add_command(registry_exports.export_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
