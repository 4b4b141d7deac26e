"""Marshmallow schemas of the core resources: tenants, their branding, plugins."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates

_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_COLOR = validate.Regexp(r"^#[0-9a-fA-F]{6}$", error="a colour like #c8102e")


class BrandingSchema(Schema):
    logo_url = fields.String(validate=validate.Length(max=500))
    primary_color = fields.String(validate=_COLOR)
    accent_color = fields.String(validate=_COLOR)
    footer = fields.String(validate=validate.Length(max=500))
    contact_name = fields.String(validate=validate.Length(max=50))
    contact_phone = fields.String(validate=validate.Regexp(r"^[0-9+\- ]{5,20}$", error="a phone number"))


def _check_domains(value: list[str]) -> None:
    bad = [host for host in value if not _HOST.match(host.lower())]
    if bad:
        raise ValidationError(f"not a host name: {', '.join(bad)}")


class TenantSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    active = fields.Boolean(dump_only=True)
    domains = fields.List(fields.String(), load_default=list, validate=_check_domains)
    branding = fields.Nested(BrandingSchema, load_default=dict)
    version = fields.Integer(dump_only=True)

    @validates("slug")
    def _slug(self, value: str, **_kwargs) -> None:
        if not _SLUG.match(value):
            raise ValidationError("2–40 lowercase letters, digits or dashes, starting with a letter")


class TenantUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=2, max=100))
    active = fields.Boolean()
    domains = fields.List(fields.String(), validate=_check_domains)
    branding = fields.Nested(BrandingSchema)


class TenantBrandingUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=2, max=100))
    branding = fields.Nested(BrandingSchema)


class TenantQuerySchema(Schema):
    q = fields.String(metadata={"description": "part of the slug or the name"})
    active = fields.Boolean()


class PluginSchema(Schema):
    name = fields.String()
    label = fields.String()
    version = fields.String()
    kind = fields.String()
    requires = fields.List(fields.String())
    restricted = fields.Boolean()
    enabled = fields.Boolean()
    settings = fields.Dict()
    settings_schema = fields.Dict(metadata={"description": "the settings' fields, from the plugin's schema"})


class PluginSettingsSchema(Schema):
    settings = fields.Dict(
        load_default=None, metadata={"description": "leave out to keep the settings the plugin had when last on"}
    )
