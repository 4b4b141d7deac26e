"""The print pages of the forms (flow 10): each form as an A4 page to print from the browser, and as a PDF.

    /yichang/applications/<id>/forms/<key>[.pdf]   join_application, registration (joins);
                                                   transfer_letter, management_card (transfers)
    /yichang/drives/<id>/notice[.pdf]              the formation notice (工会组建通知书)

Staff holding ``yichang.read`` over the organization handling the application or drive (its ``handler_path``)
may print; for anyone else the object does not exist (404, as the API answers). The registration form and the
management card carry the full ID number and phone only for those who decide the application
(``yichang.decide`` over it), and each print of them is a read on record; everyone else sees them masked.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, make_response, redirect, request, url_for

from cities.yichang import forms
from cities.yichang.models import Application, FormationDrive
from core.toolkit import NotFound, by_id, current_tenant, current_user, db_session, in_scope, render_page

bp = Blueprint("yichang_print_pages", __name__)

READ, DECIDE = "yichang.read", "yichang.decide"


def menu_items(tenant, user):
    return []  # a form is printed from its application or drive, never from the menu


def _signed_in():
    """Where to send a visitor who has not signed in (the sign-in page, then back here), or None."""
    if current_user() is not None:
        return None
    return redirect(url_for("auth_pages.login_page", next=request.full_path.rstrip("?")), code=303)


def _application_sheet(application_id: int, key: str) -> tuple[forms.Sheet, list]:
    session, user = db_session(), current_user()
    try:
        application = by_id(session, Application, application_id)
    except NotFound:
        application = None
    if application is None or not in_scope(user, READ, application.handler_path) \
            or key not in forms.FOR_KIND[application.kind]:
        raise NotFound("没有这张表格。")
    reader = user if key in forms.FULL_ID_FORMS and in_scope(user, DECIDE, application.handler_path) else None
    sheet = forms.application_sheet(session, application, key, reader=reader)
    others = [(forms.TITLES[other], url_for(".application_form", application_id=application_id, key=other))
              for other in forms.FOR_KIND[application.kind]]
    return sheet, others


def _drive_sheet(drive_id: int) -> tuple[forms.Sheet, FormationDrive]:
    session = db_session()
    drive = session.get(FormationDrive, drive_id)
    if drive is None or not in_scope(current_user(), READ, drive.handler_path):
        raise NotFound("没有这项督促建会。")
    return forms.notice_sheet(session, current_tenant(), drive), drive


def _page(sheet: forms.Sheet, pdf_url: str, *, others=(), notes=()):
    response = make_response(render_page("yichang/forms/page.html", sheet=sheet, pdf_url=pdf_url,
                                         others=others, notes=notes))
    return _private(response, sheet)


def _pdf(sheet: forms.Sheet):
    response = make_response(forms.pdf(sheet))
    response.mimetype = "application/pdf"
    name = quote(f"{sheet.filename}.pdf")
    response.headers["Content-Disposition"] = f"inline; filename=\"form.pdf\"; filename*=UTF-8''{name}"
    return _private(response, sheet)


def _private(response, sheet: forms.Sheet):
    # a sheet with a full ID number must not stay in a shared browser's or proxy's cache
    response.headers["Cache-Control"] = "no-store" if sheet.full_id_number else "private, no-cache"
    return response


@bp.get("/applications/<int:application_id>/forms/<key>")
def application_form(application_id: int, key: str):
    if (visitor := _signed_in()) is not None:
        return visitor
    sheet, others = _application_sheet(application_id, key)
    notes = () if sheet.full_id_number or key not in forms.FULL_ID_FORMS else (
        "身份证号和电话已隐去部分数字：完整号码仅审批本申请的工会可以打印。",)
    return _page(sheet, url_for(".application_form_pdf", application_id=application_id, key=key),
                 others=others, notes=notes)


@bp.get("/applications/<int:application_id>/forms/<key>.pdf")
def application_form_pdf(application_id: int, key: str):
    if (visitor := _signed_in()) is not None:
        return visitor
    return _pdf(_application_sheet(application_id, key)[0])


@bp.get("/drives/<int:drive_id>/notice")
def drive_notice(drive_id: int):
    if (visitor := _signed_in()) is not None:
        return visitor
    sheet, drive = _drive_sheet(drive_id)
    notes = [f"达到建会人数之日：{forms.chinese_date(drive.opened_on)}；"
             f"通知书应于{forms.chinese_date(drive.notice_due_on)}前下发。"]
    return _page(sheet, url_for(".drive_notice_pdf", drive_id=drive_id), notes=notes)


@bp.get("/drives/<int:drive_id>/notice.pdf")
def drive_notice_pdf(drive_id: int):
    if (visitor := _signed_in()) is not None:
        return visitor
    return _pdf(_drive_sheet(drive_id)[0])
