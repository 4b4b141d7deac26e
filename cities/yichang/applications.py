"""Applications to join or transfer, from submission to decision (两终端申请、一平台受理、一张网办结).

Each step is a plain function: it takes the caller's session, checks the application is at the step it names,
changes it, writes an audit record and queues the SMS of the step, and never commits. The API, the pages, the
jobs and the tests call the same functions.

    submit ──(screening refuses)──────────────────────────────► refused
       │
       ▼            dispatch                verify                 approve
    submitted ──────────────► dispatched ─────────► verified ─────────────► approved
       │  ▲ (auto by rule)          │                  │
       │  └─ withdraw / reject at any open step ───────┴──────────────────► withdrawn / rejected

Who handles an application is one organization (``handler_id``): the city federation until it is dispatched,
then the county federation, industry union or city enterprise committee it went to, then the union that
decides. Staff see what is handled in their subtree, so a city admin sees everything and a chairman only their
union's queue.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from cities.yichang import reservoirs, texts
from cities.yichang.models import COLOURS, OPEN_STATUSES, RELATIONS, Application
from cities.yichang.settings import rules as rules_of
from core.toolkit import (
    RESERVOIR_KINDS,
    Conflict,
    InvalidInput,
    Membership,
    NotFound,
    Organization,
    Person,
    Region,
    Unit,
    User,
    audit,
    calendar,
    holders_of,
    id_numbers,
    in_scope,
    mask_id_number,
    mask_phone,
    memberships,
    reservoir_for,
    screen,
    utcnow,
)

KIND_NAMES = {"join": "入会", "transfer": "转会"}
STATUS_NAMES = {"submitted": "待分派", "dispatched": "待校核", "verified": "待审批", "approved": "已通过",
                "rejected": "未通过", "refused": "未通过资格审查", "withdrawn": "已撤回"}
#: Who may be sent an application for verification (信息校核): a county federation, an industry union, or the city
#: enterprise committee for city-level units.
HANDLER_KINDS = ("county_federation", "industry_union", "city_enterprise_committee")
DECIDING_KINDS = ("grassroots_union",) + RESERVOIR_KINDS
#: Why an application is turned down after submission. ``not_own_unit`` asks the applicant to resubmit.
REJECTIONS = {"not_eligible": "暂不符合入会条件", "not_own_unit": "申请单位不是本人所在单位",
              "not_in_city": "申请单位工会组织关系不在本市", "other": "其他原因"}


# --- reading ---------------------------------------------------------------------------------------------------


def city_federation(session) -> Organization:
    found = session.scalars(sa.select(Organization).where(
        Organization.kind == "city_federation", Organization.status == "active")).first()
    if found is None:
        raise Conflict("this tenant has no city federation to receive applications", code="no_city_federation")
    return found


def overdue_on(application: Application, day: dt.date) -> bool:
    """Past the promise: not accepted (dispatched and verified) by ``accept_due_on``, or not decided by ``due_on``."""
    if application.status not in OPEN_STATUSES:
        return False
    if application.status in ("submitted", "dispatched") and day > application.accept_due_on:
        return True
    return day > application.due_on


def _name_of(model, key: str, column: str = "name"):
    return sa.select(getattr(model, column)).where(model.id == sa.bindparam(key)).scalar_subquery()


#: Everything ``view`` reads besides the application, in one statement built once (so its cache key is too):
#: it runs after every step.
_VIEW = sa.select(
    Person.name, Person.id_number, Person.phone,
    _name_of(Unit, "unit_id").label("unit_name"),
    _name_of(Unit, "unit_id", "credit_code").label("credit_code"),
    _name_of(Region, "region_id").label("region"),
    _name_of(Organization, "handler_id").label("handler"),
    _name_of(sa.orm.aliased(Organization), "dispatched_to_id").label("dispatched_to"),
    _name_of(sa.orm.aliased(Organization), "organization_id").label("organization"),
).where(Person.id == sa.bindparam("person_id"))


def view(session, application: Application, *, today: dt.date | None = None) -> dict:
    """What staff and the applicant read: the person masked; names of the unit and unions from the registry."""
    read = session.execute(_VIEW, {
        "person_id": application.person_id, "unit_id": application.unit_id, "region_id": application.region_id,
        "handler_id": application.handler_id, "dispatched_to_id": application.dispatched_to_id,
        "organization_id": application.organization_id}).one()
    return {
        "id": application.id,
        "kind": application.kind,
        "kind_name": KIND_NAMES[application.kind],
        "status": application.status,
        "status_name": STATUS_NAMES[application.status],
        "colour": COLOURS[application.status],
        "channel": application.channel,
        "name": read.name,
        "id_number": mask_id_number(read.id_number),
        "phone": mask_phone(read.phone),
        "region_id": application.region_id,
        "region": read.region or "",
        "unit_id": application.unit_id,
        "unit_name": read.unit_name or application.other_unit_name,
        "other_unit_name": application.other_unit_name,
        "credit_code": read.credit_code,
        "relation": application.relation,
        "employment_form": application.employment_form,
        "from_outside": application.from_outside,
        "previous_union": application.previous_union,
        "handler_id": application.handler_id,
        "handler": read.handler or "",
        "dispatched_to_id": application.dispatched_to_id,
        "dispatched_to": read.dispatched_to or "",
        "organization_id": application.organization_id,
        "organization": read.organization or "",
        "parked": application.parked,
        "membership_id": application.membership_id,
        "reason": application.reason,
        "reason_text": application.reason_text,
        "submitted_on": application.submitted_on.isoformat(),
        "accept_due_on": application.accept_due_on.isoformat(),
        "due_on": application.due_on.isoformat(),
        "decided_on": application.decided_on.isoformat() if application.decided_on else None,
        "overdue": overdue_on(application, today or id_numbers.today()),
        "version": application.version,
    }


def _trail(application: Application) -> dict:
    """What an audit record keeps of an application: no personal data beyond the person's id."""
    return {"id": application.id, "kind": application.kind, "status": application.status,
            "person_id": application.person_id, "unit_id": application.unit_id,
            "handler_id": application.handler_id, "organization_id": application.organization_id,
            "parked": application.parked, "reason": application.reason}


