"""A plugin only tests use: it contributes to every channel of the plugin gate.

Hooks, an API blueprint, a page, a template that overrides core's home page, a menu item, an actor, a periodic
job, a permission, a table, and settings with a secret reference.
"""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.orm import Mapped, mapped_column

from core.toolkit import (
    ApiBlueprint,
    Base,
    MenuItem,
    PeriodicJob,
    Permission,
    PluginMeta,
    ScreeningRefusal,
    SecretRef,
    TenantOwned,
    actor,
    hookimpl,
    render_page,
)


class Settings(Schema):
    greeting = fields.String(load_default="你好", metadata={"description": "what the page says"})
    api_key = SecretRef(metadata={"description": "a secret, as an $env reference"})


meta = PluginMeta(name="testplugin", label="测试插件", version="1.0.0", settings_schema=Settings)


class Note(TenantOwned, Base):
    __tablename__ = "testplugin_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(100), nullable=False)


@actor("testplugin.write_note")
def write_note(session, tenant, text: str):
    if session.scalar(sa.select(Note.id).where(Note.text == text)) is None:
        session.add(Note(text=text))


api = ApiBlueprint("testplugin_api", __name__)


@api.route("/hello")
def hello():
    return {"hello": "world"}


@api.route("/notes", methods=["POST"])
def queue_note():
    write_note.send(text="from the api")
    return {"queued": True}, 202


pages = Blueprint("testplugin_pages", __name__)


@pages.get("/page")
def page():
    return render_page("testplugin/page.html")


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
        """Say hello."""
        click.echo("hello from testplugin")

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
