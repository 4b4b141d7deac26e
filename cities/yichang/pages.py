"""Yichang's pages (宜工办〔2016〕22号): the worker's "入会转会" and "申请状态", and the staff's queues, the
application with the steps the caller may take at its status, the overdue list (超期督办) and moving a member out.

- Worker pages are mobile first (360 px, inside WeChat's web view): plain forms that work without scripts. The
  unit search answers the form's "查询" button; a short script also asks ``/apply/units`` as the worker types and
  puts the list in place.
- Staff pages are for a desk. Staff see the applications handled in their subtree (``scope_filter`` on
  ``handler_path``), any other id is 404; each step needs its permission over the application's handler.

Every page calls the service functions of ``applications`` and ``moves`` in the request's unit of work (core
commits after a response under 400 and rolls back otherwise), so a refused form changes nothing. Every form
carries the CSRF token; a step's form also carries the version it was read at, and a stale one is refused with
409 and the page as it is now (the pages' If-Match). A refused form keeps what was typed and names the wrong field.
"""
from __future__ import annotations

import datetime as dt
import functools

import sqlalchemy as sa
from flask import Blueprint, flash, make_response, redirect, request, url_for

from cities.yichang import applications, forms, moves, reservoirs, texts
from cities.yichang.models import OPEN_STATUSES, Application
from cities.yichang.settings import rules
from core.toolkit import (
    RESERVOIR_KINDS,
    DomainError,
    Forbidden,
    InvalidInput,
    Membership,
    MenuItem,
    NotFound,
    Organization,
    Person,
    Refusal,
    Region,
    Unit,
    audit,
    by_id,
    calendar,
    check,
    current_user,
    db_session,
    has_permission,
    id_numbers,
    in_scope,
    mask_id_number,
    mask_phone,
    memberships,
    people,
    render_page,
    require_in_scope,
    require_tenant,
    scope_filter,
    unit_search,
)

bp = Blueprint("yichang_pages", __name__, static_folder="static", static_url_path="/static")

READ, DISPATCH, VERIFY, DECIDE, MOVE_OUT = ("yichang.read", "yichang.dispatch", "yichang.verify", "yichang.decide",
                                            "yichang.move_out")
PAGE_SIZE = 50
BEIJING = dt.timezone(dt.timedelta(hours=8))
#: What the worker says they are at the unit (models.RELATIONS); the seed refuses legal representatives and partners.
RELATION_NAMES = {"employee": "本单位职工", "legal_representative": "法定代表人", "partner": "合伙人"}
#: The employment forms of core's person registry (就业形态).
EMPLOYMENT_FORMS = people.EMPLOYMENT_FORMS
KIND_TITLES = {"join": "职工入会申请管理", "transfer": "会籍转接申请管理"}
#: The printed forms of each kind (print_pages.py serves them under the application's address): the seed has the
#: chairman print the join application and registration form for a join, the letter and card for a transfer.
FORMS = {kind: tuple((key, forms.TITLES[key]) for key in keys) for kind, keys in forms.FOR_KIND.items()}
#: The steps of the audit trail (痕迹管理), as the application page lists them.
TRAIL_NAMES = {"submit": "提交申请", "refuse": "资格审查未通过", "dispatch": "业务分派", "verify": "信息校核",
               "approve": "审核通过", "reject": "审核未通过", "withdraw": "申请人撤回"}
ORGANIZATION_KINDS = {"county_federation": "县（市、区）总工会", "industry_union": "产业（行业）工会",
                      "city_enterprise_committee": "市直企业工会委员会（蓄水池）", "grassroots_union": "基层工会",
                      "service_centre_committee": "职工服务中心工会委员会（蓄水池）", "grid_union": "网格工会（蓄水池）"}
STALE = "这件申请刚由他人办理过，下面是它现在的样子。请核对后再操作。"


