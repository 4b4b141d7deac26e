"""sms_console: an SMS gateway for development and demos.

Nothing leaves the machine: each message goes to the log (phone masked) and to ``sms_console_message``, which
tenant admins read at ``/api/v1/sms_console/messages``. Enable it, or a real SMS plugin, never both: the first
enabled gateway wins.
"""
from core.toolkit import Permission, PluginMeta, hookimpl
from plugins.sms_console import api
from plugins.sms_console.gateway import ConsoleGateway
from plugins.sms_console.models import ConsoleMessage  # noqa: F401  (registers the table)

meta = PluginMeta(name="sms_console", label="短信（控制台）", version="0.1.0", kind="integration")


@hookimpl
def sms_gateway(tenant):
    return ConsoleGateway()


@hookimpl
def api_blueprints():
    return [api.blp]


@hookimpl
def permissions():
    return [Permission("sms_console.read", "查看控制台短信", roles=("tenant_admin",))]
