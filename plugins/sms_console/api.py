"""``/api/v1/sms_console/messages``: what the console gateway recorded, newest first, phones masked."""
from __future__ import annotations

import sqlalchemy as sa
from marshmallow import Schema, fields

from core.toolkit import ApiBlueprint, db_session, mask_phone, page_of, require
from plugins.sms_console.models import ConsoleMessage

blp = ApiBlueprint("sms_console_api", __name__, description="Text messages the console gateway recorded")


class MessageQuerySchema(Schema):
    phone = fields.String(metadata={"description": "only messages to this number (the full number)"})


class MessageSchema(Schema):
    id = fields.Integer()
    phone = fields.Function(lambda row: mask_phone(row.phone), metadata={"description": "masked: 138****1234"})
    text = fields.String()
    client_ref = fields.String(metadata={"description": "the outbox id of the message"})
    created_at = fields.DateTime()


@blp.route("/messages")
@blp.arguments(MessageQuerySchema, location="query")
@blp.response(200, MessageSchema(many=True))
@blp.paginate()
@require("sms_console.read")
def messages(query, pagination_parameters):
    """Text messages of this tenant, newest first"""
    statement = sa.select(ConsoleMessage).order_by(ConsoleMessage.id.desc())
    if "phone" in query:
        statement = statement.where(ConsoleMessage.phone == query["phone"].strip())
    return page_of(db_session(), statement, pagination_parameters)
