"""A plugin only tests use: it contributes to every channel of the plugin gate and implements every hook.

Hooks, an API blueprint, a page, a template that overrides core's home page, a menu item, an actor, a periodic
job, a permission, a table, and settings with a secret reference. ``tests/core/test_hooks.py`` calls each hook
through core's real mechanism; the implementations are as small as the contract allows.
"""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Blueprint, current_app
from marshmallow import Schema, fields
from sqlalchemy.orm import Mapped, mapped_column

from core.toolkit import (
    ApiBlueprint,
    Base,
    CardRequest,
    CardResult,
    DashboardWidget,
    Exporter,
    Importer,
    InvalidInput,
    JinjaFilter,
    MenuItem,
    MessageTemplate,
    PeriodicJob,
    Permission,
    PluginMeta,
    PrintableForm,
    ScreeningRefusal,
    SecretRef,
    SmsMessage,
    SmsResult,
    TenantOwned,
    actor,
    hookimpl,
    render_page,
    require,
)


class Settings(Schema):
    greeting = fields.String(load_default="你好", metadata={"label": "问候语", "description": "what the page says"})
    api_key = SecretRef(metadata={"description": "a secret, as an $env reference"})


meta = PluginMeta(name="testplugin", label="测试插件", version="1.0.0", settings_schema=Settings)


class Note(TenantOwned, Base):
    __tablename__ = "testplugin_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(100), nullable=False)


@actor("testplugin.write_note")
def write_note(session, tenant, text: str = "from the scheduler"):
    if session.scalar(sa.select(Note.id).where(Note.text == text)) is None:
        session.add(Note(text=text))


api = ApiBlueprint("testplugin_api", __name__)


@api.route("/hello")
def hello():
    return {"hello": "world"}


@api.route("/guarded")
@require("testplugin.use")
def guarded():
    return {"allowed": True}


@api.route("/notes", methods=["POST"])
def queue_note():
    write_note.send(text="from the api")
    return {"queued": True}, 202


pages = Blueprint("testplugin_pages", __name__)


@pages.get("/page")
def page():
    return render_page("testplugin/page.html")


@pages.get("/filtered")
def filtered():
    return render_page("testplugin/filtered.html", words="会员服务")


@hookimpl
def api_blueprints():
    return [api]


@hookimpl
def page_blueprints():
    return [pages]


@hookimpl
def permissions():
    return [Permission("testplugin.use", "使用测试插件", roles=("tenant_admin",))]


@hookimpl
def periodic_jobs():
    return [PeriodicJob("testplugin.write_note", write_note, every_seconds=60)]


@hookimpl
def cli_commands():
    @click.command("hello")
    def hello_command():
        """Say hello, from inside the application."""
        click.echo(f"hello from testplugin in {current_app.name}")

    return [hello_command]


@hookimpl
def menu_items(tenant, user):
    return [MenuItem(label="测试菜单", endpoint="testplugin_pages.page", order=5)]


@hookimpl
def screen_application(tenant, session, application):
    if application.get("name") == "refuse me":
        return ScreeningRefusal(rule="testplugin.refuse", message="测试插件拒绝", field="name")
    return None


@hookimpl
def on_event(tenant, session, event):
    session.add(Note(text=f"event {type(event).__name__}"))


@hookimpl
def jinja_filters():
    return [JinjaFilter("testplugin_quote", lambda text: f"「{text}」")]


@hookimpl
def dashboard_widgets(tenant, user):
    return [DashboardWidget(title="测试小组件", template="testplugin/widget.html", context={"tenant": tenant.slug})]


def _print_note(session, object_id) -> str:
    note = session.get(Note, object_id)
    if note is None:
        raise InvalidInput("no such note", errors={"object_id": ["unknown"]})
    return f"<article class=\"print\"><h1>测试便条</h1><p>{note.text}</p></article>"


@hookimpl
def printable_forms(tenant):
    return [PrintableForm(key="testplugin.note", title="测试便条", applies_to="testplugin_note", render=_print_note)]


def _import_notes(session, rows, actor) -> int:
    errors = {f"row {number}.text": ["empty"] for number, row in enumerate(rows, 2) if not row.get("text")}
    if errors:
        raise InvalidInput("the file has rows that are not valid", errors=errors)
    session.add_all(Note(text=row["text"]) for row in rows)
    return len(rows)


@hookimpl
def importers(tenant):
    return [Importer(key="testplugin.notes", title="导入测试便条", columns=("text",), run=_import_notes)]


def _export_notes(session, scope):
    for text in session.scalars(sa.select(Note.text).order_by(Note.id)):
        yield (text,)


@hookimpl
def exporters(tenant):
    return [Exporter(key="testplugin.notes", title="导出测试便条", columns=("text",), rows=_export_notes)]


# trylast: a real plugin of the tenant answers first; the test plugin only answers when none does.
@hookimpl(trylast=True)
def reservoir_for(tenant, session, person, unit):
    if unit.covering_organization is not None:
        return None
    return f"{unit.region}职工服务中心工会委员会"


class RecordingGateway:
    """Accepts every message and keeps it, so a test can read what was sent."""

    def __init__(self):
        self.sent: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> SmsResult:
        self.sent.append(message)
        return SmsResult(accepted=True, provider_ref=f"test-{message.client_ref}")


@hookimpl(trylast=True)
def sms_gateway(tenant):
    return RecordingGateway()


class AcceptingIssuer:
    def issue(self, request: CardRequest) -> CardResult:
        return CardResult(accepted=True, card_ref=f"card-{request.client_ref}")

    def cancel(self, card_ref: str, client_ref: str) -> CardResult:
        return CardResult(accepted=True, card_ref=card_ref)


@hookimpl(trylast=True)
def card_issuer(tenant):
    return AcceptingIssuer()


@hookimpl
def demo_data(tenant, session):
    if session.scalar(sa.select(Note.id).where(Note.text == "demo note")) is None:
        session.add(Note(text="demo note"))


@hookimpl
def message_templates(tenant):
    return [MessageTemplate(key="testplugin.greeting", text="{name}，你好！", description="测试问候短信")]
