"""Formation drive pages for staff: ``/yichang/drives`` (督促建会).

The list shows every drive handled in the caller's subtrees with its status, the parked count and the notice's
due date, overdue notices first and marked. A drive's page shows its steps and, to whoever may do the next one,
its form: the city admin dispatches, approves (picking the union formed) or closes; the county admin records the
notice served, uploads the four documents and submits. Each form carries the version it was read at, so a change
made meanwhile by someone else is refused (409), not lost; a refused form shows the page again with the wrong
field named, and the request's transaction rolls back.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, request, url_for

from cities.yichang import drives
from cities.yichang.drives_api import document_response, listed
from cities.yichang.models import DRIVE_DOCUMENTS, FormationDrive
from core.toolkit import (
    DomainError,
    InvalidInput,
    MenuItem,
    Organization,
    Refusal,
    Unit,
    db_session,
    id_numbers,
    organizations,
    render_page,
    require,
    scope_filter,
    subtree_bounds,
)

bp = Blueprint("yichang_drive_pages", __name__)

PAGE_SIZE = 50
#: How many unions the approval form offers at once (the newest in the handling federation, or those found).
PICKER_SIZE = 20


def menu_items(tenant, user):
    return [MenuItem("督促建会", "yichang_drive_pages.drive_list", permission=drives.READ, order=32)]


@bp.before_request
def _signed_in():
    """Anyone not signed in is sent to sign in and brought back."""
    if g.get("user") is None:
        here = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
        return redirect(url_for("auth_pages.login_page", next=here), code=303)
    return None


# --- list --------------------------------------------------------------------------------------------------------


@bp.get("/drives")
@require(drives.READ)
def drive_list():
    session = db_session()
    today = id_numbers.today()
    status = request.args.get("status", "")
    late = request.args.get("overdue") == "1"
    query = request.args.get("q", "").strip()
    page = max(int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1, 1)
    statement = sa.select(FormationDrive).where(scope_filter(g.user, drives.READ, FormationDrive.handler_path))
    if status in drives.STATUS_NAMES:
        statement = statement.where(FormationDrive.status == status)
    elif status == "open":
        statement = statement.where(FormationDrive.status.in_(drives.OPEN_STATUSES))
    if late:
        statement = statement.where(drives.overdue(today))
    if query:
        statement = statement.where(FormationDrive.unit_id.in_(
            sa.select(Unit.id).where(Unit.name.contains(query, autoescape=True))))
    statement = statement.order_by(sa.case((drives.overdue(today), 0), else_=1), FormationDrive.id.desc())
    rows = list(session.scalars(statement.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    more = len(rows) > PAGE_SIZE
    late_count = session.scalar(sa.select(sa.func.count()).select_from(FormationDrive).where(
        scope_filter(g.user, drives.READ, FormationDrive.handler_path), drives.overdue(today)))
    return render_page("yichang/drives/list.html", drives=listed(session, rows[:PAGE_SIZE], today),
                       status=status, overdue=late, query=query, page=page, more=more, late_count=late_count,
                       statuses=drives.STATUS_NAMES, documents_total=len(DRIVE_DOCUMENTS))


# --- one drive ---------------------------------------------------------------------------------------------------


def _detail(drive: FormationDrive, refusal: Refusal | None = None):
    session = db_session()
    city_admin = drives.is_city_admin(session, g.user)
    handler = drives.may_handle(g.user, drive)
    context = dict(
        drive=drives.view(session, drive), refusal=refusal, form=request.form if refusal else None,
        city_admin=city_admin, handler=handler, today=id_numbers.today(),
        may_dispatch=city_admin and drive.status in ("opened", "dispatched", "notified"),
        may_serve=handler and drive.status in ("dispatched", "notified"),
        may_upload=handler and drive.status in ("dispatched", "notified"),
        may_submit=handler and drive.status == "notified",
        may_decide=city_admin and drive.status == "submitted",
        may_close=city_admin and drive.status in drives.OPEN_STATUSES,
        notice_href=url_for("yichang_print_pages.drive_notice", drive_id=drive.id),
    )
    if context["may_dispatch"]:
        context["carriers"] = [(o.id, o.name) for o in _carriers(session)]
    if context["may_decide"]:
        context["union_query"] = request.values.get("union_q", "").strip()
        context["unions"] = _unions(session, drive, context["union_query"])
    body = render_page("yichang/drives/detail.html", **context)
    return (body, refusal.status) if refusal is not None else body


def _carriers(session) -> list[Organization]:
    """Where the city admin may send a drive: the city federation, the county federations, the industry unions."""
    return list(session.scalars(sa.select(Organization).where(
        Organization.kind.in_(drives.HANDLER_KINDS), Organization.status == "active").order_by(Organization.path)))


def _unions(session, drive: FormationDrive, query: str) -> list[Organization]:
    """The unions the approval form offers: those named like ``query`` anywhere in the city, or else the newest
    in the handling federation's subtree (where the county admin created the union formed)."""
    statement = sa.select(Organization).where(Organization.kind == "grassroots_union",
                                              Organization.status == "active")
    if query:
        statement = statement.where(Organization.name.contains(query, autoescape=True))
    else:
        low, high = subtree_bounds(drive.handler_path)
        statement = statement.where(Organization.path >= low, Organization.path < high)
    return list(session.scalars(statement.order_by(Organization.created_at.desc(), Organization.id.desc())
                                .limit(PICKER_SIZE)))