def _record(session, action: str, application: Application, before: dict | None, actor) -> None:
    audit.record(session, f"yichang.application.{action}", obj=application, before=before,
                 after=_trail(application), actor=actor, scope=application.handler_path)


def _require_status(application: Application, *statuses: str) -> None:
    if application.status not in statuses:
        raise Conflict(f"application {application.id} is {application.status}",
                       code="wrong_status", errors={"status": [f"is {application.status}; expected {' or '.join(statuses)}"]})


def _hand_to(application: Application, organization: Organization) -> None:
    application.handler_id, application.handler_path = organization.id, organization.path


def _tell_staff(session, tenant, where: Organization, roles: tuple[str, ...], key: str, dedupe: str,
                **params) -> int:
    """Text every holder of ``roles`` at ``where`` who has a phone; else the union's contact phone."""
    phones = [user.phone for user in holders_of(session, where, roles) if user.phone]
    if not phones and where.contact_phone:
        phones = [where.contact_phone]
    for n, phone in enumerate(phones):
        texts.send(session, tenant, key, phone=phone, dedupe_key=f"{dedupe}:{n}", **params)
    return len(phones)


# --- submitting --------------------------------------------------------------------------------------------------


def submit(session, tenant, *, person: Person, user=None, wants: str = "", region: Region | None = None,
           unit: Unit | None = None, other_unit_name: str = "", relation: str = "employee",
           employment_form: str = "", previous_union: str = "", channel: str = "web", on: dt.date | None = None,
           actor=None) -> Application:
    """A worker applies (入会转会). The registry decides the kind: no current membership here → join; one here →
    transfer. Someone who asks to transfer but whose membership is not in the registry (from another city)
    joins instead (四(二)3). Screening refuses at once, with the refusal SMS; otherwise the applicant is told the
    promised date, and the application goes to the city admin (or straight to a county by rule)."""
    _check_form(unit, other_unit_name, relation, employment_form, channel, wants)
    rules = rules_of(session, tenant)
    today = on or id_numbers.today()
    # The person's row is locked first, so two submissions of one person (a double tap, the phone and the computer)
    # queue here and the second one's screening sees the first as an open application.
    current = memberships.current(session, person, lock=True)
    kind = "transfer" if current is not None else "join"
    city = city_federation(session)
    application = Application(
        kind=kind, status="submitted", channel=channel, person_id=person.id, user_id=getattr(user, "id", None),
        region_id=region.id if region is not None else (unit.region_id if unit is not None else None),
        unit_id=unit.id if unit is not None else None, other_unit_name=other_unit_name.strip(),
        relation=relation, employment_form=employment_form or person.employment_form or "",
        from_outside=(wants == "transfer" and current is None), previous_union=previous_union.strip(),
        from_membership_id=current.id if current is not None else None,
        handler_id=city.id, handler_path=city.path, submitted_on=today,
        accept_due_on=calendar.add_workdays(session, today, rules.acceptance_days),
        due_on=calendar.add_workdays(session, today, rules.decision_days),
    )
    refusals = screen(session, tenant, _screening_view(person, unit, application))
    session.add(application)
    session.flush()
    if refusals:
        first = refusals[0]
        application.status, application.reason, application.reason_text = "refused", first.rule, first.message
        application.decided_at, application.decided_on = utcnow(), today
        _record(session, "refuse", application, None, actor)
        texts.send(session, tenant, "yichang.refused", phone=person.phone, dedupe_key=f"{application.id}:refused",
                   reason=first.message)
        return application
    _record(session, "submit", application, None, actor)
    texts.send(session, tenant, "yichang.received", phone=person.phone, dedupe_key=f"{application.id}:received",
               kind=KIND_NAMES[kind], due_on=texts.chinese_date(application.due_on))
    if rules.auto_dispatch:
        target = dispatch_target(session, rules, application)
        if target is not None:
            dispatch(session, tenant, application, to=target, actor=actor or "yichang.auto_dispatch")
    return application


