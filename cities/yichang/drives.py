"""Formation drives (督促建会, 宜工办〔2016〕22号 四(三)): pushing a unit without a union to form one.

When ``formation_threshold`` (25) or more workers of one unit without a union are parked in reservoirs, the hourly
job opens a drive and dispatches it to the federation of the unit's county (属地管理、各负其责), whose admins get
an SMS. The county admin serves the formation notice (工会组建通知书) within ``formation_notice_days`` (30)
working days, guides the unit, uploads the four documents of the seed and submits them; the city admin approves,
naming the grassroots union that was formed, and in that same transaction the union covers the unit and every
member parked for it moves there, each with an SMS (督促建会 3). A drive that leads nowhere is closed with a note.

    opened ──dispatch──► dispatched ──notice served──► notified ──4 documents, submit──► submitted ──► approved
      (no county: the city admin dispatches; the city admin may re-dispatch until submitted)        └─► closed

Each step is a plain function over the caller's session, audited as ``yichang.drive.<step>``, that never
commits; the API, the pages and the job call the same functions.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import sqlalchemy as sa

from cities.yichang import applications, moves, reservoirs, texts
from cities.yichang.models import DRIVE_DOCUMENTS, DriveDocument, FormationDrive
from cities.yichang.settings import rules as rules_of
from core.toolkit import (
    RESERVOIR_KINDS,
    Conflict,
    Forbidden,
    InvalidInput,
    Membership,
    NotFound,
    Organization,
    Region,
    Unit,
    User,
    actor,
    audit,
    by_id,
    calendar,
    check,
    holders_of,
    id_numbers,
    in_scope,
    units,
    utcnow,
)

STATUS_NAMES = {"opened": "待分派", "dispatched": "待下发通知书", "notified": "建会中", "submitted": "待审核",
                "approved": "已建会", "closed": "已关闭"}
OPEN_STATUSES = ("opened", "dispatched", "notified", "submitted")
#: Who may carry a drive: the county federation of the unit (the seed's rule), an industry union when the city
#: admin chooses one, or the city federation itself for a city-level unit.
HANDLER_KINDS = ("county_federation", "industry_union", "city_federation")
#: A scanned letter fits easily; a phone photo of four pages too.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
ACCEPTED = "PDF、JPEG、PNG 或 Word（DOC/DOCX）文件"
JOB = "yichang.open_formation_drives"

READ, HANDLE, CITY = "yichang.read", "yichang.verify", "yichang.dispatch"


# --- reading -----------------------------------------------------------------------------------------------------


def parked_counts(unit_ids=None) -> sa.Select:
    """``(unit_id, count)`` of the members parked in reservoirs for units that still have no union."""
    statement = (sa.select(Membership.unit_id, sa.func.count().label("parked"))
                 .join(Organization, Organization.id == Membership.organization_id)
                 .join(Unit, Unit.id == Membership.unit_id)
                 .where(Membership.status == "active", Membership.parked.is_(True),
                        Organization.kind.in_(RESERVOIR_KINDS), Unit.has_union.is_(False))
                 .group_by(Membership.unit_id))
    if unit_ids is not None:
        statement = statement.where(Membership.unit_id.in_(list(unit_ids)))
    return statement


def notice_overdue(drive: FormationDrive, day: dt.date) -> bool:
    """The formation notice was due and has not been served (督办)."""
    return drive.status in ("opened", "dispatched") and drive.notice_served_on is None and day > drive.notice_due_on


def overdue(day: dt.date) -> sa.ColumnElement:
    """The filter for drives whose notice is past due on ``day``."""
    return sa.and_(FormationDrive.status.in_(("opened", "dispatched")), FormationDrive.notice_served_on.is_(None),
                   FormationDrive.notice_due_on < day)


def documents_of(session, drive: FormationDrive) -> dict[str, dict]:
    """The drive's uploaded documents by kind, without their content."""
    rows = session.execute(sa.select(
        DriveDocument.kind, DriveDocument.filename, DriveDocument.content_type,
        sa.func.length(DriveDocument.content).label("size"), DriveDocument.updated_at)
        .where(DriveDocument.drive_id == drive.id)).all()
    return {row.kind: {"filename": row.filename, "content_type": row.content_type, "size": row.size,
                       "uploaded_at": row.updated_at} for row in rows}


