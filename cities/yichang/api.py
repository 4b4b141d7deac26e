"""The REST API of online join and transfer (入会转会): the worker applies and follows their applications; staff
dispatch, verify, approve or reject them, move members out and release phones.

Workers act on their own applications only: the account must be linked to its person (``User.person_id``), as a
worker's sign-up does. Staff see the applications handled in their subtree (``Application.handler_path``): the
city admin every one, a county admin those dispatched to the county and below, a chairman those verified to their
union; any other id is 404. Every workflow step needs the application's ETag in ``If-Match`` (412 when someone
acted on it since it was read; 409 ``wrong_status`` when it is no longer at that step), so two admins acting on
one application never both win.
"""
from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from cities.yichang import applications, moves, phones
from cities.yichang.models import COLOURS, KINDS, RELATIONS, STATUSES, Application
from cities.yichang.settings import rules
from core.toolkit import (
    ApiBlueprint,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Organization,
    Person,
    Region,
    Unit,
    by_id,
    check,
    current_tenant,
    current_user,
    db_session,
    has_permission,
    id_numbers,
    in_scope,
    memberships,
    page_of,
    require,
    require_if_match,
    resolve_path_object,
    scope_filter,
    scope_paths,
    set_etag,
)

blp = ApiBlueprint("yichang_api", __name__, description="Online join and transfer (入会转会): applications, move out, "
                                                         "phone release")

READ, DISPATCH, VERIFY, DECIDE = "yichang.read", "yichang.dispatch", "yichang.verify", "yichang.decide"
MOVE_OUT, RELEASE_PHONE = "yichang.move_out", "yichang.release_phone"


class SignInRequired(DomainError):
    status = 401
    code = "unauthorized"


# --- schemas ------------------------------------------------------------------------------------------------------


def _ids(description: str) -> fields.Integer:
    return fields.Integer(allow_none=True, metadata={"description": description})


class YichangApplicationSchema(Schema):
    """An application as its applicant and the staff read it; ID number and phone masked."""

    id = fields.Integer()
    kind = fields.String(metadata={"description": "join (入会) or transfer (转会)"})
    kind_name = fields.String()
    status = fields.String(metadata={"description": ", ".join(STATUSES) + ". refused: screening turned it down "
                                                "on submission (reason, reason_text say why); the refusal is on "
                                                "record and the refusal SMS was sent"})
    status_name = fields.String()
    colour = fields.String(metadata={"description": "the list colour of the seed: white new, yellow verified, green "
                                                    "approved, red refused or rejected, grey withdrawn"})
    channel = fields.String()
    name = fields.String()
    id_number = fields.String(metadata={"description": "masked"})
    phone = fields.String(allow_none=True, metadata={"description": "masked"})
    region_id = _ids("the region the worker picked (所属区域)")
    region = fields.String()
    unit_id = _ids("the unit in the registry, once picked or verified")
    unit_name = fields.String(metadata={"description": "the registry's name, else what the worker typed"})
    other_unit_name = fields.String()
    credit_code = fields.String(allow_none=True)
    relation = fields.String()
    employment_form = fields.String()
    from_outside = fields.Boolean(metadata={"description": "asked to transfer, but no membership here: a join"})
    previous_union = fields.String()
    handler_id = fields.Integer(metadata={"description": "the organization handling it now"})
    handler = fields.String()
    dispatched_to_id = _ids("the county federation, industry union or committee it was dispatched to")
    dispatched_to = fields.String()
    organization_id = _ids("the union that decides and that the membership goes to")
    organization = fields.String()
    parked = fields.Boolean(metadata={"description": "the union is a reservoir (蓄水池)"})
    membership_id = _ids("the membership an approval made")
    reason = fields.String(metadata={"description": "the screening rule or rejection reason"})
    reason_text = fields.String(metadata={"description": "what the applicant reads"})
    submitted_on = fields.String()
    accept_due_on = fields.String(metadata={"description": "dispatched and verified by this day (working days)"})
    due_on = fields.String(metadata={"description": "decided by this day: the promised date"})
    decided_on = fields.String(allow_none=True)
    overdue = fields.Boolean()
    version = fields.Integer(metadata={"description": "the ETag is \"application-<id>-v<version>\""})