def _check_form(unit, other_unit_name: str, relation: str, employment_form: str, channel: str, wants: str) -> None:
    errors: dict[str, list[str]] = {}
    if unit is None and not other_unit_name.strip() and employment_form not in reservoirs.FLEXIBLE_FORMS:
        errors["unit_id"] = ["请选择所在单位，或在“其他单位名称”中填写单位全称"]
    if len(other_unit_name) > 200:
        errors["other_unit_name"] = ["不超过200个字"]
    if relation not in RELATIONS:
        errors["relation"] = [f"one of {', '.join(RELATIONS)}"]
    if channel not in ("web", "mobile"):
        errors["channel"] = ["web or mobile"]
    if wants not in ("", "join", "transfer"):
        errors["wants"] = ["join or transfer"]
    if errors:
        raise InvalidInput("the application is not complete", errors=errors)


def _screening_view(person: Person, unit: Unit | None, application: Application) -> dict:
    """What every screening rule reads (the ``application`` of the ``screen_application`` hook)."""
    return {
        "kind": application.kind, "person_id": person.id, "name": person.name, "sex": person.sex,
        "birth_date": person.birth_date, "phone_index": person.phone_index, "region_id": application.region_id,
        "unit_id": application.unit_id, "unit_name": unit.name if unit else application.other_unit_name,
        "unit_legal_representative": unit.legal_representative if unit else "",
        "credit_code": unit.credit_code if unit else None, "relation": application.relation,
        "employment_form": application.employment_form, "submitted_on": application.submitted_on,
    }


def withdraw(session, tenant, application: Application, *, person: Person, actor=None) -> Application:
    """The applicant takes back an open application; they may submit again."""
    if application.person_id != person.id:
        raise NotFound(f"no application {application.id}")
    _require_status(application, *OPEN_STATUSES)
    before = _trail(application)
    application.status, application.decided_at, application.decided_on = "withdrawn", utcnow(), id_numbers.today()
    _record(session, "withdraw", application, before, actor)
    return application


# --- the platform: dispatch and verify ---------------------------------------------------------------------------


def dispatch_target(session, rules, application: Application) -> Organization | None:
    """Where the dispatch rule sends an application (属地管理、各负其责): the industry union configured for the
    unit's industry; else the federation of the county its unit (or picked region) is in; a city-level unit to
    the city enterprise committee. None when no rule applies: the city admin chooses."""
    unit = session.get(Unit, application.unit_id) if application.unit_id else None
    if unit is not None and unit.industry and unit.industry in rules.industry_unions:
        found = session.get(Organization, rules.industry_unions[unit.industry])
        if found is not None and found.status == "active":
            return found
    place_id = unit.region_id if unit is not None and unit.region_id else application.region_id
    place = session.get(Region, place_id) if place_id else None
    if place is not None and place.level == "city":
        return reservoirs.city_committee(session)
    county = reservoirs.county_of(session, place)
    if county is None:
        return None
    return session.scalars(sa.select(Organization).where(
        Organization.kind == "county_federation", Organization.status == "active",
        Organization.region_id == county.id).order_by(Organization.id).limit(1)).first()


