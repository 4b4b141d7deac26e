"""The audit trail of the current tenant: search it by object, user, action and time, newest first.

Open to holders of ``audit.read`` over the whole tenant. A holder whose grant is limited to a subtree of the union
tree is refused for now: records do not yet say which organization their object belongs to (see docs/audit.md).
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
from core.auth import WHOLE_TENANT, require, scope_paths
from core.errors import Forbidden, NotFound
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


def _require_whole_tenant() -> None:
    if scope_paths(g.user, PERMISSION) != WHOLE_TENANT:
        raise Forbidden("the audit trail is open only to those who hold audit.read over the whole tenant")


@blp.route("")
class AuditRecords(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditRecordSchema(many=True))
    @blp.paginate()
    @require(PERMISSION)
    def get(self, query, pagination_parameters):
        """Search the tenant's audit records, newest first"""
        _require_whole_tenant()
        statement = audit.search(
            **{key: value for key, value in query.items() if key not in ("since", "until")},
            since=_naive_utc(query.get("since")),
            until=_naive_utc(query.get("until")),
        )
        return page_of(db_session(), statement, pagination_parameters)


@blp.route("/<int:record_id>")
class AuditRecordById(MethodView):
    @blp.response(200, AuditRecordSchema)
    @require(PERMISSION)
    def get(self, record_id):
        """Read one audit record"""
        _require_whole_tenant()
        found = db_session().scalar(sa.select(AuditRecord).where(AuditRecord.id == record_id))
        if found is None:
            raise NotFound("no such audit record")
        return found