class YichangApplySchema(Schema):
    wants = fields.String(load_default="", validate=validate.OneOf(("", "join", "transfer")), metadata={
        "description": "what the worker asked for (我要入会 / 我要转会); the registry decides the kind: a transfer "
                       "asked for by someone with no membership here is a join"})
    region_id = fields.Integer(allow_none=True, load_default=None, metadata={"description": "所属区域"})
    unit_id = fields.Integer(allow_none=True, load_default=None, metadata={"description": "the unit picked from "
                                                                                          "the search"})
    other_unit_name = fields.String(load_default="", validate=validate.Length(max=200), metadata={
        "description": "其他单位名称: the unit's full name when the search did not find it"})
    relation = fields.String(load_default="employee", validate=validate.OneOf(RELATIONS))
    employment_form = fields.String(load_default="", validate=validate.Length(max=30), metadata={
        "description": "a flexibly employed worker (delivery_rider, courier, ...) may leave the unit out"})
    previous_union = fields.String(load_default="", validate=validate.Length(max=200), metadata={
        "description": "a transfer from outside the city: the union they were a member of"})
    channel = fields.String(load_default="web", validate=validate.OneOf(("web", "mobile")))


class YichangQueueQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    colour = fields.String(validate=validate.OneOf(sorted(set(COLOURS.values()))))
    overdue = fields.Boolean(metadata={"description": "true: past the promise (督办); false: not"})
    q = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "part of the unit's name"})
    oldest_first = fields.Boolean(load_default=False, metadata={"description": "work the queue from its oldest"})


class YichangDispatchSchema(Schema):
    organization_id = fields.Integer(required=True, metadata={
        "description": "a county federation, industry union or the city enterprise committee"})


class YichangVerifySchema(Schema):
    unit_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the unit matched in the registry (查询单位); null: no unit (a flexibly employed worker, or "
                       "a unit not in the registry)"})
    organization_id = fields.Integer(allow_none=True, load_default=None, metadata={
        "description": "the union that decides (查询工会); by default the unit's union, or the reservoir the rule "
                       "chooses when it has none"})


class YichangRejectSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(list(applications.REJECTIONS)), metadata={
        "description": "; ".join(f"{key}: {words}" for key, words in applications.REJECTIONS.items())})
    text = fields.String(load_default="", validate=validate.Length(max=500), metadata={
        "description": "the words the applicant reads; by default the reason's"})


class YichangDispatchTargetSchema(Schema):
    organization_id = fields.Integer(allow_none=True, metadata={"description": "null: no rule applies, choose"})
    name = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)


class YichangMoveOutSchema(Schema):
    leaving_city = fields.Boolean(load_default=False, metadata={
        "description": "the member leaves the city: held in the service-centre committee where they live"})
    residence_region_id = fields.Integer(allow_none=True, load_default=None, metadata={
        "description": "the county (or a place in it) the member lives in; required when leaving the city"})


class YichangMembershipSchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    organization_id = fields.Integer()
    organization = fields.String()
    unit_id = fields.Integer(allow_none=True)
    status = fields.String()
    parked = fields.Boolean()
    started_on = fields.String()
    version = fields.Integer()


class YichangPhoneReleaseSchema(Schema):
    phone = fields.String(required=True, metadata={"description": "the mobile number to release"})
    keep_person_id = fields.Integer(allow_none=True, load_default=None, metadata={
        "description": "the person who keeps it; by default the person whose account proved the number by SMS"})


class YichangReleasedPersonSchema(Schema):
    person_id = fields.Integer()
    name = fields.String()
    organization = fields.String(metadata={"description": "the union of their newest membership, if any"})


class YichangPhoneReleasedSchema(Schema):
    phone = fields.String(metadata={"description": "masked"})
    kept_person_id = fields.Integer(allow_none=True)
    released = fields.List(fields.Nested(YichangReleasedPersonSchema))


# --- who is calling -----------------------------------------------------------------------------------------------