@bp.get("/drives/<int:drive_id>")
@require(drives.READ)
def drive_detail(drive_id):
    return _detail(drives.readable(db_session(), g.user, drive_id))


@bp.get("/drives/<int:drive_id>/documents/<kind>")
@require(drives.READ)
def drive_document(drive_id, kind):
    session = db_session()
    return document_response(drives.document(session, drives.readable(session, g.user, drive_id), kind))


def _step(drive_id: int, step: str, act, done: str):
    """Run one step's form: the drive locked and at the version the form was read at, the step done, back to
    the drive's page; or the page again saying what was wrong."""
    session = db_session()
    drive = drives.readable(session, g.user, drive_id, lock=True)
    if request.form.get("version", "") != str(drive.version):
        return _detail(drive, Refusal("在您填写期间，他人已办理或修改了此事项。请核对当前情况后重新提交。",
                                      {}, 409, step))
    try:
        act(session, drive)
    except DomainError as error:
        session.rollback()
        return _detail(drives.readable(session, g.user, drive_id), Refusal.of(error, step))
    flash(done)
    return redirect(url_for("yichang_drive_pages.drive_detail", drive_id=drive_id), code=303)


def _organization(session, field_name: str) -> Organization:
    raw = request.form.get(field_name, "").strip()
    if not raw.isdigit():
        raise InvalidInput("choose an organization", errors={field_name: ["请选择"]})
    return organizations.organization_by_id(session, int(raw), field=field_name)


@bp.post("/drives/<int:drive_id>/dispatch")
@require(drives.CITY)
def drive_dispatch(drive_id):
    def act(session, drive):
        drives.require_city_admin(session, g.user)
        drives.dispatch(session, g.tenant, drive, to=_organization(session, "organization_id"), actor=g.user)
    return _step(drive_id, "dispatch", act, "已分派。")


@bp.post("/drives/<int:drive_id>/served")
@require(drives.HANDLE)
def drive_served(drive_id):
    def act(session, drive):
        drives.require_handler(g.user, drive)
        drives.serve_notice(session, g.tenant, drive, served_on=_date("served_on"), actor=g.user)
    return _step(drive_id, "served", act, "已登记《工会组建通知书》送达日期。")


def _date(name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        raise InvalidInput("a date", errors={name: ["请填写日期，如 2026-03-02"]}) from None


@bp.post("/drives/<int:drive_id>/documents")
@require(drives.HANDLE)
def drive_upload(drive_id):
    def act(session, drive):
        drives.require_handler(g.user, drive)
        sent = {kind: (item.filename, item.stream.read(drives.MAX_DOCUMENT_BYTES + 1))
                for kind, item in request.files.items() if item is not None and item.filename}
        drives.upload_all(session, g.tenant, drive, sent, actor=g.user)
    return _step(drive_id, "documents", act, "资料已上传。")


@bp.post("/drives/<int:drive_id>/submit")
@require(drives.HANDLE)
def drive_submit(drive_id):
    def act(session, drive):
        drives.require_handler(g.user, drive)
        drives.submit(session, g.tenant, drive, actor=g.user)
    return _step(drive_id, "submit", act, "已上报市总工会审核。")


@bp.post("/drives/<int:drive_id>/approve")
@require(drives.CITY)
def drive_approve(drive_id):
    def act(session, drive):
        drives.require_city_admin(session, g.user)
        moved = drives.approve(session, g.tenant, drive, organization=_organization(session, "organization_id"),
                               actor=g.user)
        g.moved = moved
    response = _step(drive_id, "approve", act, "已审核通过。")
    if g.get("moved") is not None:
        flash(f"蓄水池中该单位的 {g.moved} 名会员已转入新成立的工会，并已短信告知。")
    return response


@bp.post("/drives/<int:drive_id>/close")
@require(drives.CITY)
def drive_close(drive_id):
    def act(session, drive):
        drives.require_city_admin(session, g.user)
        drives.close(session, g.tenant, drive, note=request.form.get("note", ""), actor=g.user)
    return _step(drive_id, "close", act, "督促建会事项已关闭。")