def menu_items(tenant, user):
    return [
        MenuItem(label="入会转会", endpoint="yichang_pages.apply", area="worker", order=20),
        MenuItem(label="申请状态", endpoint="yichang_pages.my_applications", area="worker", order=21),
        MenuItem(label="入会转会申请", endpoint="yichang_pages.queue", area="staff", permission=READ, order=20),
        # The seed has the city and county platform admins supervise (督办): the holders of dispatch.
        MenuItem(label="超期督办", endpoint="yichang_pages.overdue_list", area="staff", permission=DISPATCH, order=21),
    ]


# --- what every page shares ----------------------------------------------------------------------------------------


def signed_in(view):
    """A page for signed-in users: anyone else signs in first and comes back."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            here = request.full_path.rstrip("?") if request.method == "GET" else request.path
            return redirect(url_for("auth_pages.login_page", next=here), code=303)
        return view(*args, **kwargs)

    return wrapper


def _page(template: str, status: int = 200, **context):
    return make_response(render_page(template, **context), status)


def _id(value) -> int | None:
    value = str(value or "").strip()
    return int(value) if value.isdigit() else None


def _version_matches(obj) -> bool:
    return request.form.get("version", "") == str(obj.version)


def _page_number() -> int:
    return max(_id(request.args.get("page")) or 1, 1)


def chinese_date(day: dt.date | str | None) -> str:
    if not day:
        return ""
    return texts.chinese_date(dt.date.fromisoformat(day) if isinstance(day, str) else day)


def _masked_phone(phone: str | None) -> str:
    return mask_phone(phone) if phone else ""


# --- worker: 入会转会 --------------------------------------------------------------------------------------------


def _own_person(session) -> Person | None:
    person_id = getattr(current_user(), "person_id", None)
    return session.get(Person, person_id) if person_id is not None else None


def _channel() -> str:
    """The seed's two ways in (两终端): the WeChat account on a phone, or the service website."""
    agent = request.headers.get("User-Agent", "")
    return "mobile" if "MicroMessenger" in agent or "Mobile" in agent else "web"


def region_groups(session) -> list[tuple[str, list[tuple[int, str]]]]:
    """The "所属区域" choices: the city (for city-level units), then each county with its streets and towns."""
    rows = session.scalars(sa.select(Region).where(Region.level.in_(("city", "county", "street")))
                           .order_by(Region.path)).all()
    groups: list[tuple[str, list[tuple[int, str]]]] = []
    for region in rows:
        if region.level == "city":
            groups.append((region.name, [(region.id, f"{region.name}（市直单位）")]))
        elif region.level == "county":
            groups.append((region.name, [(region.id, f"{region.name}（全区域）")]))
        elif groups:
            groups[-1][1].append((region.id, region.name))
    return groups


def _region(session, value) -> Region | None:
    region_id = _id(value)
    return session.get(Region, region_id) if region_id is not None else None


def search_units(session, text: str, region: Region | None = None) -> tuple[list, str | None]:
    """The registry's fuzzy name search (any two characters from anywhere in the name), within the county of the
    picked region: a unit registered at the county is found whichever street the worker picked."""
    if not text.strip():
        return [], None
    county = reservoirs.county_of(session, region) if region is not None and region.level != "city" else None
    try:
        return unit_search.search(session, text, region=county), None
    except InvalidInput:
        return [], "请至少输入单位名称中的两个字。"


def _unit(session, value) -> Unit | None:
    unit_id = _id(value)
    return session.get(Unit, unit_id) if unit_id is not None else None


def _organization(session, value) -> Organization | None:
    organization_id = _id(value)
    return session.get(Organization, organization_id) if organization_id is not None else None


def _open_application(session, person: Person) -> Application | None:
    return session.scalars(sa.select(Application).where(
        Application.person_id == person.id, Application.status.in_(OPEN_STATUSES)).limit(1)).first()