def _signed_in():
    user = current_user()
    if user is None:
        raise SignInRequired("sign in or send an API token")
    return user


def _applicant() -> tuple[object, Person]:
    """The signed-in worker and their person in the registry."""
    user = _signed_in()
    person = None
    if user.person_id is not None:
        person = db_session().scalar(sa.select(Person).where(Person.id == user.person_id))
    if person is None:
        raise Forbidden("your account is not linked to a person in the registry: sign up as a worker with your ID "
                        "number, or ask your union to link your account", code="no_linked_person")
    return user, person


def _applies(user, application: Application) -> bool:
    return user.person_id is not None and application.person_id == user.person_id


def _handles(user, permission: str, application: Application) -> bool:
    return has_permission(user, permission) and in_scope(user, permission, application.handler_path)


def _at_step(*permissions: str) -> Application:
    """The application a staff step acts on: handled in the caller's subtree (404 otherwise), under one of
    ``permissions`` there (403), locked, at the version the caller read (If-Match: 428, 412)."""
    user, found = current_user(), g.application
    if not any(has_permission(user, permission) for permission in permissions):
        check(user, permissions[0])
    if not _handles(user, READ, found):
        raise NotFound(f"no application {found.id}")  # the applicant's own, but not a desk of theirs
    if not any(_handles(user, permission, found) for permission in permissions):
        raise Forbidden("you may not act on this application here")
    # Locked before If-Match is checked: a second admin holding the same ETag waits here, then reads the new
    # version and gets 412 instead of a lost update.
    found = by_id(db_session(), Application, found.id, lock=True)
    require_if_match(found)
    return found


def _in_moving_area(user, person: Person) -> bool:
    """Whether the member's current union is in the caller's area for moving out."""
    session = db_session()
    current = memberships.current(session, person)
    union = session.scalar(sa.select(Organization).where(Organization.id == current.organization_id)) \
        if current is not None else None
    return union is not None and in_scope(user, MOVE_OUT, union.path)


# An id in the path is found first, before any body is parsed: an application the caller may not read (its
# applicant reads it, and staff whose subtree handles it), or a member outside their area, is 404 whatever the
# body says, exactly like an id that does not exist.
resolve_path_object(blp, "application_id", into="application", hidden="no application {id}",
                    find=lambda session, application_id: by_id(session, Application, application_id),
                    visible=lambda user, found: _applies(user, found) or _handles(user, READ, found))
resolve_path_object(blp, "person_id", into="member", permission=MOVE_OUT, hidden="no member with this id in your area",
                    find=lambda session, person_id: session.scalar(sa.select(Person).where(Person.id == person_id)),
                    visible=_in_moving_area)


def _shown(application: Application) -> dict:
    db_session().flush()  # the version the ETag names is the one just written
    set_etag(application)
    return applications.view(db_session(), application)


def _region(region_id: int | None, field: str) -> Region | None:
    if region_id is None:
        return None
    found = db_session().scalar(sa.select(Region).where(Region.id == region_id))
    if found is None:
        raise InvalidInput(f"no region {region_id}", errors={field: ["no such region"]})
    return found


def _unit(unit_id: int | None) -> Unit | None:
    if unit_id is None:
        return None
    found = db_session().scalar(sa.select(Unit).where(Unit.id == unit_id))
    if found is None:
        raise InvalidInput(f"no unit {unit_id}", errors={"unit_id": ["no such unit"]})
    return found


def _organization(organization_id: int | None) -> Organization | None:
    if organization_id is None:
        return None
    found = db_session().scalar(sa.select(Organization).where(Organization.id == organization_id))
    if found is None:
        raise InvalidInput(f"no organization {organization_id}", errors={"organization_id": ["no such organization"]})
    return found


# --- the worker ---------------------------------------------------------------------------------------------------


