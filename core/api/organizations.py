"""Organizations (工会组织): the union tree, limited to the caller's subtrees.

An organization outside every subtree where the caller may read is 404, whether it is in a sibling county or
in another tenant, and it is 404 before anything else is looked at, a malformed body included. A change needs
``organizations.manage`` where it happens: a node the caller can read but not manage is 403; a parent or twin
named in a body that the caller cannot read is a field error, as if it did not exist. The contact phone is masked
everywhere but on the detail read by a tenant admin.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core.api.base import ApiBlueprint
from core.api.etag import require_if_match, set_etag
from core.api.pagination import page_of
from core.api.path_objects import resolve_path_object
from core.app import db_session
from core.auth import (
    WHOLE_TENANT,
    in_scope,
    require,
    scope_filter,
    scope_paths,
    subtree_bounds,
)
from core.errors import Forbidden, InvalidInput
from core.masking import mask_phone
from core.models.organization import KINDS, STATUSES, Organization
from core.models.region import Region
from core.registry import organizations, regions

blp = ApiBlueprint("organizations", __name__, description="The union tree: federations, unions and reservoirs")

READ, MANAGE = "organizations.read", "organizations.manage"
#: Who sees a contact phone in full, on the detail only: the tenant's administrators.
FULL_PHONE_ROLES = frozenset({"tenant_admin"})

_PHONE = validate.Regexp(r"^[0-9+\- ]{5,20}$", error="a phone number")


class OrganizationSchema(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "full name as on the seal"})
    kind = fields.String(metadata={"description": ", ".join(KINDS)})
    joint = fields.Boolean(metadata={"description": "a joint union (联合工会) covering several units"})
    reservoir = fields.Boolean(metadata={"description": "holds members while their unit has no union"})
    region_id = fields.Integer(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    path = fields.String(metadata={"description": "ids from the city federation down, /1/7/42/"})
    depth = fields.Integer()
    chairman_name = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String(allow_none=True, metadata={"description": "masked (138****1234) but on the "
                                                                            "detail for a tenant admin"})
    legal_person_cert_no = fields.String(metadata={"description": "工会法人资格证书 number"})
    term_ends_on = fields.Date(allow_none=True)
    status = fields.String(metadata={"description": ", ".join(STATUSES)})
    merged_into_id = fields.Integer(allow_none=True)
    version = fields.Integer()


class _Details(Schema):
    region_id = fields.Integer(allow_none=True)
    joint = fields.Boolean()
    chairman_name = fields.String(validate=validate.Length(max=50))
    contact_name = fields.String(validate=validate.Length(max=50))
    contact_phone = fields.String(allow_none=True, validate=_PHONE)
    legal_person_cert_no = fields.String(validate=validate.Length(max=40))
    term_ends_on = fields.Date(allow_none=True)


class OrganizationCreateSchema(_Details):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    parent_id = fields.Integer(allow_none=True, metadata={"description": "none only for the city federation"})


class OrganizationUpdateSchema(_Details):
    name = fields.String(validate=validate.Length(min=2, max=200))
    kind = fields.String(validate=validate.OneOf(KINDS))


class OrganizationQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    parent = fields.Integer(metadata={"description": "id of the parent: its children only"})
    region = fields.Integer(metadata={"description": "id of a region: organizations in it or in an area under it"})
    q = fields.String(metadata={"description": "part of the name"})
    phone = fields.String(metadata={"description": "the contact phone, exactly"})


class SubtreeQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    status = fields.String(validate=validate.OneOf(STATUSES))


class MoveSchema(Schema):
    parent_id = fields.Integer(required=True)


class MergeSchema(Schema):
    into_id = fields.Integer(required=True, metadata={"description": "the twin that stays"})


_FIELDS = tuple(OrganizationSchema().fields)


def _view(organization: Organization, *, full_phone: bool = False) -> dict:
    view = {name: getattr(organization, name) for name in _FIELDS}
    if not full_phone and organization.contact_phone:
        view["contact_phone"] = mask_phone(organization.contact_phone)
    return view


def _sees_full_phone() -> bool:
    user = g.user
    return user.is_platform_admin or any(grant.role in FULL_PHONE_ROLES for grant in user.grants)


resolve_path_object(blp, "organization_id", into="organization", permission=READ,
                    find=organizations.organization_by_id,
                    visible=lambda user, organization: in_scope(user, READ, organization.path))


def _manageable(organization: Organization) -> Organization:
    if not in_scope(g.user, MANAGE, organization.path):
        raise Forbidden(f"you may not change {organization.name}")
    return organization


def _named(organization_id: int, field: str) -> Organization:
    """An organization a body names (a parent, a twin): a field error unless the caller may read it, 403 unless
    they may manage it."""
    organization = organizations.organization_by_id(db_session(), organization_id, field=field)
    if not in_scope(g.user, READ, organization.path):
        raise InvalidInput(f"no organization {organization_id}", errors={field: ["no such organization"]})
    return _manageable(organization)


def _details(data: dict) -> dict:
    details = {key: value for key, value in data.items() if key not in ("region_id", "parent_id")}
    if "region_id" in data:
        region_id = data["region_id"]
        details["region"] = regions.region_by_id(db_session(), region_id, field="region_id") if region_id else None
    return details


@blp.route("")
class Organizations(MethodView):
    @blp.arguments(OrganizationQuerySchema, location="query")
    @blp.response(200, OrganizationSchema(many=True))
    @blp.paginate()
    @require(READ)
    def get(self, query, pagination_parameters):
        """List the organizations in the caller's subtrees, filtered by kind, status, parent, region, name or
        phone"""
        statement = (
            sa.select(Organization)
            .where(scope_filter(g.user, READ, Organization.path))
            .order_by(Organization.path)
        )
        for key, column in (("kind", Organization.kind), ("status", Organization.status),
                            ("parent", Organization.parent_id)):
            if key in query:
                statement = statement.where(column == query[key])
        if "q" in query:
            statement = statement.where(Organization.name.contains(query["q"], autoescape=True))
        if "phone" in query:
            statement = statement.where(Organization.contact_phone_index == organizations.phone_index(query["phone"]))
        if "region" in query:
            low, high = subtree_bounds(regions.region_by_id(db_session(), query["region"], field="query.region").path)
            area = sa.select(Region.id).where(Region.path >= low, Region.path < high)
            statement = statement.where(Organization.region_id.in_(area))
        return [_view(o) for o in page_of(db_session(), statement, pagination_parameters)]

    @blp.arguments(OrganizationCreateSchema)
    @blp.response(201, OrganizationSchema)
    @require(MANAGE)
    def post(self, data):
        """Create an organization under a parent where the caller may manage (the city federation: no parent,
        tenant-wide managers only)"""
        parent_id = data.get("parent_id")
        if parent_id is None:
            if scope_paths(g.user, MANAGE) != WHOLE_TENANT:
                raise Forbidden("only a tenant-wide admin creates the city federation")
            parent = None
        else:
            parent = _named(parent_id, "parent_id")
        organization = organizations.create(db_session(), parent=parent, actor=g.user, **_details(data))
        set_etag(organization)
        return _view(organization, full_phone=_sees_full_phone())


@blp.route("/<int:organization_id>")
class OrganizationById(MethodView):
    @blp.response(200, OrganizationSchema)
    @require(READ)
    def get(self, organization_id):
        """Read an organization (the contact phone in full for a tenant admin)"""
        organization = g.organization
        set_etag(organization)
        return _view(organization, full_phone=_sees_full_phone())

    @blp.arguments(OrganizationUpdateSchema)
    @blp.response(200, OrganizationSchema)
    @require(MANAGE)
    def patch(self, changes, organization_id):
        """Change an organization's name, kind, region, chairman, contact, certificate or term; needs If-Match"""
        organization = _manageable(g.organization)
        require_if_match(organization)
        organizations.update(db_session(), organization, _details(changes), actor=g.user)
        set_etag(organization)
        return _view(organization, full_phone=_sees_full_phone())


