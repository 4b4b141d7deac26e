"""People and their memberships: register, read, correct, find by ID number, and the membership steps.

A person belongs to the subtree of their current membership's organization, or of their last one when no
membership is current; a caller sees the people of their subtrees (a chairman: their union's members), everyone
else is 404, in another subtree as in another tenant. A person with no membership at all is seen by tenant-wide
callers only, so callers with a subtree register people together with their first membership.

ID numbers never travel in a URL: lookup is a POST with the number in the body. Lists show ID numbers and phones
masked; a single read shows the full ID number (and the birth date, which with the masked number would give it
away) only to holders of ``people.read_id_number``, and every such read is on record.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import aliased

from core.api.base import ApiBlueprint
from core.api.etag import require_if_match, set_etag
from core.api.pagination import page_of
from core.api.path_objects import resolve_path_object
from core.app import db_session
from core.auth import (
    WHOLE_TENANT, check, has_permission, in_scope, require, scope_filter, scope_paths, subtree_bounds,
)
from core.errors import Forbidden, InvalidInput, NotFound
from core.id_numbers import age_on, today
from core.masking import mask_id_number, mask_phone
from core.models.membership import END_REASONS, RETAINED_BECAUSE, STEPS, Membership
from core.models.organization import Organization
from core.models.person import (
    CONFIRMATIONS, EDUCATION_LEVELS, EMPLOYMENT_FORMS, ETHNICITIES, HOUSEHOLD_TYPES, SEXES, Person,
)
from core.models.unit import Unit
from core.registry import memberships, organizations, people

blp = ApiBlueprint("people", __name__, description="People of the real-name registry and their memberships")

READ = "people.read"
MANAGE = "people.manage"
FULL_ID_NUMBER = "people.read_id_number"
MEMBERSHIPS = "memberships.manage"
SUBJECT_ACCESS = "people.subject_access"


# --- schemas ------------------------------------------------------------------------------------------------------


def _codes(codes) -> validate.OneOf:
    return validate.OneOf(list(codes))


class _Details(Schema):
    phone = fields.String(allow_none=True, metadata={"description": "a mainland mobile number; full-width digits, "
                                                                    "spaces and +86 are accepted"})
    ethnicity = fields.String(validate=validate.Length(max=20), metadata={"description": "汉族, 回族, ... (GB/T 3304)"})
    education = fields.String(validate=_codes(EDUCATION_LEVELS), metadata={"description": ", ".join(EDUCATION_LEVELS)})
    political_status = fields.String(validate=validate.Length(max=20))
    native_place = fields.String(validate=validate.Length(max=50))
    household_type = fields.String(validate=_codes(HOUSEHOLD_TYPES), metadata={"description": "urban or rural"})
    employment_form = fields.String(validate=_codes(EMPLOYMENT_FORMS),
                                    metadata={"description": ", ".join(EMPLOYMENT_FORMS)})
    position = fields.String(validate=validate.Length(max=50))
    title = fields.String(validate=validate.Length(max=50))
    remarks = fields.String(validate=validate.Length(max=500))
    confirmed_via = fields.String(validate=_codes(CONFIRMATIONS), metadata={
        "description": "how the person confirmed the record staff filled in for them: " + ", ".join(CONFIRMATIONS)})


class FirstMembershipSchema(Schema):
    organization_id = fields.Integer(required=True)
    unit_id = fields.Integer(allow_none=True)
    on = fields.Date(metadata={"description": "the day it starts; today by default"})
    parked = fields.Boolean(load_default=False, metadata={"description": "held in a reservoir until the unit "
                                                                         "forms a union"})
    note = fields.String(load_default="", validate=validate.Length(max=200))


class PersonCreateSchema(_Details):
    id_number = fields.String(required=True, metadata={"description": "18 characters, or an old 15-digit number"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    confirmed_via = fields.String(required=True, validate=_codes(CONFIRMATIONS), metadata={
        "description": "staff fill the record in on the person's behalf: how the person confirmed it, "
                       + ", ".join(CONFIRMATIONS)})
    membership = fields.Nested(FirstMembershipSchema, metadata={
        "description": "join at once; required for callers whose scope is a subtree"})


class PersonUpdateSchema(_Details):
    id_number = fields.String(metadata={"description": "a corrected ID number; sex and birth date follow it"})
    name = fields.String(validate=validate.Length(min=1, max=50))


class MembershipSchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    organization_id = fields.Integer()
    organization_name = fields.String()
    unit_id = fields.Integer(allow_none=True)
    status = fields.String(metadata={"description": "active, retained or ended"})
    parked = fields.Boolean()
    started_on = fields.String()
    ended_on = fields.String(allow_none=True)
    end_reason = fields.String(allow_none=True)
    retained_because = fields.String(allow_none=True)
    retained_on = fields.String(allow_none=True)
    via_id = fields.Integer(allow_none=True, metadata={"description": "the membership this one continues"})
    version = fields.Integer()


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    membership_id = fields.Integer()
    step = fields.String()
    on = fields.String()
    organization_id = fields.Integer()
    actor_id = fields.Integer(allow_none=True)
    actor = fields.String()
    reason = fields.String()
    note = fields.String()
    at = fields.String()


class MembershipHistorySchema(Schema):
    memberships = fields.List(fields.Nested(MembershipSchema), metadata={"description": "oldest first"})
    ledger = fields.List(fields.Nested(LedgerEntrySchema), metadata={"description": "in the order written"})


class PersonSchema(Schema):
    id = fields.Integer()
    id_number = fields.String(metadata={"description": "masked (420502********1234) unless the caller holds "
                                                       "people.read_id_number; a full read is on record"})
    name = fields.String()
    sex = fields.String(metadata={"description": "M or F, from the ID number"})
    age = fields.Integer()
    birth_date = fields.Date(allow_none=True, metadata={"description": "only with the full ID number"})
    phone = fields.String(allow_none=True, metadata={"description": "masked in lists"})
    ethnicity = fields.String()
    education = fields.String()
    political_status = fields.String()
    native_place = fields.String()
    household_type = fields.String()
    employment_form = fields.String()
    position = fields.String()
    title = fields.String()
    remarks = fields.String()
    filled_in_by_user_id = fields.Integer(allow_none=True)
    confirmed_via = fields.String()
    version = fields.Integer()
    membership = fields.Nested(MembershipSchema, allow_none=True, metadata={"description": "the current one"})


class SubjectAccessExportSchema(Schema):
    exported_at = fields.String()
    person = fields.Dict(metadata={"description": "the record in full"})
    memberships = fields.List(fields.Dict())
    ledger = fields.List(fields.Dict())
    id_number_reads = fields.List(fields.Dict(), metadata={"description": "who read the full ID number, newest "
                                                                         "first; this export included"})


class PeopleCodeListsSchema(Schema):
    sex = fields.Dict()
    ethnicity = fields.Dict(metadata={"description": "GB/T 3304 names, in the order of their codes"})
    education = fields.Dict()
    household_type = fields.Dict()
    employment_form = fields.Dict()
    confirmed_via = fields.Dict()
    retained_because = fields.Dict()
    end_reason = fields.Dict()
    step = fields.Dict(metadata={"description": "the steps of the membership ledger"})


class PeopleQuerySchema(Schema):
    organization = fields.Integer(metadata={"description": "members of this organization's subtree"})
    q = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "the start of the name"})


class PersonLookupSchema(Schema):
    id_number = fields.String(required=True, metadata={"description": "in the body, never in a URL"})


class _Step(Schema):
    on = fields.Date(metadata={"description": "the day the step takes effect; today by default"})
    note = fields.String(load_default="", validate=validate.Length(max=200))


class MembershipJoinSchema(_Step):
    organization_id = fields.Integer(required=True)
    unit_id = fields.Integer(allow_none=True)
    parked = fields.Boolean(load_default=False)


class MembershipTransferSchema(_Step):
    organization_id = fields.Integer(required=True, metadata={"description": "the receiving union"})
    unit_id = fields.Integer(allow_none=True)


class MembershipReservoirSchema(_Step):
    organization_id = fields.Integer(required=True, metadata={"description": "a reservoir"})
    unit_id = fields.Integer(allow_none=True)


class MembershipRetainSchema(_Step):
    because = fields.String(required=True, validate=_codes(RETAINED_BECAUSE))
    keeper_id = fields.Integer(allow_none=True, metadata={
        "description": "the union that keeps it; on closure, by default the upper union"})


class MembershipEndSchema(_Step):
    reason = fields.String(required=True, validate=_codes(memberships.END_BY_CHOICE))


# --- scope --------------------------------------------------------------------------------------------------------


def _person_at_home(session, person_id: int) -> Person:
    """The person, with their home organization kept as ``g.home``: every later check of the request is made
    there."""
    person = people.person_by_id(session, person_id)
    g.home = people.home(session, person)
    return person


resolve_path_object(blp, "person_id", into="person", permission=READ, find=_person_at_home,
                    visible=lambda _user, _person: _in_scope(READ, g.home))


def _in_scope(permission: str, organization: Organization | None) -> bool:
    """Whether the caller holds ``permission`` over ``organization`` (None: a person with no membership at all,
    whom only tenant-wide callers reach)."""
    if scope_paths(g.user, permission) == WHOLE_TENANT:
        return True
    return organization is not None and in_scope(g.user, permission, organization.path)


def _require(permission: str, organization: Organization | None, what: str) -> None:
    check(g.user, permission)
    if not _in_scope(permission, organization):
        raise Forbidden(f"you may not {what} here")


def _organization(organization_id: int, field: str = "organization_id") -> Organization:
    return organizations.organization_by_id(db_session(), organization_id, field=field)


def _unit(unit_id: int | None) -> Unit | None:
    if unit_id is None:
        return None
    unit = db_session().scalar(sa.select(Unit).where(Unit.id == unit_id))
    if unit is None:
        raise InvalidInput(f"no unit {unit_id}", errors={"unit_id": ["no such unit"]})
    return unit


def _in_subtrees(statement: sa.Select) -> sa.Select:
    """People whose newest membership is in the caller's subtrees (everyone, for a tenant-wide caller)."""
    if scope_paths(g.user, READ) == WHOLE_TENANT:
        return statement
    newer = aliased(Membership)
    homes = (
        sa.select(Membership.person_id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(
            scope_filter(g.user, READ, Organization.path),
            ~sa.select(newer.id).where(newer.person_id == Membership.person_id, newer.id > Membership.id).exists(),
        )
    )
    return statement.where(Person.id.in_(homes))


# --- views --------------------------------------------------------------------------------------------------------


def _membership_view(membership: Membership | None, organization: Organization | None = None) -> dict | None:
    if membership is None:
        return None
    if organization is None:
        organization = db_session().get(Organization, membership.organization_id)
    return {**memberships.view(membership), "organization_name": organization.name}


_PERSON_FIELDS = tuple(name for name in PersonSchema().fields if hasattr(Person, name))


def _person_view(person: Person, *, detail: bool, reveal: bool = False) -> dict:
    """``detail``: a single person (phone in full); ``reveal``: the full ID number and birth date, on record."""
    full = reveal and has_permission(g.user, FULL_ID_NUMBER) and _in_scope(FULL_ID_NUMBER, g.get("home"))
    view = {name: getattr(person, name) for name in _PERSON_FIELDS}
    view["id_number"] = people.reveal_id_number(db_session(), person, actor=g.user) if full else \
        mask_id_number(person.id_number)
    view["birth_date"] = person.birth_date if full else None
    view["age"] = age_on(person.birth_date, today())
    if person.phone and not detail:
        view["phone"] = mask_phone(person.phone)
    if detail:
        view["membership"] = _membership_view(memberships.current(db_session(), person))
    return view


@blp.route("")
class People(MethodView):
    @blp.arguments(PeopleQuerySchema, location="query")
    @blp.response(200, PersonSchema(many=True))
    @blp.paginate()
    @require(READ)
    def get(self, query, pagination_parameters):
        """List the people of the caller's subtrees, ID numbers and phones masked"""
        statement = _in_subtrees(sa.select(Person).order_by(Person.name, Person.id))
        if "q" in query:
            statement = statement.where(Person.name.startswith(query["q"], autoescape=True))
        if "organization" in query:
            organization = _organization(query["organization"], "query.organization")
            if not _in_scope(READ, organization):
                raise InvalidInput("no such organization", errors={"query.organization": ["no such organization"]})
            low, high = subtree_bounds(organization.path)
            members = (
                sa.select(Membership.person_id)
                .join(Organization, Organization.id == Membership.organization_id)
                .where(Membership.status != "ended", Organization.path >= low, Organization.path < high)
            )
            statement = statement.where(Person.id.in_(members))
        return [_person_view(p, detail=False) for p in page_of(db_session(), statement, pagination_parameters)]

    @blp.arguments(PersonCreateSchema)
    @blp.response(201, PersonSchema)
    @require(MANAGE)
    def post(self, data):
        """Register a person, filled in by the caller on the person's behalf, and join them at once when
        ``membership`` is given (required for callers whose scope is a subtree)"""
        first = data.pop("membership", None)
        if first is None and scope_paths(g.user, MANAGE) != WHOLE_TENANT:
            raise InvalidInput("name the union the person joins", errors={
                "membership": ["required: without a membership in your subtree you could not see the person"]})
        organization = _organization(first["organization_id"], "membership.organization_id") if first else None
        if first:
            _require(MEMBERSHIPS, organization, "add members")
        person = people.create(db_session(), filled_in_by=g.user, actor=g.user, **data)
        if first:
            memberships.join(db_session(), person=person, organization=organization, unit=_unit(first.get("unit_id")),
                             on=first.get("on"), parked=first["parked"], actor=g.user, note=first["note"])
        g.home = organization
        set_etag(person)
        return _person_view(person, detail=True)


@blp.route("/code-lists")
@blp.response(200, PeopleCodeListsSchema)
@require(READ)
def code_lists():
    """The coded fields of a person and a membership, code -> Chinese label, for forms and import templates"""
    return {
        "sex": SEXES,
        "ethnicity": {name: name for name in ETHNICITIES},
        "education": EDUCATION_LEVELS,
        "household_type": HOUSEHOLD_TYPES,
        "employment_form": EMPLOYMENT_FORMS,
        "confirmed_via": CONFIRMATIONS,
        "retained_because": RETAINED_BECAUSE,
        "end_reason": END_REASONS,
        "step": STEPS,
    }


@blp.route("/lookup", methods=["POST"])
@blp.arguments(PersonLookupSchema)
@blp.response(200, PersonSchema)
@require(READ)
def lookup(data):
    """Find a person by ID number (in the body), with their current membership; 404 unless the person is in the
    caller's subtrees"""
    found = people.lookup(db_session(), data["id_number"])
    g.home = found.organization or people.home(db_session(), found.person)
    if not _in_scope(READ, g.home):
        raise NotFound("no person with this ID number", errors={"id_number": ["not registered"]})
    g.person = found.person
    set_etag(found.person)
    return _person_view(found.person, detail=True, reveal=True)


@blp.route("/<int:person_id>")
class PersonById(MethodView):
    @blp.response(200, PersonSchema)
    @require(READ)
    def get(self, person_id):
        """Read a person with their current membership (the full ID number for holders of
        people.read_id_number, on record)"""
        set_etag(g.person)
        return _person_view(g.person, detail=True, reveal=True)

    @blp.arguments(PersonUpdateSchema)
    @blp.response(200, PersonSchema)
    @require(MANAGE)
    def patch(self, changes, person_id):
        """Correct a person's record; needs If-Match"""
        _require(MANAGE, g.home, "change people")
        require_if_match(g.person)
        people.update(db_session(), g.person, changes, actor=g.user)
        set_etag(g.person)
        return _person_view(g.person, detail=True)


@blp.route("/<int:person_id>/export")
@blp.response(200, SubjectAccessExportSchema)
@require(SUBJECT_ACCESS)
def export(person_id):
    """Everything held about the person (个人信息查阅复制): the record in full, memberships, ledger, and who read the
    full ID number. For the person themself; until users are linked to people, tenant admins fetch it for them"""
    _require(SUBJECT_ACCESS, g.home, "export people's data")
    return people.subject_access_export(db_session(), g.person, actor=g.user)


# --- memberships --------------------------------------------------------------------------------------------------


@blp.route("/<int:person_id>/memberships")
@blp.response(200, MembershipHistorySchema)
@require(READ)
def history(person_id):
    """Every membership of the person, oldest first, and the ledger of every step"""
    session = db_session()
    items = memberships.history(session, g.person)
    names = dict(session.execute(
        sa.select(Organization.id, Organization.name).where(Organization.id.in_({m.organization_id for m in items}))
    ).all())
    return {
        "memberships": [{**memberships.view(m), "organization_name": names[m.organization_id]} for m in items],
        "ledger": [memberships.entry_view(e) for e in memberships.ledger(session, g.person)],
    }


@blp.route("/<int:person_id>/memberships/current")
@blp.response(200, MembershipSchema)
@require(READ)
def current_membership(person_id):
    """The current membership, with the ETag every step but join needs in If-Match"""
    membership = memberships.current(db_session(), g.person)
    if membership is None:
        raise memberships.NotAMember(g.person)
    set_etag(membership)
    return _membership_view(membership)


def _locked_current() -> Membership:
    """The current membership, locked, checked against If-Match: the step that follows acts on what the caller
    saw, or on nothing (412)."""
    _require(MEMBERSHIPS, g.home, "manage memberships")
    membership = memberships.current(db_session(), g.person, lock=True)
    if membership is None:
        raise memberships.NotAMember(g.person)
    require_if_match(membership)
    return membership


def _answer(membership: Membership) -> dict:
    set_etag(membership)
    return _membership_view(membership)


@blp.route("/<int:person_id>/memberships/join", methods=["POST"])
@blp.arguments(MembershipJoinSchema)
@blp.response(201, MembershipSchema)
@require(MEMBERSHIPS)
def join(data, person_id):
    """Join (or re-join after an end) a union in the caller's subtree"""
    organization = _organization(data["organization_id"])
    _require(MEMBERSHIPS, organization, "add members")
    membership = memberships.join(db_session(), person=g.person, organization=organization,
                                  unit=_unit(data.get("unit_id")), on=data.get("on"), parked=data["parked"],
                                  actor=g.user, note=data["note"])
    return _answer(membership)


@blp.route("/<int:person_id>/memberships/transfer", methods=["POST"])
@blp.arguments(MembershipTransferSchema)
@blp.response(200, MembershipSchema)
@require(MEMBERSHIPS)
def transfer(data, person_id):
    """Transfer the membership to another union; needs If-Match on the current membership"""
    _locked_current()
    membership = memberships.transfer(db_session(), person=g.person, to=_organization(data["organization_id"]),
                                      unit=_unit(data.get("unit_id")), on=data.get("on"), actor=g.user,
                                      note=data["note"])
    return _answer(membership)


@blp.route("/<int:person_id>/memberships/move-out", methods=["POST"])
@blp.arguments(MembershipReservoirSchema)
@blp.response(200, MembershipSchema)
@require(MEMBERSHIPS)
def move_out(data, person_id):
    """Move the member out (迁出) to a reservoir, where the membership waits parked; needs If-Match"""
    _locked_current()
    membership = memberships.move_out(db_session(), person=g.person, to=_organization(data["organization_id"]),
                                      on=data.get("on"), actor=g.user, note=data["note"])
    return _answer(membership)


@blp.route("/<int:person_id>/memberships/park", methods=["POST"])
@blp.arguments(MembershipReservoirSchema)
@blp.response(200, MembershipSchema)
@require(MEMBERSHIPS)
def park(data, person_id):
    """Hold the membership in a reservoir while the unit has no union; needs If-Match"""
    _locked_current()
    membership = memberships.park(db_session(), person=g.person, to=_organization(data["organization_id"]),
                                  unit=_unit(data.get("unit_id")), on=data.get("on"), actor=g.user,
                                  note=data["note"])
    return _answer(membership)


@blp.route("/<int:person_id>/memberships/retain", methods=["POST"])
@blp.arguments(MembershipRetainSchema)
@blp.response(200, MembershipSchema)
@require(MEMBERSHIPS)
def retain(data, person_id):
    """Retain the membership (保留会籍) on retirement, unemployment or the unit's closure; needs If-Match"""
    _locked_current()
    keeper = _organization(data["keeper_id"], "keeper_id") if data.get("keeper_id") else None
    membership = memberships.retain(db_session(), person=g.person, because=data["because"], keeper=keeper,
                                    on=data.get("on"), actor=g.user, note=data["note"])
    return _answer(membership)


@blp.route("/<int:person_id>/memberships/end", methods=["POST"])
@blp.arguments(MembershipEndSchema)
@blp.response(200, MembershipSchema)
@require(MEMBERSHIPS)
def end(data, person_id):
    """End the membership: retired, left, died, removed or deemed withdrawn; needs If-Match"""
    _locked_current()
    membership = memberships.end(db_session(), person=g.person, reason=data["reason"], on=data.get("on"),
                                 actor=g.user, note=data["note"])
    return _answer(membership)
