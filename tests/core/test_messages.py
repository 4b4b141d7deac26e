"""A city changes the wording of a text message without code, through its plugin settings."""
import types

import pytest
from marshmallow import Schema, fields

from core import messages, tenancy
from core.errors import InvalidInput
from core.toolkit import MessageTemplate, PluginMeta, hookimpl


class _Settings(Schema):
    messages = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


def _texting_plugin():
    module = types.ModuleType("texting")
    module.meta = PluginMeta(name="texting", label="短信文本", version="1.0", settings_schema=_Settings)

    @hookimpl
    def message_templates(tenant):
        return [MessageTemplate("texting.approved", "{name}，您的入会申请已通过。", "join approved")]

    module.message_templates = message_templates
    return module


TEXTING = _texting_plugin()


@pytest.mark.plugins(TEXTING)
def test_a_text_uses_the_plugins_wording_unless_the_tenant_overrides_it(app, make_tenant, db):
    plain = make_tenant("yichang", plugins=["texting"])
    custom = make_tenant(
        "changzhou", plugins=["texting"], settings={"texting": {"messages": {"texting.approved": "{name}同志：入会成功！"}}}
    )

    with db() as session:
        with tenancy.tenant_scope(plain):
            assert messages.compose(session, plain, "texting.approved", name="张三") == "张三，您的入会申请已通过。"
        with tenancy.tenant_scope(custom):
            assert messages.compose(session, custom, "texting.approved", name="张三") == "张三同志：入会成功！"


@pytest.mark.plugins(TEXTING)
def test_an_override_with_a_field_the_plugin_does_not_fill_is_refused_naming_it(app, make_tenant, db):
    tenant = make_tenant("yichang", plugins=["texting"], settings={"texting": {"messages": {"texting.approved": "{nam}好"}}})

    with db() as session, tenancy.tenant_scope(tenant):
        with pytest.raises(InvalidInput) as refused:
            messages.compose(session, tenant, "texting.approved", name="张三")
    assert refused.value.errors == {"messages.texting.approved": ["unknown field {nam}"]}


@pytest.mark.plugins(TEXTING)
def test_a_tenant_without_the_plugin_has_none_of_its_texts(app, make_tenant, db):
    tenant = make_tenant("yichang")

    with db() as session, tenancy.tenant_scope(tenant):
        assert messages.templates(session, tenant) == {}
