"""Regions (区域): list, read, subtree; add a community or grid; rename.

A role acts on the area of the organization it is held at: a grant at 夷陵区总工会 (region 夷陵区) reads and
changes the regions of 夷陵区 and below; a tenant-wide grant, every region. An organization without a region
lends its holders no area. A region outside the caller's areas is 404, before anything else is looked at.
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
from core.auth import WHOLE_TENANT, require, scope_paths, subtree_bounds
from core.errors import Forbidden, InvalidInput
from core.models.organization import Organization
from core.models.region import LEVELS, Region
from core.registry import regions

READ, MANAGE = "regions.read", "regions.manage"

blp = ApiBlueprint("regions", __name__, description="Regions: the city's administrative areas down to grids")

_NAME = validate.Length(min=2, max=100)


class RegionSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True, metadata={"description": "national division code; grids: the tenant's"})
    name = fields.String(dump_only=True)
    level = fields.String(dump_only=True, metadata={"description": ", ".join(LEVELS)})
    parent_id = fields.Integer(dump_only=True, allow_none=True)
    path = fields.String(dump_only=True, metadata={"description": "ids from the city down, /1/7/42/"})
    version = fields.Integer(dump_only=True)


class RegionQuerySchema(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent = fields.Integer(metadata={"description": "id of the parent region: its children only"})
    q = fields.String(metadata={"description": "part of the name"})


class RegionSubtreeQuerySchema(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    q = fields.String(metadata={"description": "part of the name"})


class RegionCreateSchema(Schema):
    parent_id = fields.Integer(required=True)
    name = fields.String(required=True, validate=_NAME)
    level = fields.String(required=True, validate=validate.OneOf(("community", "grid")))
    code = fields.String(
        validate=validate.Length(max=16),
        metadata={"description": "a community's 12-digit national code; grids get one of the tenant's own"},
    )


class RegionUpdateSchema(Schema):
    name = fields.String(required=True, validate=_NAME)


def _areas(permission: str) -> tuple[str, ...]:
    """Paths of the regions where the caller holds ``permission``: the regions of the organizations at the roots
    of their subtrees (``core.auth.scope_paths``), or ``WHOLE_TENANT``."""
    roots = scope_paths(g.user, permission)
    if roots in ((), WHOLE_TENANT):
        return roots
    areas = db_session().scalars(
        sa.select(Region.path)
        .join(Organization, Organization.region_id == Region.id)
        .where(Organization.path.in_(roots))
    )
    return tuple(sorted(set(areas)))


def _in_area(region: Region, permission: str) -> bool:
    return any(region.path.startswith(area) for area in _areas(permission))


def _area_filter(permission: str):
    areas = _areas(permission)
    if areas == WHOLE_TENANT:
        return sa.true()
    ranges = [sa.and_(Region.path >= low, Region.path < high) for low, high in map(subtree_bounds, areas)]
    return sa.or_(sa.false(), *ranges)


def _manageable(region: Region) -> Region:
    if not _in_area(region, MANAGE):
        raise Forbidden(f"you may not change {region.name}")
    return region


resolve_path_object(blp, "region_id", into="region", permission=READ, find=regions.region_by_id,
                    visible=lambda _user, region: _in_area(region, READ))


@blp.route("")
class Regions(MethodView):
    @blp.arguments(RegionQuerySchema, location="query")
    @blp.response(200, RegionSchema(many=True))
    @blp.paginate()
    @require(READ)
    def get(self, query, pagination_parameters):
        """List regions, filtered by level, parent or part of the name"""
        statement = sa.select(Region).where(_area_filter(READ)).order_by(Region.code, Region.id)
        if "level" in query:
            statement = statement.where(Region.level == query["level"])
        if "parent" in query:
            statement = statement.where(Region.parent_id == query["parent"])
        if "q" in query:
            statement = statement.where(Region.name.contains(query["q"], autoescape=True))
        return page_of(db_session(), statement, pagination_parameters)

    @blp.arguments(RegionCreateSchema)
    @blp.response(201, RegionSchema)
    @require(MANAGE)
    def post(self, data):
        """Add a community or village (with its national code) under a street, or a grid under a street or
        community"""
        parent = regions.region_by_id(db_session(), data["parent_id"], field="parent_id")
        if not _in_area(parent, READ):
            raise InvalidInput(f"no region {parent.id}", errors={"parent_id": ["no such region"]})
        _manageable(parent)
        region = regions.add(
            db_session(), parent=parent, name=data["name"], level=data["level"], code=data.get("code"), actor=g.user
        )
        set_etag(region)
        return region


@blp.route("/<int:region_id>")
class RegionById(MethodView):
    @blp.response(200, RegionSchema)
    @require(READ)
    def get(self, region_id):
        """Read a region"""
        region = g.region
        set_etag(region)
        return region

    @blp.arguments(RegionUpdateSchema)
    @blp.response(200, RegionSchema)
    @require(MANAGE)
    def patch(self, changes, region_id):
        """Rename a region; needs If-Match"""
        region = _manageable(g.region)
        require_if_match(region)
        regions.rename(db_session(), region, changes["name"], actor=g.user)
        set_etag(region)
        return region


@blp.route("/<int:region_id>/subtree")
@blp.arguments(RegionSubtreeQuerySchema, location="query")
@blp.response(200, RegionSchema(many=True))
@blp.paginate()
@require(READ)
def region_subtree(query, pagination_parameters, region_id):
    """A region and every region under it, in tree order"""
    statement = regions.subtree(g.region)
    if "level" in query:
        statement = statement.where(Region.level == query["level"])
    if "q" in query:
        statement = statement.where(Region.name.contains(query["q"], autoescape=True))
    return page_of(db_session(), statement, pagination_parameters)