def _apply_page(session, person: Person, *, form=None, refusal: Refusal | None = None):
    form = form if form is not None else {}
    current = memberships.current(session, person)
    region = _region(session, form.get("region_id"))
    query = form.get("q", "").strip()
    hits, problem = search_units(session, query, region)
    chosen = _unit(session, form.get("unit_id"))
    current_union = session.get(Organization, current.organization_id) if current is not None else None
    return _page(
        "yichang/worker/apply.html", refusal.status if refusal else 200,
        kind="transfer" if current is not None else "join", person=person, form=form, refusal=refusal,
        masked_id=mask_id_number(person.id_number), masked_phone=_masked_phone(person.phone),
        current=current, current_union=current_union, regions=region_groups(session), query=query, hits=hits,
        problem=problem, chosen=chosen, relations=RELATION_NAMES, employment_forms=EMPLOYMENT_FORMS,
        open_application=_open_application(session, person),
        default_employment_form=person.employment_form or "employee")


def _apply_fields(session, form) -> tuple[dict, dict[str, str]]:
    """What the form asks for, and what the page itself can tell is missing (the service checks the rest)."""
    errors: dict[str, str] = {}
    region = _region(session, form.get("region_id"))
    if region is None:
        errors["region_id"] = "请选择单位所在的区域"
    relation = form.get("relation", "")
    if relation not in RELATION_NAMES:
        errors["relation"] = "请选择您与单位的关系"
    employment_form = form.get("employment_form", "")
    if employment_form not in EMPLOYMENT_FORMS:
        errors["employment_form"] = "请选择就业形态"
    from_outside = bool(form.get("from_outside"))
    previous_union = form.get("previous_union", "").strip()
    if from_outside and not previous_union:
        errors["previous_union"] = "请填写您原来所在的工会"
    fields = dict(region=region, unit=_unit(session, form.get("unit_id")),
                  other_unit_name=form.get("other_unit_name", "").strip(), relation=relation,
                  employment_form=employment_form, wants="transfer" if from_outside else "",
                  previous_union=previous_union if from_outside else "")
    return fields, errors


@bp.route("/apply", methods=["GET", "POST"])
@signed_in
def apply():
    """入会转会: the join form for someone with no membership here, the transfer form for a member."""
    session = db_session()
    person = _own_person(session)
    if person is None:
        return _page("yichang/worker/not_linked.html")
    if request.method == "GET":
        return _apply_page(session, person)
    if request.form.get("action") == "search":  # the "查询" button: the list of units, nothing sent
        return _apply_page(session, person, form=request.form)
    fields, errors = _apply_fields(session, request.form)
    if errors:
        return _apply_page(session, person, form=request.form, refusal=Refusal("请检查下面标出的栏目。", errors))
    user = current_user()
    try:
        application = applications.submit(session, require_tenant(), person=person, user=user, channel=_channel(),
                                          actor=user, **fields)
    except DomainError as error:
        session.rollback()
        return _apply_page(session, _own_person(session), form=request.form, refusal=Refusal.of(error))
    return redirect(url_for(".my_application", application_id=application.id, new=1), code=303)


@bp.get("/apply/units")
@signed_in
def apply_units():
    """The unit list alone, for the search as you type (HTML put in place by the apply page's script)."""
    session = db_session()
    region = _region(session, request.args.get("region_id"))
    query = request.args.get("q", "").strip()
    hits, problem = search_units(session, query, region)
    return render_page("yichang/worker/_unit_hits.html", query=query, hits=hits, problem=problem,
                       chosen=_unit(session, request.args.get("unit_id")))


# --- worker: 申请状态 ---------------------------------------------------------------------------------------------


def _own_application(session, person: Person | None, application_id: int, *, lock: bool = False) -> Application:
    application = by_id(session, Application, application_id, lock=lock)
    if person is None or application.person_id != person.id:
        raise NotFound("没有这件申请。")
    return application


@bp.get("/my")
@signed_in
def my_applications():
    session = db_session()
    person = _own_person(session)
    if person is None:
        return _page("yichang/worker/not_linked.html")
    return _my_list(session, person)


def _my_list(session, person: Person, refusal: Refusal | None = None):
    found = session.scalars(sa.select(Application).where(Application.person_id == person.id)
                            .order_by(Application.id.desc())).all()
    return _page("yichang/worker/applications.html", refusal.status if refusal else 200, refusal=refusal,
                 entries=[applications.view(session, a) for a in found], open_statuses=OPEN_STATUSES,
                 chinese_date=chinese_date)