def dispatch(session, tenant, application: Application, *, to: Organization, actor=None) -> Application:
    """The city admin sends an application to the county federation, industry union or city enterprise committee
    that verifies it (业务分派), and that organization's admins get an SMS."""
    _require_status(application, "submitted")
    if to.kind not in HANDLER_KINDS or to.status != "active":
        raise InvalidInput(f"{to.name} does not verify applications",
                           errors={"organization_id": ["县（市、区）总工会、产业工会或市直企业工会委员会"]})
    before = _trail(application)
    application.status, application.dispatched_to_id, application.dispatched_at = "dispatched", to.id, utcnow()
    _hand_to(application, to)
    _record(session, "dispatch", application, before, actor)
    unit = session.get(Unit, application.unit_id) if application.unit_id else None
    _tell_staff(session, tenant, to, ("federation_admin", "chairman"), "yichang.task_dispatched",
                f"{application.id}:dispatched", kind=KIND_NAMES[application.kind],
                number=application.id, unit=unit.name if unit else application.other_unit_name or "无单位",
                accept_due_on=texts.chinese_date(application.accept_due_on))
    return application


def verify(session, tenant, application: Application, *, unit: Unit | None, organization: Organization | None = None,
           actor=None) -> Application:
    """The county admin matches the unit and the union against the registry (信息校核): ``unit`` corrects what the
    worker typed; the union is the unit's own, or the reservoir the rule chooses when it has none, unless
    ``organization`` names another, which the verifier must be allowed to hand it to (``may_hand_to``). The
    chairman of that union gets an SMS."""
    _require_status(application, "dispatched")
    person = session.get(Person, application.person_id)
    if organization is None:
        organization = union_by_rule(session, tenant, person, unit, application)
    elif not may_hand_to(session, tenant, actor, organization, application, unit=unit):
        raise InvalidInput(f"{organization.name} is outside your area: name a union of your own subtree, or leave "
                           "organization_id out for the unit's union or its reservoir",
                           errors={"organization_id": [(f"{organization.name}不在您的管辖范围内。请选择本组织及下级的"
                                                        "工会，或单位所属工会、按规则确定的蓄水池工会")]})
    if organization.kind not in DECIDING_KINDS or organization.status != "active":
        raise InvalidInput(f"{organization.name} does not take members",
                           errors={"organization_id": ["基层工会或蓄水池工会"]})
    if application.kind == "transfer" and application.from_membership_id:
        current = session.get(Membership, application.from_membership_id)
        if current is not None and current.organization_id == organization.id:
            raise InvalidInput(f"{person.name} is a member of {organization.name} already",
                               errors={"organization_id": ["申请人的会籍已在该工会"]})
    before = _trail(application)
    application.unit_id = unit.id if unit is not None else None
    application.organization_id, application.parked = organization.id, organization.kind in RESERVOIR_KINDS
    application.status, application.verified_at = "verified", utcnow()
    _hand_to(application, organization)
    _record(session, "verify", application, before, actor)
    _tell_staff(session, tenant, organization, ("chairman",), "yichang.task_to_decide",
                f"{application.id}:to_decide", organization=organization.name, kind=KIND_NAMES[application.kind],
                number=application.id, due_on=texts.chinese_date(application.due_on))
    return application


def union_by_rule(session, tenant, person: Person, unit: Unit | None, application: Application) -> Organization:
    """The union the registry and the seed give an application of ``unit``: the unit's own union, else the reservoir
    the rule chooses. Raises ``InvalidInput`` naming ``organization_id`` when no reservoir holds the place."""
    if unit is not None and unit.has_union and unit.organization_id:
        return session.get(Organization, unit.organization_id)
    return choose_reservoir(session, tenant, person, unit, application)


def may_hand_to(session, tenant, actor, organization: Organization, application: Application, *,
                unit: Unit | None) -> bool:
    """May the verifier ``actor`` hand ``application`` (of ``unit``) to ``organization``? Only a union in their own
    subtree (a county admin: their county's; a city admin: any in the city), or the one ``union_by_rule`` gives,
    even where it sits elsewhere (an industry union's applicant parked in the county's service centre): a county
    admin cannot hand an application to a union in another county. An actor who is not a user (set-up, a job)
    may name any."""
    if not isinstance(actor, User) or in_scope(actor, "yichang.verify", organization.path):
        return True
    try:
        ruled = union_by_rule(session, tenant, session.get(Person, application.person_id), unit, application)
    except InvalidInput:  # no reservoir for the place: only the verifier's own unions are left
        return False
    return ruled is not None and ruled.id == organization.id


def choose_reservoir(session, tenant, person: Person, unit: Unit | None, application: Application) -> Organization:
    """Any enabled plugin's reservoir choice for a unit without a union, else the seed's rule by place."""
    if unit is not None:
        chosen = reservoir_for(session, tenant, person, unit)
        if chosen is not None:
            return chosen
    region = session.get(Region, application.region_id) if application.region_id else None
    return reservoirs.choose(session, rules_of(session, tenant), unit=unit, region=region,
                             employment_form=application.employment_form)