def document(session, drive: FormationDrive, kind: str) -> DriveDocument:
    found = session.scalars(sa.select(DriveDocument).where(
        DriveDocument.drive_id == drive.id, DriveDocument.kind == kind)).one_or_none()
    if found is None:
        raise NotFound(f"drive {drive.id} has no document {kind}")
    return found


def view(session, drive: FormationDrive, *, today: dt.date | None = None, parked_now: int | None = None,
         with_documents: bool = True) -> dict:
    """What staff read of a drive: the unit, who handles it, the dates and the documents (names, not content)."""
    unit = session.get(Unit, drive.unit_id)
    names = {o.id: o.name for o in session.scalars(sa.select(Organization).where(
        Organization.id.in_([i for i in (drive.handler_id, drive.organization_id) if i])))}
    region = session.get(Region, unit.region_id) if unit.region_id else None
    if parked_now is None:
        parked_now = session.execute(parked_counts([unit.id])).one_or_none()
        parked_now = parked_now.parked if parked_now is not None else 0
    result = {
        "id": drive.id, "unit_id": unit.id, "unit_name": unit.name, "credit_code": unit.credit_code,
        "address": unit.address, "legal_representative": unit.legal_representative,
        "region": region.name if region is not None else "",
        "status": drive.status, "status_name": STATUS_NAMES[drive.status],
        "parked_count": drive.parked_count, "parked_now": parked_now,
        "handler_id": drive.handler_id, "handler": names.get(drive.handler_id, ""),
        "opened_on": drive.opened_on, "notice_due_on": drive.notice_due_on,
        "notice_served_on": drive.notice_served_on,
        "notice_overdue": notice_overdue(drive, today or id_numbers.today()),
        "organization_id": drive.organization_id, "organization": names.get(drive.organization_id, ""),
        "approved_on": drive.approved_on, "note": drive.note, "version": drive.version,
    }
    if with_documents:
        present = documents_of(session, drive)
        result["documents"] = [{"kind": kind, "name": name, "present": kind in present,
                                **present.get(kind, {"filename": "", "content_type": "", "size": 0,
                                                     "uploaded_at": None})}
                               for kind, name in DRIVE_DOCUMENTS.items()]
    return result


# --- who may act -------------------------------------------------------------------------------------------------


def may_read(user, drive: FormationDrive) -> bool:
    """A drive is read where it is handled and above: by those whose subtree holds its handler."""
    return in_scope(user, READ, drive.handler_path)


def readable(session, user, drive_id: int, *, lock: bool = False) -> FormationDrive:
    """The drive, if ``user`` may read it (the pages; the API resolves it before the body). 404 otherwise, as
    if it did not exist."""
    check(user, READ)
    drive = by_id(session, FormationDrive, drive_id, lock=lock)
    if not may_read(user, drive):
        raise NotFound("not found")
    return drive


def is_city_admin(session, user) -> bool:
    """Dispatching, approving and closing are the city federation's (市总工会分管组织建设工作责任人)."""
    return in_scope(user, CITY, applications.city_federation(session).path)


def may_handle(user, drive: FormationDrive) -> bool:
    """Serving the notice, uploading and submitting are the handling federation's (or anyone's above it)."""
    return in_scope(user, HANDLE, drive.handler_path)


def require_city_admin(session, user) -> None:
    check(user, CITY)
    if not is_city_admin(session, user):
        raise Forbidden("only the city federation dispatches, approves or closes a formation drive")


def require_handler(user, drive: FormationDrive) -> None:
    check(user, HANDLE)
    if not may_handle(user, drive):
        raise Forbidden("only the federation handling this drive does this step")


# --- opening -----------------------------------------------------------------------------------------------------


@actor("yichang.open_formation_drives")
def open_formation_drives(session, tenant):
    """Open a formation drive for each unit without a union from which enough members are parked."""
    open_drives(session, tenant)


