"""Imports and exports of the registry: upload a spreadsheet, read its plan, apply it; download a template; export.

``POST /api/v1/imports`` stores the file and checks it: a small file (``SYNC_BYTES``) at once, in the request, a
bigger one in the job ``core.check_import`` (status ``checking``, progress in ``processed_rows``). The batch says
what applying would do (``created``, ``updated``, ``unchanged``) and ``/errors`` lists every error by row and
column. ``POST /imports/<id>/apply`` (with the batch's ETag in ``If-Match``) applies it in one transaction, again
in the request or in the job ``core.apply_import``; it is refused while the batch has errors.

Who may import: units ``units.manage``, organizations ``organizations.manage``, members ``memberships.manage``
and ``people.manage``; an import touches only what the caller may touch (``imports.Scope``). A batch is seen by
whoever holds that permission over the subtree it was uploaded in; anyone else gets 404, as for an id that does
not exist.
"""
from __future__ import annotations

from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from core import audit, spreadsheets, tenancy
from core.api.base import ApiBlueprint
from core.api.etag import require_if_match, set_etag
from core.api.pagination import page_of
from core.app import db_session, runtime
from core.auth import has_permission, in_scope, require_signed_in, scope_paths
from core.errors import InvalidInput, NotFound, Unauthorized
from core.models.import_batch import ImportBatch
from core.registry import columns, exports, imports, organizations
from core.registry.import_batches import READ, SYNC_BYTES, after_commit, caller_scope, visible, visible_batch

blp = ApiBlueprint("imports", __name__, description="Imports of units, organizations and members from spreadsheets")
exports_blp = ApiBlueprint("exports", __name__, description="Exports of units, organizations and members to xlsx")

FULL_ID_NUMBER = "people.read_id_number"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_KIND = validate.OneOf(imports.KINDS)


class UploadFormSchema(Schema):
    kind = fields.String(required=True, validate=_KIND, metadata={"description": ", ".join(imports.KINDS)})


class UploadFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "an .xlsx or .csv (UTF-8 or GBK) with the template's headers"})


class RowErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "as Excel numbers it (the header is row 1); 0: the file"})
    column = fields.String(metadata={"description": "the column's key, or file/header"})
    header = fields.String(metadata={"description": "the column's header in the file"})
    message = fields.String()


class BatchSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    size = fields.Integer()
    status = fields.String(metadata={"description": "uploaded, checking, checked, applying, applied, rejected, failed"})
    uploaded_by = fields.String()
    created_at = fields.DateTime()
    processed_rows = fields.Integer(metadata={"description": "progress: rows read so far"})
    total_rows = fields.Integer(allow_none=True)
    created = fields.Integer(attribute="created_count")
    updated = fields.Integer(attribute="updated_count")
    unchanged = fields.Integer(attribute="unchanged_count")
    error_rows = fields.Integer()
    error_count = fields.Integer()
    message = fields.String()
    first_errors = fields.Method("_first_errors", metadata={"description": "the first 20 errors; all at /errors"})
    applied_at = fields.DateTime(allow_none=True)
    version = fields.Integer()

    def _first_errors(self, batch):
        return RowErrorSchema(many=True).dump(batch.errors[:20])


class BatchQuerySchema(Schema):
    kind = fields.String(validate=_KIND)
    status = fields.String()


class ExportQuerySchema(Schema):
    organization = fields.Integer(metadata={"description": "the subtree to export; default: all you may see"})


# --- scope --------------------------------------------------------------------------------------------------------


def _scope(kind: str, permissions) -> imports.Scope:
    return caller_scope(db_session(), g.get("user"), kind, permissions)


@blp.before_request
def _resolve_batch() -> None:
    """A batch id is found first, before a body is read: outside the caller's subtrees it does not exist."""
    batch_id = (request.view_args or {}).get("batch_id")
    if batch_id is None:
        return
    if g.get("user") is None:
        raise Unauthorized("sign in or send an API token")
    batch = visible_batch(db_session(), g.user, batch_id)
    if batch is None:
        raise NotFound(f"no import {batch_id}")
    g.batch = batch


# --- imports ------------------------------------------------------------------------------------------------------