# --- the network: decide -----------------------------------------------------------------------------------------


def approve(session, tenant, application: Application, *, actor=None) -> Application:
    """The chairman approves (同意). A join starts the membership in the union (parked when it is a reservoir);
    a transfer moves it out of the old union and into the new one, in this transaction. Two approvals racing
    for one person leave one membership: the registry locks the person and its unique index holds the line."""
    _require_status(application, "verified")
    person = session.get(Person, application.person_id)
    organization = session.get(Organization, application.organization_id)
    unit = session.get(Unit, application.unit_id) if application.unit_id else None
    note = f"yichang application {application.id}"
    current = memberships.current(session, person, lock=True)
    before = _trail(application)
    if current is None:
        membership = memberships.join(session, person=person, organization=organization, unit=unit,
                                      parked=application.parked, actor=actor, note=note)
        moved_from = None
    else:
        if application.kind == "join":
            raise Conflict(f"{person.name} became a member while this application waited", code="already_a_member",
                           errors={"status": ["申请人已是会员，请按转会办理"]})
        moved_from = session.get(Organization, current.organization_id)
        step = memberships.park if application.parked else memberships.transfer
        membership = step(session, person=person, to=organization, unit=unit, actor=actor, note=note)
    application.status, application.membership_id = "approved", membership.id
    application.decided_at, application.decided_on = utcnow(), id_numbers.today()
    _record(session, "approve", application, before, actor)
    key, params = _approval_text(application, organization, moved_from)
    texts.send(session, tenant, key, phone=person.phone, dedupe_key=f"{application.id}:approved", **params)
    return application


def _approval_text(application: Application, organization: Organization, moved_from: Organization | None):
    if moved_from is None:
        return ("yichang.approved_parked" if application.parked else "yichang.approved"), {
            "organization": organization.name}
    return ("yichang.transferred_parked" if application.parked else "yichang.transferred"), {
        "organization": organization.name, "from_organization": moved_from.name}


def reject(session, tenant, application: Application, *, reason: str, text: str = "", actor=None) -> Application:
    """Turn an open application down with a reason (不同意 / 不符合条件). The applicant gets the refusal SMS, or,
    when the unit is not their own, the SMS asking them to resubmit with the right unit."""
    if reason not in REJECTIONS:
        raise InvalidInput(f"no reason {reason!r}", errors={"reason": [f"one of {', '.join(REJECTIONS)}"]})
    _require_status(application, *OPEN_STATUSES)
    words = text.strip() or REJECTIONS[reason]
    if len(words) > 500:
        raise InvalidInput("the reason is too long", errors={"text": ["不超过500个字"]})
    person = session.get(Person, application.person_id)
    before = _trail(application)
    application.status, application.reason, application.reason_text = "rejected", reason, words
    application.decided_at, application.decided_on = utcnow(), id_numbers.today()
    _record(session, "reject", application, before, actor)
    key = "yichang.resubmit" if reason == "not_own_unit" else "yichang.refused"
    texts.send(session, tenant, key, phone=person.phone, dedupe_key=f"{application.id}:rejected", reason=words)
    return application


# --- supervision -------------------------------------------------------------------------------------------------


def overdue(day: dt.date) -> sa.ColumnElement:
    """The filter for applications past their promise on ``day`` (督办)."""
    return sa.and_(Application.status.in_(OPEN_STATUSES), sa.or_(
        Application.due_on < day,
        sa.and_(Application.status.in_(("submitted", "dispatched")), Application.accept_due_on < day)))


def remind_overdue(session, tenant, *, day: dt.date | None = None) -> int:
    """Text the handlers of every overdue application once a working day (the periodic supervision job)."""
    day = day or id_numbers.today()
    if not calendar.is_workday(session, day):
        return 0
    late = session.scalars(sa.select(Application).where(
        overdue(day), sa.or_(Application.reminded_on.is_(None), Application.reminded_on < day))
        .order_by(Application.id).with_for_update(skip_locked=True)).all()
    for application in late:
        handler = session.get(Organization, application.handler_id)
        roles = ("chairman",) if application.status == "verified" else ("federation_admin", "tenant_admin")
        due = application.due_on if application.status == "verified" else application.accept_due_on
        _tell_staff(session, tenant, handler, roles, "yichang.overdue", f"{application.id}:overdue:{day}",
                    kind=KIND_NAMES[application.kind], number=application.id, due_on=texts.chinese_date(due))
        application.reminded_on = day
    return len(late)
