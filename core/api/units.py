"""Units (单位): list, search by name, read, register, change, look up by credit code.

Which units a caller sees (``units.read``) and changes (``units.manage``): those covered by a union in the
subtrees where they hold the permission, and, where that subtree is a federation's (总工会), the units without a
union in the federation's area too, since such a unit applies to the local federation by territory. A unit
outside that is 404, found first, before a body is parsed. The name search is for every signed-in user of the
tenant (workers choose their unit on the join form) and is not limited to a subtree.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload

from core.api.base import ApiBlueprint
from core.api.etag import require_if_match, set_etag
from core.api.pagination import page_of
from core.app import db_session
from core.auth import check, in_scope, require, require_signed_in, scope_paths, subtree_bounds
from core.errors import InvalidInput, NotFound
from core.models.organization import Organization
from core.models.region import Region
from core.models.unit import ECONOMIC_TYPES, INDUSTRIES, Unit
from core.registry import organizations, regions, unit_search, units

blp = ApiBlueprint("units", __name__, description="Units: the employers whose workers join unions")

READ, MANAGE = "units.read", "units.manage"
_COUNT = validate.Range(min=0)


class UnitSchema(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "the full name as registered"})
    credit_code = fields.String(allow_none=True, metadata={"description": "统一社会信用代码, 18 characters"})
    registration_number = fields.String(allow_none=True, metadata={"description": "工商注册号, 15 digits"})
    organization_code = fields.String(allow_none=True, metadata={"description": "组织机构代码, 9 characters"})
    region_id = fields.Integer(allow_none=True)
    region_name = fields.Function(lambda unit: unit.region.name if unit.region else None)
    industry = fields.String(allow_none=True, metadata={"description": "GB/T 4754 section, A to T"})
    economic_type = fields.String(allow_none=True, metadata={"description": "unit category code, 110 to 700"})
    address = fields.String()
    legal_representative = fields.String()
    employees = fields.Integer(allow_none=True)
    women = fields.Integer(allow_none=True)
    dispatched = fields.Integer(allow_none=True)
    migrant_workers = fields.Integer(allow_none=True)
    has_union = fields.Boolean()
    organization_id = fields.Integer(allow_none=True, metadata={"description": "the union that covers the unit"})
    organization_name = fields.Function(
        lambda unit: unit.covering_organization.name if unit.covering_organization else None
    )
    version = fields.Integer()


class _Fields(Schema):
    credit_code = fields.String(allow_none=True, metadata={"description": "checked by its check character"})
    registration_number = fields.String(allow_none=True, metadata={"description": "for records from before 2015"})
    organization_code = fields.String(allow_none=True, metadata={"description": "filled from the credit code"})
    region_id = fields.Integer(allow_none=True)
    industry = fields.String(allow_none=True, validate=validate.OneOf(INDUSTRIES))
    economic_type = fields.String(allow_none=True, validate=validate.OneOf(ECONOMIC_TYPES))
    address = fields.String(validate=validate.Length(max=300))
    legal_representative = fields.String(validate=validate.Length(max=50))
    employees = fields.Integer(allow_none=True, validate=_COUNT)
    women = fields.Integer(allow_none=True, validate=_COUNT)
    dispatched = fields.Integer(allow_none=True, validate=_COUNT)
    migrant_workers = fields.Integer(allow_none=True, validate=_COUNT)
    has_union = fields.Boolean(metadata={"description": "true also while its union is not in the registry"})
    organization_id = fields.Integer(allow_none=True, metadata={
        "description": "a grassroots or joint union; setting it sets has_union, null clears it"})


class UnitCreateSchema(_Fields):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))


class UnitUpdateSchema(_Fields):
    name = fields.String(validate=validate.Length(min=2, max=200))


class UnitQuerySchema(Schema):
    region = fields.Integer(metadata={"description": "id of a region: units in it or in an area under it"})
    organization = fields.Integer(metadata={"description": "id of an organization: units its subtree covers"})
    has_union = fields.Boolean()
    industry = fields.String(validate=validate.OneOf(INDUSTRIES))
    economic_type = fields.String(validate=validate.OneOf(ECONOMIC_TYPES))


class UnitSearchQuerySchema(Schema):
    q = fields.String(required=True, metadata={"description": "two or more characters from anywhere in the name"})
    region = fields.Integer(metadata={"description": "id of a region: units in it or in an area under it"})


class UnitHitSchema(Schema):
    id = fields.Integer(attribute="unit.id")
    name = fields.String(attribute="unit.name")
    match = fields.String(metadata={"description": ", ".join(unit_search.MATCHES)})
    credit_code = fields.String(attribute="unit.credit_code", allow_none=True)
    registration_number = fields.String(attribute="unit.registration_number", allow_none=True)
    organization_code = fields.String(attribute="unit.organization_code", allow_none=True)
    region_id = fields.Integer(attribute="unit.region_id", allow_none=True)
    region_name = fields.Function(lambda hit: hit.unit.region.name if hit.unit.region else None)
    has_union = fields.Boolean(attribute="unit.has_union")
    organization_id = fields.Integer(attribute="unit.organization_id", allow_none=True)
    organization_name = fields.Function(
        lambda hit: hit.unit.covering_organization.name if hit.unit.covering_organization else None
    )


class LookupQuerySchema(Schema):
    credit_code = fields.String(required=True, metadata={
        "description": "a credit code (18), a business registration number (15) or an organisation code (9)"})


class CodeSchema(Schema):
    code = fields.String()
    name = fields.String()


class CodeListsSchema(Schema):
    industries = fields.List(fields.Nested(CodeSchema), metadata={"description": "GB/T 4754 sections"})
    economic_types = fields.List(fields.Nested(CodeSchema), metadata={"description": "unit category codes"})


# --- who sees which units ---------------------------------------------------------------------------------------


def visible(user, permission: str) -> sa.ColumnElement:
    """A WHERE clause: the units ``user`` may use ``permission`` on (see the module docstring)."""
    roots = scope_paths(user, permission)
    return units.within(roots, units.federation_areas(db_session(), roots))


def _visible_unit(unit_id: int, permission: str) -> Unit:
    check(g.get("user"), permission)
    unit = db_session().scalar(sa.select(Unit).where(Unit.id == unit_id, visible(g.user, permission)))
    if unit is None:
        raise NotFound(f"no unit {unit_id}")
    return unit


def _still_visible(unit: Unit, data: dict) -> None:
    """A registration or change may not put a unit where its author could no longer see it."""
    if db_session().scalar(sa.select(Unit.id).where(Unit.id == unit.id, visible(g.user, MANAGE))) is None:
        field = "organization_id" if unit.organization_id is not None or "organization_id" in data else "region_id"
        raise InvalidInput("the unit would be outside your area", errors={field: [
            "a unit you register or change must be covered by a union in your subtree, or lie without a union in "
            "the area of a federation you act for"]})


@blp.before_request
def _resolve_unit() -> None:
    """Every route with a unit id finds it first: an outsider learns nothing from a 422 that a missing id would
    not give too. Reads need ``units.read`` on the unit, writes ``units.manage``."""
    unit_id = (request.view_args or {}).get("unit_id")
    if unit_id is not None:
        g.unit = _visible_unit(unit_id, READ if request.method in ("GET", "HEAD") else MANAGE)


def _region(region_id: int | None, field: str) -> Region | None:
    return regions.region_by_id(db_session(), region_id, field=field) if region_id else None


def _union(organization_id: int, field: str = "organization_id") -> Organization:
    """A union a body names: a field error unless the caller may read it."""
    organization = organizations.organization_by_id(db_session(), organization_id, field=field)
    if not in_scope(g.user, MANAGE, organization.path):
        raise InvalidInput(f"no organization {organization_id}", errors={field: ["no such organization"]})
    return organization


# --- routes -----------------------------------------------------------------------------------------------------


@blp.route("")
class Units(MethodView):
    @blp.arguments(UnitQuerySchema, location="query")
    @blp.response(200, UnitSchema(many=True))
    @blp.paginate()
    @require(READ)
    def get(self, query, pagination_parameters):
        """List the units you may see, by name; filters: region and organization (each with everything under
        it), has_union, industry, economic_type"""
        statement = (
            sa.select(Unit)
            .where(visible(g.user, READ))
            .options(selectinload(Unit.region), selectinload(Unit.covering_organization))
            .order_by(Unit.name, Unit.id)
        )
        if "region" in query:
            low, high = subtree_bounds(_region(query["region"], "query.region").path)
            statement = statement.where(Unit.region_path >= low, Unit.region_path < high)
        if "organization" in query:
            organization = organizations.organization_by_id(db_session(), query["organization"], field="query.organization")
            low, high = subtree_bounds(organization.path)
            statement = statement.where(Unit.organization_id.in_(
                sa.select(Organization.id).where(Organization.path >= low, Organization.path < high)))
        for field in ("has_union", "industry", "economic_type"):
            if field in query:
                statement = statement.where(getattr(Unit, field) == query[field])
        return page_of(db_session(), statement, pagination_parameters)

    @blp.arguments(UnitCreateSchema)
    @blp.response(201, UnitSchema)
    @require(MANAGE)
    def post(self, data):
        """Register a unit"""
        fields_ = {key: value for key, value in data.items() if key not in ("region_id", "organization_id")}
        organization = _union(data["organization_id"]) if data.get("organization_id") else None
        unit = units.create(
            db_session(), region=_region(data.get("region_id"), "region_id"), organization=organization,
            actor=g.user, **fields_,
        )
        _still_visible(unit, data)
        set_etag(unit)
        return unit


@blp.route("/search")
@blp.arguments(UnitSearchQuerySchema, location="query")
@blp.response(200, UnitHitSchema(many=True))
@require_signed_in
def search(query):
    """Units whose name contains ``q`` (two or more characters, anywhere in the name), in ``region`` and the
    areas under it when given: exact name first, then names that start with it, then the rest; at most 20"""
    region = _region(query.get("region"), "query.region")
    try:
        return unit_search.search(db_session(), query["q"], region=region)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, errors={f"query.{key}": value for key, value in exc.errors.items()}) from None


@blp.route("/lookup")
@blp.arguments(LookupQuerySchema, location="query")
@blp.response(200, UnitSchema)
@require(READ)
def lookup(query):
    """The unit with this credit code, business registration number or organisation code"""
    try:
        unit = units.by_code(db_session(), query["credit_code"])
    except InvalidInput as exc:
        raise InvalidInput(exc.message, errors={f"query.{key}": value for key, value in exc.errors.items()}) from None
    if unit is None:
        raise NotFound("no unit has this code")
    unit = _visible_unit(unit.id, READ)
    set_etag(unit)
    return unit


@blp.route("/code-lists")
@blp.response(200, CodeListsSchema)
@require_signed_in
def code_lists():
    """The industries (GB/T 4754 sections) and unit category codes a unit may carry"""
    return {
        "industries": [{"code": code, "name": name} for code, name in INDUSTRIES.items()],
        "economic_types": [{"code": code, "name": name} for code, name in ECONOMIC_TYPES.items()],
    }


@blp.route("/<int:unit_id>")
class UnitById(MethodView):
    @blp.response(200, UnitSchema)
    def get(self, unit_id):
        """Read a unit"""
        set_etag(g.unit)
        return g.unit

    @blp.arguments(UnitUpdateSchema)
    @blp.response(200, UnitSchema)
    def patch(self, changes, unit_id):
        """Change a unit; ``organization_id`` sets (or, null, clears) the union that covers it; needs If-Match"""
        unit = g.unit
        require_if_match(unit)
        session = db_session()
        fields_ = {key: value for key, value in changes.items() if key not in ("region_id", "organization_id")}
        if "region_id" in changes:
            fields_["region"] = _region(changes["region_id"], "region_id")
        if "organization_id" in changes and changes["organization_id"] is None:
            units.clear_covering_union(session, unit, actor=g.user)
        if fields_:
            units.update(session, unit, fields_, actor=g.user)
        if changes.get("organization_id") is not None and changes["organization_id"] != unit.organization_id:
            units.set_covering_union(session, unit, _union(changes["organization_id"]), actor=g.user)
        _still_visible(unit, changes)
        set_etag(unit)
        return unit
