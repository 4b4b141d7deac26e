"""Every hook a Gonghui plugin can implement.

Two kinds. **Deployment hooks** take no tenant and are called once when the application or the worker starts,
for every plugin the deployment loaded. **Tenant hooks** take ``tenant`` first and are called only through
``tenant_hooks(tenant)``, which leaves out every plugin the tenant has not enabled; a plugin never needs to
check whether it is on.

Implement a hook in your plugin's ``plugin.py`` with ``@hookimpl`` from ``core.toolkit`` and the same argument
names (you may leave out arguments you do not use). ``docs/hooks.md`` is generated from this module.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("gonghui")


# --- Deployment hooks ------------------------------------------------------------------------------------------


@hookspec
def api_blueprints():
    """Return a list of ``toolkit.ApiBlueprint`` to mount under ``/api/v1/<plugin>/``.

    Called once at start. Core sets the URL prefix from the plugin's name, adds the routes to the OpenAPI
    document, and answers 404 for every route of the blueprint in a tenant that has not enabled the plugin.
    """


@hookspec
def page_blueprints():
    """Return a list of ``flask.Blueprint`` with tenant pages, mounted under ``/<plugin>/``.

    Called once at start. Render with ``toolkit.render_page`` so the tenant's template overrides apply.
    A tenant that has not enabled the plugin gets 404 for every page.
    """


@hookspec
def permissions():
    """Return a list of ``toolkit.Permission`` the plugin checks, with the roles that hold each by default.

    Called once at start. Check them with ``toolkit.require(permission)``; core refuses an unknown name.
    """


@hookspec
def periodic_jobs():
    """Return a list of ``toolkit.PeriodicJob``: actors that ``gonghui scheduler`` sends on a fixed period.

    Called once when the scheduler starts. Each run is sent once per tenant that has the plugin enabled, with
    that tenant in the message; the actor receives ``tenant_id`` and must be idempotent.
    """


@hookspec
def cli_commands():
    """Return a list of ``click.Command`` to add under ``gonghui <plugin> ...``.

    Called once when the CLI starts. Commands run inside the application context; open a tenant scope with
    ``toolkit.tenant_scope`` before touching tenant data.
    """


@hookspec
def jinja_filters():
    """Return a list of ``toolkit.JinjaFilter`` added to every tenant's template environment.

    Called once at start. Filters are shared by all tenants, so they must not read tenant data themselves.
    """


# --- Tenant hooks ----------------------------------------------------------------------------------------------


@hookspec
def menu_items(tenant, user):
    """Return a list of ``toolkit.MenuItem`` for the navigation of ``tenant``'s pages.

    Called on every page render, outside any transaction; ``user`` is the signed-in user or None. Core drops
    items whose ``permission`` the user lacks and sorts by ``order``.
    """


@hookspec
def dashboard_widgets(tenant, user):
    """Return a list of ``toolkit.DashboardWidget`` for the staff dashboard.

    Called when the dashboard renders, with a read-only session in scope. Keep the queries cheap: the
    dashboard waits for every widget.
    """


@hookspec
def printable_forms(tenant):
    """Return a list of ``toolkit.PrintableForm`` the plugin can print (application forms, letters, notices).

    Called when staff open an object's print menu. ``render`` receives the session and the object's id.
    """


@hookspec
def importers(tenant):
    """Return a list of ``toolkit.Importer`` offered on the import page and the import API.

    Called when the import page or endpoint lists what can be imported. ``run`` is called inside the import's
    single transaction; raise ``toolkit.InvalidInput`` with row errors to reject the whole file.
    """


@hookspec
def exporters(tenant):
    """Return a list of ``toolkit.Exporter`` offered on the export page and the export API.

    Called when the export page or endpoint lists what can be exported. ``rows`` is called with the session and the caller's organization scope; yield rows lazily so exports
    stream.
    """


@hookspec
def screen_application(tenant, session, application):
    """Check an application before any person sees it; return a ``toolkit.ScreeningRefusal`` or None.

    Called inside the transaction that submits the application, for every enabled plugin; every refusal is
    collected and the first one (in plugin order) is shown to the applicant. Do not write to the database.

    Example: refuse an applicant past retirement age, from the birth date in their ID number.
    """


@hookspec(firstresult=True)
def reservoir_for(tenant, session, person, unit):
    """Choose the reservoir organization that holds a membership while ``unit`` has no union.

    Called inside the transaction that approves a join, only for plugins the tenant enabled. Return an
    Organization, or None to let another plugin decide (first non-None result wins).

    Example: Yichang parks a county-level unit's workers in that county's service-centre committee.
    """


@hookspec
def on_event(tenant, session, event):
    """React to a domain event (``core.events``): a membership started, moved, ended, ...

    Called inside the transaction that caused the event, so anything written here commits or rolls back with
    it. Outside effects (SMS, card issuer calls) must go through ``toolkit.outbox.enqueue``, never directly.
    """


@hookspec(firstresult=True)
def sms_gateway(tenant):
    """Return the ``toolkit.SmsGateway`` that sends ``tenant``'s text messages, or None.

    Called by the outbox delivery job for every SMS. The first enabled plugin that returns a gateway wins, so a
    tenant enables exactly one SMS plugin. Read credentials from the plugin's tenant settings.
    """


@hookspec(firstresult=True)
def card_issuer(tenant):
    """Return the ``toolkit.CardIssuer`` that issues ``tenant``'s service cards, or None.

    Called by the outbox delivery job for every card request. The first enabled plugin that returns one wins.
    """


@hookspec
def message_templates(tenant):
    """Return a list of ``toolkit.MessageTemplate``: the texts (SMS and notices) the plugin sends.

    Called when a message is composed and when staff list the texts; a tenant setting may override a text by
    its key. Keep texts in Chinese, with ``{name}``-style fields.
    """


@hookspec
def demo_data(tenant, session):
    """Add the plugin's own demo rows to ``tenant`` for ``gonghui demo``, after core's demo data and accounts.

    Called inside the demo's transaction, once per demo tenant that enabled the plugin. ``gonghui demo`` may run
    again on the same database: add nothing the second time. Return nothing.

    Example: Yichang files applications at every step of its flow, so each list, colour and chart has rows.
    """
