"""Formation drives over the API: ``/api/v1/yichang/drives`` (督促建会).

A drive outside the caller's subtrees is 404 before anything else is looked at. Reading needs ``yichang.read``;
the county's steps (notice served, documents, submit) need ``yichang.verify`` where the drive is handled; the
city's (dispatch, approve, close) need ``yichang.dispatch`` over the city federation. Every step needs the ETag
of the drive in ``If-Match`` (412 when someone changed it since). Documents are uploaded as
``multipart/form-data`` with one file field per document kind, and downloaded one by one.
"""
from __future__ import annotations

from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, g, request
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from cities.yichang import drives
from cities.yichang.models import DRIVE_DOCUMENTS, DRIVE_STATUSES, DriveDocument, FormationDrive
from core.toolkit import (
    ApiBlueprint,
    InvalidInput,
    Unit,
    by_id,
    db_session,
    id_numbers,
    organizations,
    page_of,
    require,
    require_if_match,
    resolve_path_object,
    scope_filter,
    set_etag,
)

blp = ApiBlueprint("yichang_drives_api", __name__, url_prefix="/drives",
                   description="Formation drives (督促建会): units without a union from which many workers are parked")


class DriveDocumentSchema(Schema):
    kind = fields.String(metadata={"description": ", ".join(DRIVE_DOCUMENTS)})
    name = fields.String(metadata={"description": "the document's title, as the seed names it"})
    present = fields.Boolean()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    uploaded_at = fields.DateTime(allow_none=True)


class DriveSchema(Schema):
    id = fields.Integer()
    unit_id = fields.Integer()
    unit_name = fields.String()
    credit_code = fields.String(allow_none=True)
    address = fields.String()
    legal_representative = fields.String()
    region = fields.String()
    status = fields.String(metadata={"description": ", ".join(DRIVE_STATUSES)})
    status_name = fields.String()
    parked_count = fields.Integer(metadata={"description": "members parked for the unit when the drive opened (when it closed, for a closed one)"})
    parked_now = fields.Integer(metadata={"description": "members parked for the unit now"})
    handler_id = fields.Integer(metadata={"description": "the federation carrying the drive"})
    handler = fields.String()
    opened_on = fields.Date()
    notice_due_on = fields.Date(metadata={"description": "the formation notice is due by this day"})
    notice_served_on = fields.Date(allow_none=True)
    notice_overdue = fields.Boolean()
    organization_id = fields.Integer(allow_none=True, metadata={"description": "the union formed, once approved"})
    organization = fields.String()
    approved_on = fields.Date(allow_none=True)
    note = fields.String()
    documents = fields.List(fields.Nested(DriveDocumentSchema), metadata={"description": "the four documents"})
    documents_uploaded = fields.Integer()
    moved = fields.Integer(metadata={"description": "on approval: how many parked members moved to the union"})
    version = fields.Integer()


class DriveQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(DRIVE_STATUSES))
    open = fields.Boolean(metadata={"description": "true: drives not yet approved or closed"})
    overdue = fields.Boolean(metadata={"description": "true: the formation notice is past due and not served"})
    handler_id = fields.Integer(metadata={"description": "the federation carrying the drive"})
    q = fields.String(metadata={"description": "part of the unit's name"})


class DriveDispatchSchema(Schema):
    organization_id = fields.Integer(required=True, metadata={"description": "a county federation, an industry "
                                                                              "union, or the city federation"})


class DriveNoticeSchema(Schema):
    served_on = fields.Date(required=True, metadata={"description": "the day the formation notice was served"})


class DriveApproveSchema(Schema):
    organization_id = fields.Integer(required=True, metadata={"description": "the grassroots union formed"})


class DriveCloseSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DriveUploadSchema(Schema):
    preparatory_group = Upload(metadata={"description": DRIVE_DOCUMENTS["preparatory_group"]})
    formation_request = Upload(metadata={"description": DRIVE_DOCUMENTS["formation_request"]})
    first_congress_request = Upload(metadata={"description": DRIVE_DOCUMENTS["first_congress_request"]})
    election_report = Upload(metadata={"description": DRIVE_DOCUMENTS["election_report"]})


def _drive(session, drive_id: int) -> FormationDrive:
    """The drive, locked for a step: the If-Match the step checks next holds until it commits."""
    return by_id(session, FormationDrive, drive_id, lock=request.method not in ("GET", "HEAD", "OPTIONS"))


# A drive id is found first, before a body is parsed: outside the caller's subtrees it does not exist.
resolve_path_object(blp, "drive_id", into="drive", permission=drives.READ, find=_drive, visible=drives.may_read)


def _answer(drive: FormationDrive, **extra) -> dict:
    set_etag(drive)
    return drives.view(db_session(), drive) | extra


@blp.route("")
class Drives(MethodView):
    @blp.arguments(DriveQuerySchema, location="query")
    @blp.response(200, DriveSchema(many=True))
    @blp.paginate()
    @require(drives.READ)
    def get(self, query, pagination_parameters):
        """The drives handled in the caller's subtrees: overdue notices first, then newest first"""
        session = db_session()
        today = id_numbers.today()
        statement = sa.select(FormationDrive).where(scope_filter(g.user, drives.READ, FormationDrive.handler_path))
        if "status" in query:
            statement = statement.where(FormationDrive.status == query["status"])
        if "open" in query:
            is_open = FormationDrive.status.in_(drives.OPEN_STATUSES)
            statement = statement.where(is_open if query["open"] else ~is_open)
        if "overdue" in query:
            statement = statement.where(drives.overdue(today) if query["overdue"] else ~drives.overdue(today))
        if "handler_id" in query:
            statement = statement.where(FormationDrive.handler_id == query["handler_id"])
        if query.get("q"):
            named = sa.select(Unit.id).where(Unit.name.contains(query["q"], autoescape=True))
            statement = statement.where(FormationDrive.unit_id.in_(named))
        statement = statement.order_by(sa.case((drives.overdue(today), 0), else_=1), FormationDrive.id.desc())
        return listed(session, page_of(session, statement, pagination_parameters), today)