@blp.route("")
class Batches(MethodView):
    @blp.arguments(BatchQuerySchema, location="query")
    @blp.response(200, BatchSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """The imports you may see, newest first"""
        if g.get("user") is None:
            raise Unauthorized("sign in or send an API token")
        statement = sa.select(ImportBatch).where(visible(g.user)).order_by(ImportBatch.id.desc())
        for key in ("kind", "status"):
            if key in query:
                statement = statement.where(getattr(ImportBatch, key) == query[key])
        return page_of(db_session(), statement, pagination_parameters)

    @blp.arguments(UploadFormSchema, location="form")
    @blp.arguments(UploadFileSchema, location="files")
    @blp.response(201, BatchSchema)
    @blp.alt_response(202, schema=BatchSchema, description="a big file: checked by a job, read the batch again")
    def post(self, form, files):
        """Upload a file and check it: the batch tells what applying it would do and every error by row and
        column. Files over 512 KB are checked by a job (status checking; progress in processed_rows)"""
        kind = form["kind"]
        scope = _scope(kind, imports.PERMISSIONS[kind])
        upload = files["file"]
        filename = (upload.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1]
        stored, size = imports.store(imports.data_dir(), g.tenant.id, filename, upload.stream)
        session = db_session()
        batch = imports.new_batch(session, kind=kind, filename=filename, stored_path=stored, size=size,
                                  user=g.user, scope=scope)
        if size <= SYNC_BYTES:
            batch.status = "checking"
            imports.check(session, batch, imports.data_dir())
            set_etag(batch)
            return batch
        batch.status = "checking"
        tenant_id, batch_id = g.tenant.id, batch.id
        after_commit(db_session(), lambda: imports.check_job.send(tenant=tenant_id, batch_id=batch_id))
        return batch, 202


@blp.route("/<int:batch_id>")
@blp.response(200, BatchSchema)
def batch(batch_id):
    """An import: its status, progress and counts"""
    set_etag(g.batch)
    return g.batch


@blp.route("/<int:batch_id>/errors")
@blp.response(200, RowErrorSchema(many=True))
@blp.paginate()
def errors(batch_id, pagination_parameters):
    """Every error the check found, by row and column (the first 1000; ``error_count`` counts them all)"""
    kept = g.batch.errors
    pagination_parameters.item_count = len(kept)
    start = (pagination_parameters.page - 1) * pagination_parameters.page_size
    return kept[start:start + pagination_parameters.page_size]


@blp.route("/<int:batch_id>/apply", methods=["POST"])
@blp.response(200, BatchSchema)
@blp.alt_response(202, schema=BatchSchema, description="a big file: applied by a job, read the batch again")
def apply(batch_id):
    """Apply a checked import in one transaction (needs If-Match). Refused while it has errors. A row that has
    become wrong since the check rejects the whole file: the batch comes back rejected, with the errors"""
    batch = g.batch
    scope = _scope(batch.kind, imports.PERMISSIONS[batch.kind])
    require_if_match(batch)
    imports.require_ready(batch)
    batch.scope, batch.status, batch.applied_by_user_id = scope.as_json(), "applying", g.user.id
    if batch.size <= SYNC_BYTES:
        imports.apply(db_session(), batch, imports.data_dir(), actor=g.user)
        set_etag(batch)
        return batch
    tenant_id = g.tenant.id
    after_commit(db_session(), lambda: imports.apply_job.send(tenant=tenant_id, batch_id=batch_id))
    return batch, 202


@blp.route("/template/<any(units,organizations,members):kind>")
@blp.response(200, description="an xlsx with the headers, notes and dropdowns")
@require_signed_in
def template(kind):
    """The template to fill in for ``kind``: Chinese headers (required ones in red), dropdowns for coded fields"""
    content = spreadsheets.template(columns.SETS[kind], sheet_title=columns.TITLES[kind],
                                    examples=columns.EXAMPLES.get(kind, ()))
    return _xlsx(iter([content]), f"{columns.TITLES[kind]}导入模板.xlsx")


def _xlsx(chunks, filename: str) -> Response:
    response = Response(chunks, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


# --- exports ------------------------------------------------------------------------------------------------------


@exports_blp.route("/<any(units,organizations,members):kind>")
@exports_blp.arguments(ExportQuerySchema, location="query")
@exports_blp.response(200, description="an xlsx under the import's columns, streamed")
def export(query, kind):
    """Export what you may see of ``kind`` (under ``organization`` when given) to xlsx, in the import's columns,
    streamed. ID numbers and phones in full for holders of people.read_id_number (contact phones: tenant admins),
    masked otherwise; every export is on record"""
    permission = READ[kind]
    scope = _scope(kind, (permission,))
    session = db_session()
    subtree = None
    if "organization" in query:
        subtree = organizations.organization_by_id(session, query["organization"], field="query.organization")
        if not in_scope(g.user, permission, subtree.path):
            raise InvalidInput("no such organization", errors={"query.organization": ["no such organization"]})
    full = _full(kind, subtree)
    audit.record(session, f"export.{kind}", obj=subtree, actor=g.user, after={
        "organization_id": subtree.id if subtree is not None else None, "full": full})
    rows = _streamed(kind, scope, subtree.path if subtree is not None else None, full)
    chunks = spreadsheets.write_xlsx(columns.SETS[kind], rows, sheet_title=columns.TITLES[kind])
    return _xlsx(chunks, f"{columns.TITLES[kind]}.xlsx")


def _streamed(kind: str, scope: imports.Scope, subtree: str | None, full: bool):
    """The rows, read while the response is sent, after the request's own session and tenant scope have ended:
    a read-only transaction of their own, in the same tenant."""
    app, database, tenant = current_app._get_current_object(), runtime().db, g.tenant

    def read():
        with app.app_context(), database.unit_of_work() as session, tenancy.tenant_scope(tenant):
            yield from exports.rows(session, kind, scope, subtree, full=full)

    return read()


def _full(kind: str, subtree) -> bool:
    """Whether the export shows personal numbers in full: as the single reads of the API do."""
    user = g.user
    if kind == "organizations":
        return user.is_platform_admin or any(grant.role == "tenant_admin" for grant in user.grants)
    if kind == "members" and has_permission(user, FULL_ID_NUMBER):
        roots = scope_paths(user, FULL_ID_NUMBER)
        return "/" in roots or (subtree is not None and in_scope(user, FULL_ID_NUMBER, subtree.path))
    return False