@blp.route("/applications")
class Applications(MethodView):
    @blp.arguments(YichangApplySchema)
    @blp.response(201, YichangApplicationSchema, description=(
        "The application as recorded. Screening runs at once: when it refuses (a minor, past retirement age, a "
        "legal representative or partner, a second open application, a phone bound to another person), the "
        "status is \"refused\" with reason and reason_text, the refusal is on record and the refusal SMS is "
        "sent; otherwise the applicant is texted the promised date (due_on)."))
    def post(self, form):
        """Apply to join or transfer, as the signed-in worker (入会转会申请); 403 no_linked_person for an account
        that is not linked to its person in the registry"""
        user, person = _applicant()
        application = applications.submit(
            db_session(), current_tenant(), person=person, user=user, wants=form["wants"],
            region=_region(form["region_id"], "region_id"), unit=_unit(form["unit_id"]),
            other_unit_name=form["other_unit_name"], relation=form["relation"],
            employment_form=form["employment_form"], previous_union=form["previous_union"],
            channel=form["channel"], actor=user)
        return _shown(application)

    @blp.arguments(YichangQueueQuerySchema, location="query")
    @blp.response(200, YichangApplicationSchema(many=True))
    @blp.paginate()
    @require(READ)
    def get(self, query, pagination_parameters):
        """The queue of applications handled in your subtree, newest first, with filters"""
        session, user = db_session(), current_user()
        statement = sa.select(Application).where(scope_filter(user, READ, Application.handler_path))
        for key in ("status", "kind"):
            if key in query:
                statement = statement.where(getattr(Application, key) == query[key])
        if "colour" in query:
            statement = statement.where(Application.status.in_(
                [status for status, colour in COLOURS.items() if colour == query["colour"]]))
        if "overdue" in query:
            late = applications.overdue(id_numbers.today())
            statement = statement.where(late if query["overdue"] else sa.not_(late))
        if "q" in query:
            named = sa.select(Unit.id).where(Unit.name.contains(query["q"], autoescape=True))
            statement = statement.where(sa.or_(Application.unit_id.in_(named),
                                               Application.other_unit_name.contains(query["q"], autoescape=True)))
        order = Application.id.asc() if query["oldest_first"] else Application.id.desc()
        return [applications.view(session, found)
                for found in page_of(session, statement.order_by(order), pagination_parameters)]