def open_drives(session, tenant, *, on: dt.date | None = None, actor=JOB) -> list[FormationDrive]:
    """Open a drive for every unit without a union with ``formation_threshold`` or more parked members and no
    open drive. A drive closed without a union is not opened again for the same members: only when more are
    parked than when it closed."""
    rules = rules_of(session, tenant)
    counts = dict(session.execute(parked_counts().having(sa.func.count() >= rules.formation_threshold)).all())
    if not counts:
        return []
    latest: dict[int, FormationDrive] = {}
    for drive in session.scalars(sa.select(FormationDrive).where(FormationDrive.unit_id.in_(list(counts)))
                                 .order_by(FormationDrive.id)):
        latest[drive.unit_id] = drive
    opened = []
    for unit_id, count in sorted(counts.items()):
        last = latest.get(unit_id)
        if last is not None and (last.status in OPEN_STATUSES or (last.status == "closed" and count <= last.parked_count)):
            continue
        opened.append(open_drive(session, tenant, session.get(Unit, unit_id), count, on=on, actor=actor))
    return opened


def open_drive(session, tenant, unit: Unit, count: int, *, on: dt.date | None = None, actor=JOB) -> FormationDrive:
    """Open one drive for ``unit`` and send it to its county federation; without one, to the city admins."""
    rules = rules_of(session, tenant)
    today = on or id_numbers.today()
    county = county_federation_of(session, unit)
    handler = county or applications.city_federation(session)
    drive = FormationDrive(unit_id=unit.id, status="dispatched" if county else "opened", parked_count=count,
                           handler_id=handler.id, handler_path=handler.path, opened_on=today,
                           notice_due_on=calendar.add_workdays(session, today, rules.formation_notice_days))
    session.add(drive)
    session.flush()
    _record(session, "open", drive, None, actor)
    _tell_handler(session, tenant, drive, unit, handler, f"drive:{drive.id}:opened")
    return drive


def county_federation_of(session, unit: Unit) -> Organization | None:
    """The federation of the county the unit is in; None for a city-level unit or one with no region."""
    county = reservoirs.county_of(session, session.get(Region, unit.region_id) if unit.region_id else None)
    if county is None:
        return None
    return session.scalars(sa.select(Organization).where(
        Organization.kind == "county_federation", Organization.status == "active",
        Organization.region_id == county.id).order_by(Organization.id).limit(1)).first()


def _tell_handler(session, tenant, drive: FormationDrive, unit: Unit, handler: Organization, dedupe: str) -> int:
    """The drive-opened SMS to the admins where the drive now waits (the city's when it waits for dispatch)."""
    params = dict(unit=unit.name, count=drive.parked_count,
                  notice_due_on=texts.chinese_date(drive.notice_due_on))
    if handler.kind == "city_federation":
        return _tell_city(session, tenant, "yichang.drive_opened", dedupe, **params)
    return applications._tell_staff(session, tenant, handler, ("federation_admin",), "yichang.drive_opened", dedupe,
                                    **params)


def _tell_city(session, tenant, key: str, dedupe: str, **params) -> int:
    """Text the city admins: tenant admins and admins of the city federation with a phone; else its contact."""
    city = applications.city_federation(session)
    admins = session.scalars(sa.select(User).where(
        User.active.is_(True), User.grants.any(role="tenant_admin")).order_by(User.id)).all()
    phones = list(dict.fromkeys(user.phone for user in admins if user.phone))
    phones += [user.phone for user in holders_of(session, city, ("federation_admin",))
               if user.phone and user.phone not in phones]
    if not phones and city.contact_phone:
        phones = [city.contact_phone]
    for n, phone in enumerate(phones):
        texts.send(session, tenant, key, phone=phone, dedupe_key=f"{dedupe}:{n}", **params)
    return len(phones)


# --- the steps ---------------------------------------------------------------------------------------------------


def dispatch(session, tenant, drive: FormationDrive, *, to: Organization, actor=None) -> FormationDrive:
    """The city admin sends (or sends again) a drive to the federation that carries it (任务分派); its admins
    get the SMS. A drive already submitted stays where it is."""
    _require_status(drive, "opened", "dispatched", "notified")
    if to.kind not in HANDLER_KINDS or to.status != "active":
        raise InvalidInput(f"{to.name} does not carry formation drives",
                           errors={"organization_id": ["请选择县（市、区）总工会、产业工会或市总工会"]})
    before = _trail(drive)
    dedupe = f"drive:{drive.id}:dispatched:{to.id}:{drive.version}"
    drive.handler_id, drive.handler_path = to.id, to.path
    if drive.status == "opened":
        drive.status = "dispatched"
    _record(session, "dispatch", drive, before, actor)
    _tell_handler(session, tenant, drive, session.get(Unit, drive.unit_id), to, dedupe)
    return drive