@bp.get("/my/<int:application_id>")
@signed_in
def my_application(application_id):
    """One application of the worker's own; right after submitting, the acknowledgement with the promised date."""
    session = db_session()
    application = _own_application(session, _own_person(session), application_id)
    return _page("yichang/worker/application.html", item=applications.view(session, application),
                 new=bool(request.args.get("new")), open_statuses=OPEN_STATUSES, chinese_date=chinese_date)


@bp.post("/my/<int:application_id>/withdraw")
@signed_in
def withdraw(application_id):
    session = db_session()
    person = _own_person(session)
    application = _own_application(session, person, application_id, lock=True)
    if not _version_matches(application):
        return _my_list(session, person, Refusal(STALE, status=409))
    try:
        applications.withdraw(session, require_tenant(), application, person=person, actor=current_user())
    except DomainError as error:
        session.rollback()
        return _my_list(session, person, Refusal.of(error))
    flash(f"编号{application.id}的申请已撤回。您可以重新提交申请。")
    return redirect(url_for(".my_applications"), code=303)


# --- staff: the queues -------------------------------------------------------------------------------------------


def _queue_filters() -> dict:
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    return {"kind": kind if kind in applications.KIND_NAMES else "",
            "status": status if status == "open" or status in applications.STATUS_NAMES else "",
            "overdue": "1" if request.args.get("overdue") else ""}


def _rows(session, statement, day: dt.date) -> list[dict]:
    """The list rows: one query for the applications with their applicant, unit and handler."""
    statement = (statement.add_columns(Person, Unit, Organization)
                 .join(Person, Person.id == Application.person_id)
                 .outerjoin(Unit, Unit.id == Application.unit_id)
                 .join(Organization, Organization.id == Application.handler_id))
    rows = []
    for application, person, unit, handler in session.execute(statement):
        step_due = application.accept_due_on if application.status in ("submitted", "dispatched") \
            else application.due_on
        rows.append({
            "id": application.id, "kind": application.kind, "kind_name": applications.KIND_NAMES[application.kind],
            "status": application.status, "status_name": applications.STATUS_NAMES[application.status],
            "colour": applications.COLOURS[application.status], "name": person.name,
            "id_number": mask_id_number(person.id_number),
            "unit": unit.name if unit is not None else application.other_unit_name or "（无单位）",
            "handler": handler.name, "submitted_on": application.submitted_on, "due_on": application.due_on,
            "step_due": step_due, "overdue": applications.overdue_on(application, day),
            "reminded_on": application.reminded_on, "reason_text": application.reason_text,
        })
    return rows