@blp.route("/<int:organization_id>/subtree")
@blp.arguments(SubtreeQuerySchema, location="query")
@blp.response(200, OrganizationSchema(many=True))
@blp.paginate()
@require(READ)
def organization_subtree(query, pagination_parameters, organization_id):
    """An organization and everything under it, in tree order"""
    statement = organizations.subtree(g.organization)
    for key, column in (("kind", Organization.kind), ("status", Organization.status)):
        if key in query:
            statement = statement.where(column == query[key])
    return [_view(o) for o in page_of(db_session(), statement, pagination_parameters)]


@blp.route("/<int:organization_id>/move", methods=["POST"])
@blp.arguments(MoveSchema)
@blp.response(200, OrganizationSchema)
@require(MANAGE)
def move(data, organization_id):
    """Move an organization and its whole subtree under another parent; needs If-Match"""
    organization = _manageable(g.organization)
    new_parent = _named(data["parent_id"], "parent_id")
    require_if_match(organization)
    organizations.move(db_session(), organization, new_parent, actor=g.user)
    set_etag(organization)
    return _view(organization)


@blp.route("/<int:organization_id>/dissolve", methods=["POST"])
@blp.response(200, OrganizationSchema)
@require(MANAGE)
def dissolve(organization_id):
    """Dissolve an organization that has no active organization under it; needs If-Match"""
    organization = _manageable(g.organization)
    require_if_match(organization)
    organizations.dissolve(db_session(), organization, actor=g.user)
    set_etag(organization)
    return _view(organization)


@blp.route("/<int:organization_id>/merge", methods=["POST"])
@blp.arguments(MergeSchema)
@blp.response(200, OrganizationSchema)
@require(MANAGE)
def merge(data, organization_id):
    """Merge this duplicate into its twin (``into_id``): every reference follows, the children move, the
    duplicate stays as merged; needs If-Match on the duplicate"""
    duplicate = _manageable(g.organization)
    twin = _named(data["into_id"], "into_id")
    require_if_match(duplicate)
    organizations.merge(db_session(), duplicate, twin, actor=g.user)
    set_etag(duplicate)
    return _view(duplicate)