def serve_notice(session, tenant, drive: FormationDrive, *, served_on: dt.date, actor=None) -> FormationDrive:
    """The county admin records the day the formation notice was served on the unit (下发《工会组建通知书》);
    a wrong day may be corrected until the documents are submitted."""
    _require_status(drive, "dispatched", "notified")
    if served_on > id_numbers.today():
        raise InvalidInput("the notice cannot be served in the future", errors={"served_on": ["不能晚于今天"]})
    if served_on < drive.opened_on:
        raise InvalidInput("the notice was served before the drive opened",
                           errors={"served_on": [f"不能早于督促建会启动日期 {drive.opened_on.isoformat()}"]})
    before = _trail(drive)
    drive.notice_served_on, drive.status = served_on, "notified"
    _record(session, "notice", drive, before, actor)
    return drive


def check_document(field: str, filename: str, content: bytes) -> str:
    """The content type of an uploaded document, told by its first bytes (never by its name or by what the
    browser says). Refuses, naming ``field``, what is empty, too big, or not a PDF, image or Word file."""
    label = DRIVE_DOCUMENTS.get(field, field)
    if not content:
        raise InvalidInput(f"{field} is empty", errors={field: [f"{label}：文件是空的"]})
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"{field} is too large", errors={field: [
            f"{label}：文件不能超过 {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB"]})
    kind = _sniff(content)
    if kind is None:
        raise InvalidInput(f"{field} is not a PDF, image or Word file", errors={field: [
            f"{label}：只接受{ACCEPTED}"]})
    return kind


def _sniff(content: bytes) -> str | None:
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: a .doc
        return "application/msword"
    if content.startswith(b"PK\x03\x04"):  # a zip: a .docx only if it holds a Word document
        try:
            names = zipfile.ZipFile(io.BytesIO(content)).namelist()
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names and any(name.startswith("word/") for name in names):
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return None


def upload(session, tenant, drive: FormationDrive, *, kind: str, filename: str, content: bytes,
           actor=None) -> DriveDocument:
    """The county admin uploads one of the four documents (上传资料); a second upload of a kind replaces it."""
    if kind not in DRIVE_DOCUMENTS:
        raise InvalidInput(f"no document {kind!r}", errors={kind: [f"one of {', '.join(DRIVE_DOCUMENTS)}"]})
    _require_status(drive, "dispatched", "notified")
    content_type = check_document(kind, filename, content)
    name = (filename or kind).replace("\\", "/").rsplit("/", 1)[-1].strip()[-200:] or kind
    stored = session.scalars(sa.select(DriveDocument).where(
        DriveDocument.drive_id == drive.id, DriveDocument.kind == kind)).one_or_none()
    if stored is None:
        stored = DriveDocument(drive_id=drive.id, kind=kind, filename=name, content_type=content_type,
                               content=content)
        session.add(stored)
    else:
        stored.filename, stored.content_type, stored.content = name, content_type, content
    stored.uploaded_by_id = getattr(actor, "id", None)
    drive.updated_at = utcnow()  # the drive changed: a new version, so a form read before this upload is stale
    session.flush()
    audit.record(session, "yichang.drive.upload", obj=drive, actor=actor, scope=drive.handler_path,
                 after={"drive_id": drive.id, "kind": kind, "filename": name, "content_type": content_type,
                        "size": len(content)})
    return stored


def upload_all(session, tenant, drive: FormationDrive, files: dict[str, tuple[str, bytes]], *,
               actor=None) -> list[DriveDocument]:
    """Upload several documents at once (``kind -> (filename, content)``), all or none: every wrong file is named
    before anything is stored."""
    if not files:
        raise InvalidInput("choose a file", errors={"documents": ["请选择要上传的文件"]})
    errors: dict[str, list[str]] = {}
    for kind, (filename, content) in files.items():
        if kind not in DRIVE_DOCUMENTS:
            errors[kind] = [f"no such document; one of {', '.join(DRIVE_DOCUMENTS)}"]
            continue
        try:
            check_document(kind, filename, content)
        except InvalidInput as error:
            errors.update(error.errors)
    if errors:
        raise InvalidInput("some files cannot be taken", errors=errors)
    return [upload(session, tenant, drive, kind=kind, filename=filename, content=content, actor=actor)
            for kind, (filename, content) in files.items()]


