"""Staff pages for imports and exports (导入导出), desktop first.

``/imports``: the imports the signed-in staff member may see, the upload form, the templates to fill in and the
exports of what they may read. ``/imports/<id>``: what checking the file found (counts, every error by row and
column), a progress bar while a job checks or applies a big file (the page polls the batch's API), and the
button that applies it. The work is ``core.registry.imports``'; who may do what is decided as in the API, by
``core.registry.import_batches``: a batch outside the caller's subtrees does not exist for them.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from core.app import db_session
from core.auth import has_permission, login
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.models.import_batch import ImportBatch
from core.registry import import_batches, imports
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page
from core.web.worker_pages import said

KIND_LABELS = {"units": lazy_gettext("Units"), "organizations": lazy_gettext("Union organizations"),
               "members": lazy_gettext("Members")}
#: A batch in one of these is being worked on by a job: its page shows the progress bar and polls.
RUNNING = ("uploaded", "checking", "applying")
#: How many imports the list shows (the newest).
LISTED = 50


def beijing(moment: dt.datetime | None) -> str:
    """A stored (UTC) time as China reads it."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(login.BEIJING).strftime("%Y-%m-%d %H:%M")


def _may_import(kind: str) -> bool:
    return all(has_permission(g.user, permission) for permission in imports.PERMISSIONS[kind])


def _batch(batch_id: int) -> ImportBatch:
    batch = import_batches.visible_batch(db_session(), g.user, batch_id)
    if batch is None:
        raise NotFound(_("No such import."))
    return batch


def _list(**context):
    user = g.user
    if not any(has_permission(user, import_batches.READ[kind]) for kind in imports.KINDS):
        raise Forbidden(_("Imports and exports are for union staff."))
    batches = db_session().scalars(
        sa.select(ImportBatch).where(import_batches.visible(g.user)).order_by(ImportBatch.id.desc()).limit(LISTED)
    ).all() if any(_may_import(kind) for kind in imports.KINDS) else []
    return render_page(
        "core/imports/list.html", batches=batches, kinds=KIND_LABELS, beijing=beijing,
        importable=[kind for kind in imports.KINDS if _may_import(kind)],
        exportable=[kind for kind in imports.KINDS if has_permission(user, import_batches.READ[kind])], **context)


@core_pages.route("/imports", methods=["GET", "POST"])
@signed_in_page
def import_list():
    if request.method == "GET":
        return _list()
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if kind not in imports.KINDS:
        return _list(error=_("Choose what the file holds."), field="kind"), 422
    if upload is None or not upload.filename:
        return _list(error=_("Choose a file to upload."), field="file", kind=kind), 422
    scope = import_batches.caller_scope(db_session(), g.user, kind, imports.PERMISSIONS[kind])
    filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
    try:
        stored, size = imports.store(imports.data_dir(), g.tenant.id, filename, upload.stream)
    except InvalidInput as error:
        return _list(error=error.message, field="file", kind=kind), error.status
    session = db_session()
    batch = imports.new_batch(session, kind=kind, filename=filename, stored_path=stored, size=size, user=g.user,
                              scope=scope)
    batch.status = "checking"
    if size <= import_batches.SYNC_BYTES:
        imports.check(session, batch, imports.data_dir())
    else:
        tenant_id, batch_id = g.tenant.id, batch.id
        import_batches.after_commit(session, lambda: imports.check_job.send(tenant=tenant_id, batch_id=batch_id))
    return redirect(url_for("core_pages.import_batch", batch_id=batch.id), code=303)


@core_pages.get("/imports/<int:batch_id>")
@signed_in_page
def import_batch(batch_id: int):
    batch = _batch(batch_id)
    return render_page("core/imports/batch.html", batch=batch, kinds=KIND_LABELS, beijing=beijing, said=said,
                       running=batch.status in RUNNING,
                       may_apply=batch.status == "checked" and not batch.error_count and _may_import(batch.kind))


@core_pages.post("/imports/<int:batch_id>/apply")
@signed_in_page
def import_apply(batch_id: int):
    """Apply a checked import: in the request for a small file, else in a job (the page shows its progress).
    The version the page showed must still be the batch's (two people pressing apply: one applies)."""
    batch = _batch(batch_id)
    scope = import_batches.caller_scope(db_session(), g.user, batch.kind, imports.PERMISSIONS[batch.kind])
    if request.form.get("version") != str(batch.version):
        raise Conflict(_("This import has changed since you opened it: look at it again."))
    imports.require_ready(batch)
    batch.scope, batch.status, batch.applied_by_user_id = scope.as_json(), "applying", g.user.id
    if batch.size <= import_batches.SYNC_BYTES:
        report = imports.apply(db_session(), batch, imports.data_dir(), actor=g.user)
        if report.ok:
            flash(_("Imported: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.",
                    created=report.created, updated=report.updated, unchanged=report.unchanged))
    else:
        tenant_id = g.tenant.id
        import_batches.after_commit(db_session(), lambda: imports.apply_job.send(tenant=tenant_id, batch_id=batch_id))
    return redirect(url_for("core_pages.import_batch", batch_id=batch_id), code=303)