@blp.route("/applications/mine")
class MyApplications(MethodView):
    @blp.response(200, YichangApplicationSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Your own applications, newest first (申请状态)"""
        _user, person = _applicant()
        session = db_session()
        statement = sa.select(Application).where(Application.person_id == person.id).order_by(Application.id.desc())
        return [applications.view(session, found) for found in page_of(session, statement, pagination_parameters)]


@blp.route("/applications/<int:application_id>")
class ApplicationById(MethodView):
    @blp.response(200, YichangApplicationSchema)
    def get(self, application_id):
        """Read an application, with its ETag: the applicant their own, staff those handled in their subtree"""
        return _shown(g.application)


@blp.route("/applications/<int:application_id>/withdraw", methods=["POST"])
@blp.response(200, YichangApplicationSchema)
def withdraw(application_id):
    """Withdraw your own open application; needs If-Match. You may apply again afterwards"""
    user, person = _applicant()
    if not _applies(user, g.application):
        raise NotFound(f"no application {application_id}")
    session = db_session()
    found = by_id(session, Application, application_id, lock=True)
    require_if_match(found)
    return _shown(applications.withdraw(session, current_tenant(), found, person=person, actor=user))


# --- staff: dispatch, verify, decide -----------------------------------------------------------------------------


@blp.route("/applications/<int:application_id>/dispatch-target")
@blp.response(200, YichangDispatchTargetSchema)
@require(DISPATCH)
def dispatch_target(application_id):
    """Where the dispatch rule would send the application (属地管理、各负其责), for the page to preselect"""
    session, found = db_session(), g.application
    if not _handles(current_user(), DISPATCH, found):
        raise NotFound(f"no application {application_id}")
    target = applications.dispatch_target(session, rules(session, current_tenant()), found)
    if target is None:
        return {"organization_id": None, "name": None, "kind": None}
    return {"organization_id": target.id, "name": target.name, "kind": target.kind}


@blp.route("/applications/<int:application_id>/dispatch", methods=["POST"])
@blp.arguments(YichangDispatchSchema)
@blp.response(200, YichangApplicationSchema)
def dispatch(data, application_id):
    """Dispatch a new application to the county federation, industry union or city enterprise committee that
    verifies it (业务分派); its admins get an SMS. Needs If-Match"""
    found = _at_step(DISPATCH)
    to = _organization(data["organization_id"])
    return _shown(applications.dispatch(db_session(), current_tenant(), found, to=to, actor=current_user()))


@blp.route("/applications/<int:application_id>/verify", methods=["POST"])
@blp.arguments(YichangVerifySchema)
@blp.response(200, YichangApplicationSchema)
def verify(data, application_id):
    """Verify the unit and the union against the registry (信息校核); the union's chairman gets an SMS. Needs
    If-Match"""
    found = _at_step(VERIFY)
    return _shown(applications.verify(db_session(), current_tenant(), found, unit=_unit(data["unit_id"]),
                                      organization=_organization(data["organization_id"]), actor=current_user()))


@blp.route("/applications/<int:application_id>/approve", methods=["POST"])
@blp.response(200, YichangApplicationSchema)
def approve(application_id):
    """Approve (同意): a join starts the membership, a transfer moves it, in one transaction; the applicant gets
    the outcome SMS. 409 already_a_member when the person became a member meanwhile. Needs If-Match"""
    found = _at_step(DECIDE)
    return _shown(applications.approve(db_session(), current_tenant(), found, actor=current_user()))


@blp.route("/applications/<int:application_id>/reject", methods=["POST"])
@blp.arguments(YichangRejectSchema)
@blp.response(200, YichangApplicationSchema)
def reject(data, application_id):
    """Reject an open application with a reason: the city admin's 不符合条件 (yichang.dispatch) or the chairman's
    不同意 (yichang.decide); the applicant gets the refusal SMS, or the resubmit SMS for not_own_unit. Needs
    If-Match"""
    found = _at_step(DISPATCH, DECIDE)
    return _shown(applications.reject(db_session(), current_tenant(), found, reason=data["reason"],
                                      text=data["text"], actor=current_user()))


# --- staff: members and phones ------------------------------------------------------------------------------------


@blp.route("/members/<int:person_id>/move-out", methods=["POST"])
@blp.arguments(YichangMoveOutSchema)
@blp.response(200, YichangMembershipSchema)
@require(MOVE_OUT)
def move_out(data, person_id):
    """Move out a member who left without applying (迁出), or who leaves the city: the membership waits in a
    service-centre union committee and the member gets an SMS. Needs If-Match with the ETag of the current
    membership (GET /api/v1/people/<id>/memberships/current)"""
    user, session, person = current_user(), db_session(), g.member
    residence = _region(data["residence_region_id"], "residence_region_id")
    current = memberships.current(session, person, lock=True)
    if current is None:  # ended or moved since it was read
        raise NotFound("no member with this id in your area")
    require_if_match(current)
    membership = moves.move_out(session, current_tenant(), person=person, actor=user, residence=residence,
                                leaving_city=data["leaving_city"])
    keeper = session.scalar(sa.select(Organization).where(Organization.id == membership.organization_id))
    session.flush()
    set_etag(membership)
    return {**memberships.view(membership), "organization": keeper.name}


@blp.route("/phone-releases", methods=["POST"])
@blp.arguments(YichangPhoneReleaseSchema)
@blp.response(200, YichangPhoneReleasedSchema)
@require(RELEASE_PHONE)
def release_phone(data):
    """Release a phone number from the people of your area who hold it besides its owner (解除手机号绑定), so a
    worker refused for a phone bound to another person can apply; on record, no SMS. 404 when nobody in your
    area holds it"""
    user = current_user()
    released = phones.release(db_session(), phone=data["phone"], roots=scope_paths(user, RELEASE_PHONE),
                              keep_person_id=data["keep_person_id"], actor=user)
    if not released.people:
        raise NotFound("nobody in your area holds this phone besides its owner", code="phone_not_held")
    return {"phone": released.masked_phone, "kept_person_id": released.kept_person_id,
            "released": [asdict(person) for person in released.people]}