def submit(session, tenant, drive: FormationDrive, *, actor=None) -> FormationDrive:
    """The county admin reports the union formed, with all four documents (审核); the city admins get an SMS."""
    _require_status(drive, "notified")
    missing = [name for kind, name in DRIVE_DOCUMENTS.items() if kind not in documents_of(session, drive)]
    if missing:
        raise InvalidInput("documents are missing", code="documents_missing",
                           errors={"documents": [f"还缺：{'、'.join(missing)}"]})
    before = _trail(drive)
    drive.status = "submitted"
    _record(session, "submit", drive, before, actor)
    unit = session.get(Unit, drive.unit_id)
    _tell_city(session, tenant, "yichang.drive_submitted", f"drive:{drive.id}:submitted:{drive.version}",
               unit=unit.name)
    return drive


def approve(session, tenant, drive: FormationDrive, *, organization: Organization, actor=None) -> int:
    """The city admin approves (审核通过), naming the grassroots union formed at the unit. In this transaction the
    union covers the unit and every member parked for it moves there, each with an SMS. Returns how many moved."""
    _require_status(drive, "submitted")
    unit = session.get(Unit, drive.unit_id)
    if unit.has_union and unit.organization_id not in (None, organization.id):
        covering = session.get(Organization, unit.organization_id)
        raise Conflict(f"{unit.name} is covered by {covering.name}", code="unit_has_union", errors={
            "organization_id": [f"该单位已由{covering.name}覆盖；如需更正，请先在单位信息中修改"]})
    if organization.kind != "grassroots_union" or organization.status != "active":
        raise InvalidInput(f"{organization.name} is not an active grassroots union",
                           errors={"organization_id": ["请选择新成立的基层工会（须先在组织管理中建立）"]})
    before = _trail(drive)
    if not (unit.has_union and unit.organization_id == organization.id):
        units.set_covering_union(session, unit, organization, actor=actor)
    moved = moves.transfer_parked(session, tenant, unit, actor=actor)
    drive.status, drive.organization_id, drive.approved_on = "approved", organization.id, id_numbers.today()
    _record(session, "approve", drive, before, actor, moved=moved)
    return moved


def close(session, tenant, drive: FormationDrive, *, note: str, actor=None) -> FormationDrive:
    """The city admin closes a drive that will not lead to a union here (the unit closed down, left the city, or
    joined a joint union), saying why. Its parked members stay parked; a new drive opens only if more are parked."""
    _require_status(drive, *OPEN_STATUSES)
    note = (note or "").strip()
    if not note:
        raise InvalidInput("say why the drive is closed", errors={"note": ["请填写关闭原因"]})
    if len(note) > 500:
        raise InvalidInput("the note is too long", errors={"note": ["不超过500个字"]})
    before = _trail(drive)
    counted = session.execute(parked_counts([drive.unit_id])).one_or_none()
    drive.status, drive.note = "closed", note
    drive.parked_count = max(drive.parked_count, counted.parked if counted is not None else 0)
    _record(session, "close", drive, before, actor)
    return drive


# --- shared ------------------------------------------------------------------------------------------------------


def _require_status(drive: FormationDrive, *statuses: str) -> None:
    if drive.status not in statuses:
        raise Conflict(f"formation drive {drive.id} is {drive.status}", code="wrong_status", errors={
            "status": [f"当前状态为“{STATUS_NAMES[drive.status]}”，不能办理此步骤"]})


def _trail(drive: FormationDrive) -> dict:
    return {"id": drive.id, "unit_id": drive.unit_id, "status": drive.status, "handler_id": drive.handler_id,
            "parked_count": drive.parked_count, "notice_due_on": drive.notice_due_on.isoformat(),
            "notice_served_on": drive.notice_served_on.isoformat() if drive.notice_served_on else None,
            "organization_id": drive.organization_id, "note": drive.note}


def _record(session, step: str, drive: FormationDrive, before: dict | None, actor, **extra) -> None:
    audit.record(session, f"yichang.drive.{step}", obj=drive, before=before, after=_trail(drive) | extra,
                 actor=actor, scope=drive.handler_path)