@bp.get("/applications")
@signed_in
def queue():
    """职工入会申请管理 / 会籍转接申请管理: what the caller's part of the tree handles, newest first."""
    user = current_user()
    check(user, READ)
    session, filters, page, day = db_session(), _queue_filters(), _page_number(), id_numbers.today()
    statement = sa.select(Application).where(scope_filter(user, READ, Application.handler_path))
    if filters["kind"]:
        statement = statement.where(Application.kind == filters["kind"])
    if filters["status"] == "open":
        statement = statement.where(Application.status.in_(OPEN_STATUSES))
    elif filters["status"]:
        statement = statement.where(Application.status == filters["status"])
    if filters["overdue"]:
        statement = statement.where(applications.overdue(day))
    statement = statement.order_by(Application.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    rows = _rows(session, statement, day)
    arguments = {key: value for key, value in filters.items() if value}
    return _page("yichang/staff/queue.html", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page,
                 filters=filters, arguments=arguments, title=KIND_TITLES.get(filters["kind"], "入会转会申请"),
                 statuses=applications.STATUS_NAMES, may_move_out=has_permission(user, MOVE_OUT))


@bp.get("/overdue")
@signed_in
def overdue_list():
    """超期督办: open applications past the promise (accepted within 1 working day, decided within 3)."""
    user = current_user()
    check(user, DISPATCH)
    session, page, day = db_session(), _page_number(), id_numbers.today()
    statement = (sa.select(Application)
                 .where(applications.overdue(day), scope_filter(user, DISPATCH, Application.handler_path))
                 .order_by(Application.due_on, Application.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    rows = _rows(session, statement, day)
    for row in rows:
        row["late_days"] = calendar.workdays_between(session, row["step_due"], day)
    return _page("yichang/staff/overdue.html", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page,
                 today=day)


# --- staff: one application and its steps ------------------------------------------------------------------------


def _readable(session, application_id: int, *, lock: bool = False) -> Application:
    user = current_user()
    check(user, READ)
    application = by_id(session, Application, application_id, lock=lock)
    require_in_scope(user, READ, application.handler_path)
    return application


def actions_for(user, application: Application) -> set[str]:
    """The steps ``user`` may take on ``application`` at its status: each needs its permission over the union that
    handles it now (the city for dispatch, the county for verification, the deciding union for the decision)."""
    status, path = application.status, application.handler_path
    step = {"submitted": ("dispatch", DISPATCH), "dispatched": ("verify", VERIFY),
            "verified": ("decide", DECIDE)}.get(status)
    if step is None or not in_scope(user, step[1], path):
        return set()
    return {step[0], "reject"}


def _organizations(session, kinds, text: str = "", limit: int | None = None, where=None) -> list[Organization]:
    statement = sa.select(Organization).where(Organization.kind.in_(kinds), Organization.status == "active")
    if where is not None:
        statement = statement.where(where)
    if text:
        statement = statement.where(Organization.name.contains(text, autoescape=True))
    return list(session.scalars(statement.order_by(Organization.path).limit(limit)))


def _union_facts(session, organization: Organization | None) -> dict | None:
    """What verification shows of a union from the registry: chairman, contact phone and region (自动生成)."""
    if organization is None:
        return None
    region = session.get(Region, organization.region_id) if organization.region_id else None
    return {"id": organization.id, "name": organization.name,
            "kind": ORGANIZATION_KINDS.get(organization.kind, organization.kind),
            "reservoir": organization.kind in RESERVOIR_KINDS, "chairman": organization.chairman_name,
            "contact": organization.contact_name, "phone": _masked_phone(organization.contact_phone),
            "region": region.name if region is not None else ""}


def _verify_context(session, tenant, application: Application) -> dict:
    """"查询单位" and "查询工会": the unit the county admin picked (else the worker's), the union it gives (its own,
    or the reservoir the rule chooses), or the union they picked instead: "查询工会" offers, and a pick is kept of,
    only the unions verification may hand the application to (``applications.may_hand_to``)."""
    values, user = request.values, current_user()
    unit_q = values.get("unit_q", "").strip()
    unit_choice = values.get("unit_id", "")
    unit = None if unit_choice == "none" else (_unit(session, unit_choice) or (
        session.get(Unit, application.unit_id) if application.unit_id else None))
    unit_hits, unit_problem = search_units(session, unit_q) if unit_q else ([], None)
    suggested, no_union = None, ""
    try:
        suggested = applications.union_by_rule(session, tenant, session.get(Person, application.person_id), unit,
                                               application)
    except DomainError:
        no_union = "本区域没有蓄水池工会，请查询并选择会籍所在的工会。"
    org_q = values.get("org_q", "").strip()
    picked = _organization(session, values.get("organization_id"))
    if picked is not None and (picked.kind not in applications.DECIDING_KINDS or not applications.may_hand_to(
            session, tenant, user, picked, application, unit=unit)):
        picked = None
    namable = scope_filter(user, VERIFY, Organization.path)
    if suggested is not None:
        namable = sa.or_(namable, Organization.id == suggested.id)
    return {"unit_q": unit_q, "unit_hits": unit_hits, "unit_problem": unit_problem, "chosen_unit": unit,
            "unit_choice": "none" if unit is None else unit.id, "org_q": org_q,
            "union_hits": _organizations(session, applications.DECIDING_KINDS, org_q, 20, namable) if org_q else [],
            "union": _union_facts(session, picked or suggested), "union_picked": picked is not None,
            "no_union": no_union if picked is None else ""}


def _trail(session, application: Application) -> list[dict]:
    records = session.scalars(audit.search(object_type=Application.__tablename__, object_id=str(application.id)))
    return [{"at": record.at, "shown": _beijing(record.at), "actor": record.actor,
             "step": TRAIL_NAMES.get(record.action.rsplit(".", 1)[-1], record.action)}
            for record in reversed(list(records))]


def _beijing(moment: dt.datetime) -> str:
    """A record's time (naive UTC) as staff read it."""
    return (moment.replace(tzinfo=dt.timezone.utc).astimezone(BEIJING)).strftime("%Y-%m-%d %H:%M")


def _detail(session, application: Application, refusal: Refusal | None = None):
    user, tenant = current_user(), require_tenant()
    actions = actions_for(user, application)
    context = {"item": applications.view(session, application), "application": application, "actions": actions,
               "refusal": refusal, "form": request.form if refusal else {}, "reasons": applications.REJECTIONS,
               "trail": _trail(session, application), "forms": FORMS[application.kind],
               "relations": RELATION_NAMES, "employment_forms": EMPLOYMENT_FORMS, "chinese_date": chinese_date}
    if application.from_membership_id:
        previous = session.get(Membership, application.from_membership_id)
        context["from_union"] = session.get(Organization, previous.organization_id).name if previous else ""
    if "dispatch" in actions:
        target = applications.dispatch_target(session, rules(session, tenant), application)
        context.update(targets=_organizations(session, applications.HANDLER_KINDS),
                       target_id=target.id if target is not None else None)
    if "verify" in actions:
        context.update(_verify_context(session, tenant, application))
    if "decide" in actions:
        context["decider"] = _union_facts(session, session.get(Organization, application.organization_id))
    return _page("yichang/staff/application.html", refusal.status if refusal else 200, **context)


@bp.get("/applications/<int:application_id>")
@signed_in
def application(application_id):
    session = db_session()
    return _detail(session, _readable(session, application_id))


def _step(application_id: int, action: str, work):
    """Take one step on the application: its permission over the handler, the version the form was read at, the
    service's refusal shown on the page (nothing written), else back to the page with what happened."""
    session, user = db_session(), current_user()
    application = _readable(session, application_id, lock=True)
    if not _version_matches(application):
        return _detail(session, application, Refusal(STALE, status=409))
    if action not in actions_for(user, application):
        raise Forbidden("您不能在这个环节办理这件申请。")
    try:
        said = work(session, require_tenant(), application, user)
    except DomainError as error:
        session.rollback()
        return _detail(session, _readable(session, application_id), Refusal.of(error))
    flash(said)
    return redirect(url_for(".application", application_id=application_id), code=303)


@bp.post("/applications/<int:application_id>/dispatch")
@signed_in
def dispatch(application_id):
    def work(session, tenant, application, user):
        target = _organization(session, request.form.get("organization_id"))
        if target is None:
            raise InvalidInput("请选择分派给哪个工会", errors={"organization_id": ["请选择分派给哪个工会"]})
        applications.dispatch(session, tenant, application, to=target, actor=user)
        return f"已分派给{target.name}，并已短信提醒其管理员。"
    return _step(application_id, "dispatch", work)


@bp.post("/applications/<int:application_id>/verify")
@signed_in
def verify(application_id):
    def work(session, tenant, application, user):
        choice = request.form.get("unit_id", "")
        if choice == "":  # no unit looked up: the one the worker picked
            choice = str(application.unit_id or "none")
        unit = None if choice == "none" else _unit(session, choice)
        if choice != "none" and unit is None:
            raise InvalidInput("没有这个单位", errors={"unit_id": ["请重新查询单位"]})
        organization = _organization(session, request.form.get("organization_id"))
        applications.verify(session, tenant, application, unit=unit, organization=organization, actor=user)
        decider = session.get(Organization, application.organization_id)
        return f"信息校核已保存，申请已转{decider.name}审批。"
    return _step(application_id, "verify", work)


@bp.post("/applications/<int:application_id>/approve")
@signed_in
def approve(application_id):
    def work(session, tenant, application, user):
        applications.approve(session, tenant, application, actor=user)
        return "已同意，会籍已办理，并已短信告知申请人。"
    return _step(application_id, "decide", work)


@bp.post("/applications/<int:application_id>/reject")
@signed_in
def reject(application_id):
    def work(session, tenant, application, user):
        applications.reject(session, tenant, application, reason=request.form.get("reason", ""),
                            text=request.form.get("text", ""), actor=user)
        return "已作不通过处理，并已短信告知申请人原因。"
    return _step(application_id, "reject", work)


# --- staff: members and moving one out (迁出) -----------------------------------------------------------------------


@bp.get("/members")
@signed_in
def members():
    """工会会员信息管理: the current members of the caller's unions, to move one out."""
    user = current_user()
    check(user, MOVE_OUT)
    session, page = db_session(), _page_number()
    query = request.args.get("q", "").strip()
    statement = (sa.select(Membership, Person, Organization, Unit)
                 .join(Person, Person.id == Membership.person_id)
                 .join(Organization, Organization.id == Membership.organization_id)
                 .outerjoin(Unit, Unit.id == Membership.unit_id)
                 .where(Membership.status != "ended", scope_filter(user, MOVE_OUT, Organization.path)))
    if query:
        statement = statement.where(Person.name.contains(query, autoescape=True))
    found = session.execute(statement.order_by(Organization.path, Person.name, Person.id)
                            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    rows = [{"person_id": person.id, "name": person.name, "id_number": mask_id_number(person.id_number),
             "union": organization.name, "reservoir": organization.kind in RESERVOIR_KINDS,
             "unit": unit.name if unit is not None else "", "since": membership.started_on}
            for membership, person, organization, unit in found]
    return _page("yichang/staff/members.html", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page,
                 query=query)


def _member(session, person_id: int, *, lock: bool = False) -> tuple[Person, Membership, Organization]:
    user = current_user()
    check(user, MOVE_OUT)
    person = session.get(Person, person_id)
    current = memberships.current(session, person, lock=lock) if person is not None else None
    union = session.get(Organization, current.organization_id) if current is not None else None
    if union is None or not in_scope(user, MOVE_OUT, union.path):
        raise NotFound("没有这名会员。")
    return person, current, union


def _move_out_page(session, person, current, union, refusal: Refusal | None = None):
    unit = session.get(Unit, current.unit_id) if current.unit_id else None
    counties = session.scalars(sa.select(Region).where(Region.level == "county").order_by(Region.path)).all()
    return _page("yichang/staff/move_out.html", refusal.status if refusal else 200, refusal=refusal,
                 form=request.form if refusal else {}, person=person, current=current, union=union, unit=unit,
                 masked_id=mask_id_number(person.id_number), counties=[(c.id, c.name) for c in counties])


@bp.route("/members/<int:person_id>/move-out", methods=["GET", "POST"])
@signed_in
def move_out(person_id):
    """迁出: a member who left without applying waits in the service-centre committee of their county; one leaving
    the city, in that of the county they live in."""
    session = db_session()
    person, current, union = _member(session, person_id, lock=request.method == "POST")
    if request.method == "GET":
        return _move_out_page(session, person, current, union)
    if request.form.get("membership_id") != str(current.id) or not _version_matches(current):
        return _move_out_page(session, person, current, union,
                              Refusal("这名会员的会籍刚有变动，下面是现在的情况。请核对后再操作。", status=409))
    residence = _region(session, request.form.get("residence_region_id"))
    try:
        moved = moves.move_out(session, require_tenant(), person=person, actor=current_user(), residence=residence,
                               leaving_city=bool(request.form.get("leaving_city")))
    except DomainError as error:
        session.rollback()
        return _move_out_page(session, *_member(session, person_id), Refusal.of(error))
    keeper = session.get(Organization, moved.organization_id)
    flash(f"{person.name}已迁出，会籍暂由{keeper.name}管理，并已短信告知本人。")
    return redirect(url_for(".members"), code=303)