def listed(session, page: list[FormationDrive], today) -> list[dict]:
    """Views of a page of drives, with the parked counts and document counts in one query each."""
    parked = dict(session.execute(drives.parked_counts([d.unit_id for d in page])).all()) if page else {}
    uploaded = dict(session.execute(
        sa.select(DriveDocument.drive_id, sa.func.count()).where(DriveDocument.drive_id.in_([d.id for d in page]))
        .group_by(DriveDocument.drive_id)).all()) if page else {}
    return [drives.view(session, d, today=today, parked_now=parked.get(d.unit_id, 0), with_documents=False)
            | {"documents_uploaded": uploaded.get(d.id, 0)} for d in page]


@blp.route("/<int:drive_id>")
@blp.response(200, DriveSchema)
@require(drives.READ)
def drive(drive_id):
    """A drive with its steps' dates and its documents"""
    return _answer(g.drive)


@blp.route("/<int:drive_id>/dispatch", methods=["POST"])
@blp.arguments(DriveDispatchSchema)
@blp.response(200, DriveSchema)
def dispatch(data, drive_id):
    """Send the drive to a county federation or industry union (the city admin; again to correct it); needs
    If-Match"""
    session = db_session()
    drives.require_city_admin(session, g.user)
    require_if_match(g.drive)
    to = organizations.organization_by_id(session, data["organization_id"], field="organization_id")
    drives.dispatch(session, g.tenant, g.drive, to=to, actor=g.user)
    return _answer(g.drive)


@blp.route("/<int:drive_id>/notice", methods=["POST"])
@blp.arguments(DriveNoticeSchema)
@blp.response(200, DriveSchema)
def notice(data, drive_id):
    """Record the day the formation notice was served on the unit (the county admin); needs If-Match"""
    drives.require_handler(g.user, g.drive)
    require_if_match(g.drive)
    drives.serve_notice(db_session(), g.tenant, g.drive, served_on=data["served_on"], actor=g.user)
    return _answer(g.drive)


@blp.route("/<int:drive_id>/documents", methods=["POST"])
@blp.arguments(DriveUploadSchema, location="files")
@blp.response(200, DriveSchema)
def upload(files, drive_id):
    """Upload one or more of the four documents, one file field per kind (PDF, JPEG, PNG, DOC or DOCX, at most
    10 MB each; a new file replaces the old); needs If-Match"""
    drives.require_handler(g.user, g.drive)
    require_if_match(g.drive)
    unknown = [name for name in request.files if name not in DRIVE_DOCUMENTS]
    if unknown:
        raise InvalidInput("unknown file fields", errors={name: [f"one of {', '.join(DRIVE_DOCUMENTS)}"]
                                                          for name in unknown})
    sent = {kind: (item.filename or kind, item.stream.read(drives.MAX_DOCUMENT_BYTES + 1))
            for kind, item in files.items() if item is not None}
    drives.upload_all(db_session(), g.tenant, g.drive, sent, actor=g.user)
    return _answer(g.drive)


@blp.route("/<int:drive_id>/documents/<kind>")
@blp.response(200, description="the file as uploaded")
@require(drives.READ)
def download(drive_id, kind):
    """Download one document"""
    stored = drives.document(db_session(), g.drive, kind)
    return document_response(stored)


def document_response(stored: DriveDocument) -> Response:
    response = Response(stored.content, mimetype=stored.content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stored.filename)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/<int:drive_id>/submit", methods=["POST"])
@blp.response(200, DriveSchema)
def submit(drive_id):
    """Report the union formed, with all four documents (the county admin); the city admins get an SMS; needs
    If-Match"""
    drives.require_handler(g.user, g.drive)
    require_if_match(g.drive)
    drives.submit(db_session(), g.tenant, g.drive, actor=g.user)
    return _answer(g.drive)


@blp.route("/<int:drive_id>/approve", methods=["POST"])
@blp.arguments(DriveApproveSchema)
@blp.response(200, DriveSchema)
def approve(data, drive_id):
    """Approve, naming the grassroots union formed (the city admin): the union covers the unit and every member
    parked for it moves there, each with an SMS, in this one transaction; needs If-Match"""
    session = db_session()
    drives.require_city_admin(session, g.user)
    require_if_match(g.drive)
    union = organizations.organization_by_id(session, data["organization_id"], field="organization_id")
    moved = drives.approve(session, g.tenant, g.drive, organization=union, actor=g.user)
    return _answer(g.drive, moved=moved)


@blp.route("/<int:drive_id>/close", methods=["POST"])
@blp.arguments(DriveCloseSchema)
@blp.response(200, DriveSchema)
def close(data, drive_id):
    """Close a drive that will not lead to a union, saying why (the city admin); needs If-Match"""
    drives.require_city_admin(db_session(), g.user)
    require_if_match(g.drive)
    drives.close(db_session(), g.tenant, g.drive, note=data["note"], actor=g.user)
    return _answer(g.drive)
