"""Secrets in plugin settings are references, never values: ``{"$env": "YICHANG_SMS_KEY"}``.

The database holds only the name of the environment variable; the value is read when it is used, so a dump
of the settings table leaks nothing and rotating a key needs no database write.
"""
from __future__ import annotations

import os
import re

from marshmallow import ValidationError, fields

_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,100}$")


class SecretRef(fields.Field):
    """A settings field that accepts only ``{"$env": "NAME"}``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict) or set(value) != {"$env"} or not _NAME.match(str(value["$env"])):
            raise ValidationError('a secret must be a reference like {"$env": "NAME_OF_VARIABLE"}, not a value')
        return {"$env": value["$env"]}

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class MissingSecret(RuntimeError):
    pass


def resolve(reference: dict | None) -> str:
    """The value a reference points to; raises ``MissingSecret`` naming the variable when it is unset."""
    if not reference:
        raise MissingSecret("no secret configured")
    name = reference["$env"]
    value = os.environ.get(name)
    if value is None:
        raise MissingSecret(f"the environment variable {name} is not set")
    return value
