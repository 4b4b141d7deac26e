"""The audit trail of the current tenant: search it by object, user, action and time, newest first.

Open to holders of ``audit.read``. A holder over the whole tenant sees every record of the tenant; one whose grants
are at organizations sees the records located in those subtrees (``scope_path``) and nothing else, like every
other list: a record outside is not found.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core import audit
from core.api.base import ApiBlueprint
from core.api.pagination import page_of
from core.app import db_session
from core.auth import require, scope_filter
from core.errors import NotFound
from core.models.audit import AuditRecord

blp = ApiBlueprint("audit", __name__, description="The audit trail of the tenant (permission audit.read)")

PERMISSION = "audit.read"


class AuditRecordSchema(Schema):
    id = fields.Integer()
    seq = fields.Integer(metadata={"description": "position in the tenant's hash chain"})
    at = fields.DateTime(metadata={"description": "UTC"})
    actor_id = fields.Integer(allow_none=True, metadata={"description": "the user; null for the system or the CLI"})
    actor = fields.String(metadata={"description": "user name, or cli / system"})
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    before = fields.Raw(allow_none=True, metadata={"description": "the object before, personal data masked"})
    after = fields.Raw(allow_none=True, metadata={"description": "the object after, personal data masked"})
    request_id = fields.String()
    address = fields.String(metadata={"description": "the caller's IP address"})
    prev_hash = fields.String()
    hash = fields.String()
    scope_path = fields.String(
        allow_none=True,
        metadata={"description": "path of the organization the change concerns; null: the tenant as a whole"},
    )


class AuditQuerySchema(Schema):
    object_type = fields.String(validate=validate.Length(max=60), metadata={"description": "e.g. tenant_plugin"})
    object_id = fields.String(validate=validate.Length(max=64))
    actor_id = fields.Integer(metadata={"description": "records by this user"})
    actor = fields.String(validate=validate.Length(max=100), metadata={"description": "records by this user name"})
    action = fields.String(
        validate=validate.Length(min=1, max=80), metadata={"description": "prefix: plugin. finds plugin.enable, ..."}
    )
    since = fields.AwareDateTime(
        default_timezone=dt.timezone.utc, metadata={"description": "ISO 8601, inclusive; UTC unless it says"}
    )
    until = fields.AwareDateTime(default_timezone=dt.timezone.utc, metadata={"description": "ISO 8601, exclusive"})


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value is not None else None


def _in_scope(statement: sa.Select) -> sa.Select:
    return statement.where(scope_filter(g.user, PERMISSION, AuditRecord.scope_path))


@blp.route("")
class AuditRecords(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditRecordSchema(many=True))
    @blp.paginate()
    @require(PERMISSION)
    def get(self, query, pagination_parameters):
        """Search the tenant's audit records, newest first"""
        statement = audit.search(
            **{key: value for key, value in query.items() if key not in ("since", "until")},
            since=_naive_utc(query.get("since")),
            until=_naive_utc(query.get("until")),
        )
        return page_of(db_session(), _in_scope(statement), pagination_parameters)


@blp.route("/<int:record_id>")
class AuditRecordById(MethodView):
    @blp.response(200, AuditRecordSchema)
    @require(PERMISSION)
    def get(self, record_id):
        """Read one audit record"""
        found = db_session().scalar(_in_scope(sa.select(AuditRecord).where(AuditRecord.id == record_id)))
        if found is None:
            raise NotFound("no such audit record")
        return found
