"""Data quality (数据质量): what the real-name work asks a union to fix in its subtree, counted and listed.

``GET /api/v1/quality`` counts every check in one call; ``GET /api/v1/quality/<check>`` lists one check's records,
paginated, personal numbers masked; ``GET /api/v1/quality/<check>.xlsx`` exports them all, streamed. Each check
reads one area (people, units or organizations) and needs ``<area>.read``; it covers the subtrees where the caller
holds it (a chairman their union, a federation admin their federation's subtree, a tenant admin the tenant),
narrowed to ``?organization=`` when given. The checks are ``core.registry.quality.CHECKS``.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app, g
from marshmallow import Schema, fields

from core import audit, spreadsheets, tenancy
from core.api.base import ApiBlueprint
from core.app import db_session, runtime
from core.auth import check as check_permission
from core.auth import has_permission
from core.registry import quality
from core.registry.columns import KIND_LABELS
from core.registry.imports import Scope

blp = ApiBlueprint("quality", __name__, description="Data quality: the records of your subtree to fix")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_NAMES = ",".join(quality.CHECKS)


class QualityQuerySchema(Schema):
    organization = fields.Integer(metadata={"description": "an organization of your subtree: count or list under it"})


class CheckCountSchema(Schema):
    name = fields.String()
    title = fields.String()
    area = fields.String(metadata={"description": "people, units or organizations"})
    description = fields.String()
    count = fields.Integer()


class CountsSchema(Schema):
    organization_id = fields.Integer(allow_none=True, metadata={"description": "null: all of your subtrees"})
    checks = fields.List(fields.Nested(CheckCountSchema))


class QualityRowSchema(Schema):
    """A record to fix. People: person_id ... implausible_age; units: unit_id ... has_union; organizations:
    organization_id, name, kind, chairman_name, term_ends_on. ``missing`` names the empty required fields."""

    person_id = fields.Integer()
    unit_id = fields.Integer()
    organization_id = fields.Integer(allow_none=True)
    name = fields.String()
    id_number = fields.String(metadata={"description": "masked: 420502********1238"})
    sex = fields.String()
    age = fields.Integer()
    phone = fields.String(allow_none=True, metadata={"description": "masked: 138****5678"})
    organization_name = fields.String()
    implausible_age = fields.Boolean()
    code = fields.String(allow_none=True, metadata={"description": "credit code, or the older code it has"})
    region_name = fields.String(allow_none=True)
    employees = fields.Integer(allow_none=True)
    has_union = fields.Boolean()
    kind = fields.String()
    chairman_name = fields.String()
    term_ends_on = fields.Date(allow_none=True)
    missing = fields.List(fields.String())


def _scope(check: quality.Check, query: dict) -> Scope:
    return quality.caller_scope(db_session(), g.get("user"), check, query.get("organization"))


@blp.route("")
@blp.arguments(QualityQuerySchema, location="query")
@blp.response(200, CountsSchema)
def counts(query):
    """How many records each check finds in your subtree (or under ``organization``): the checks your
    permissions reach, a query each"""
    user = g.get("user")
    readable = [check for check in quality.CHECKS.values() if has_permission(user, quality.read_permission(check))]
    if not readable:
        check_permission(user, "people.read")  # 401 for nobody, 403 for a caller who may read none of it
    session = db_session()
    return {
        "organization_id": query.get("organization"),
        "checks": [
            {"name": check.name, "title": check.title, "area": check.area, "description": check.description,
             "count": quality.count(session, check, _scope(check, query))}
            for check in readable
        ],
    }


@blp.route(f"/<any({_NAMES}):check>")
@blp.arguments(QualityQuerySchema, location="query")
@blp.response(200, QualityRowSchema(many=True))
@blp.paginate()
def records(query, check, pagination_parameters):
    """The records ``check`` finds in your subtree (or under ``organization``), personal numbers masked; people
    by organization and name, units without a union biggest first, expired terms oldest first"""
    found = quality.CHECKS[check]
    scope = _scope(found, query)
    session = db_session()
    pagination_parameters.item_count = quality.count(session, found, scope)
    offset = (pagination_parameters.page - 1) * pagination_parameters.page_size
    return quality.page(session, found, scope, offset=offset, limit=pagination_parameters.page_size)


#: The columns of each area's sheet.
_COLUMNS = {
    "people": (
        spreadsheets.Column("name", "姓名", width=10), spreadsheets.Column("id_number", "身份证号码", width=22),
        spreadsheets.Column("sex", "性别", width=6), spreadsheets.Column("age", "年龄", width=6, kind="number"),
        spreadsheets.Column("phone", "手机号码", width=14), spreadsheets.Column("organization_name", "所在工会", width=30),
        spreadsheets.Column("missing", "缺少的信息", width=30),
    ),
    "units": (
        spreadsheets.Column("name", "单位名称", width=36), spreadsheets.Column("code", "统一社会信用代码", width=22),
        spreadsheets.Column("region_name", "所属区域", width=14),
        spreadsheets.Column("employees", "职工人数", width=10, kind="number"),
        spreadsheets.Column("has_union", "是否建会", width=10), spreadsheets.Column("missing", "缺少的信息", width=30),
    ),
    "organizations": (
        spreadsheets.Column("name", "工会名称", width=36), spreadsheets.Column("kind", "类别", width=16),
        spreadsheets.Column("chairman_name", "工会主席", width=10),
        spreadsheets.Column("term_ends_on", "届期届满日期", width=14, kind="date"),
    ),
}
_MISSING_LABELS = {
    "ethnicity": "民族", "education": "学历", "household_type": "户口性质", "employment_form": "就业形态",
    "unit": "工作单位", "code": "统一社会信用代码", "region": "所属区域", "industry": "行业",
    "economic_type": "单位类别", "employees": "职工人数",
}


def _sheet_row(record: dict) -> dict:
    shown = dict(record)
    shown["missing"] = "、".join(_MISSING_LABELS.get(field, field) for field in record.get("missing", ()))
    if "has_union" in record:
        shown["has_union"] = "是" if record["has_union"] else "否"
    if "sex" in record:
        shown["sex"] = {"M": "男", "F": "女"}.get(record["sex"], record["sex"])
    if "kind" in record:
        shown["kind"] = KIND_LABELS.get(record["kind"], record["kind"])
    return shown


@blp.route(f"/<any({_NAMES}):check>.xlsx")
@blp.arguments(QualityQuerySchema, location="query")
@blp.response(200, description="every record of the check, masked, as an xlsx streamed")
def export(query, check):
    """Every record ``check`` finds in your subtree (or under ``organization``), as an xlsx, personal numbers
    masked; the export is on record"""
    found = quality.CHECKS[check]
    scope = _scope(found, query)
    place = scope.roots[0] if len(scope.roots) == 1 and scope.roots[0] != "/" else None
    audit.record(db_session(), "export.quality", actor=g.user, scope=place, after={
        "check": found.name, "organization_id": query.get("organization")})
    app, database, tenant = current_app._get_current_object(), runtime().db, g.tenant

    def read():
        # After the request's own session and scope have ended: a read-only transaction of its own, same tenant.
        with app.app_context(), database.unit_of_work() as session, tenancy.tenant_scope(tenant):
            for record in quality.rows(session, found, scope):
                yield _sheet_row(record)

    chunks = spreadsheets.write_xlsx(_COLUMNS[found.area], read(), sheet_title=found.title)
    response = Response(chunks, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(found.title + '.xlsx')}"
    return response
