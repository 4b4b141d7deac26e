"""The numbers of online join and transfer (入会转会统计) as JSON, as an xlsx, as a page with charts, and as a small
box on the staff dashboard. What is counted is ``cities.yichang.numbers``; this module only shows it.

- ``GET /api/v1/yichang/numbers``: every number, JSON; ``GET /api/v1/yichang/numbers.xlsx``: the same, one sheet a
  table. Both take ``?since=&until=`` (days the applications were submitted) and ``?organization=`` (an
  organization of the caller's area: count under it only).
- ``/yichang/numbers``: the page; charts as inline SVG drawn by core's dashboard macros (no script, nothing from
  another host), tables, an export link.
- ``dashboard_widgets``: open, overdue and approved this month, on core's dashboard.

All of it needs ``yichang.numbers`` (city admins: the whole tenant; county admins: their federation's subtree).
"""
from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from urllib.parse import quote

import sqlalchemy as sa
from flask import Blueprint, Response, redirect, request, url_for
from marshmallow import Schema, ValidationError, fields, validates_schema
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from cities.yichang import numbers as counting
from cities.yichang.applications import HANDLER_KINDS, STATUS_NAMES
from cities.yichang.models import COLOURS, STATUSES
from cities.yichang.settings import rules
from core.toolkit import (
    WHOLE_TENANT,
    ApiBlueprint,
    Bar,
    Chart,
    DashboardWidget,
    MenuItem,
    NotFound,
    Organization,
    Refusal,
    check,
    current_tenant,
    current_user,
    db_session,
    has_permission,
    id_numbers,
    render_page,
    require_in_scope,
    scope_paths,
)

PERMISSION = counting.PERMISSION
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND_NAMES = {"city_enterprise_committee": "市直企业工会委员会", "service_centre_committee": "职工服务中心工会委员会",
              "grid_union": "网格工会"}
DRIVE_NAMES = {"opened": "已启动", "dispatched": "已分派", "notified": "已下发通知书", "submitted": "已报送材料"}

api = ApiBlueprint("yichang_numbers_api", __name__, description="入会转会统计: numbers for city and county admins")
pages = Blueprint("yichang_numbers_pages", __name__)


# --- what is asked -----------------------------------------------------------------------------------------------


class NumbersQuery(Schema):
    since = fields.Date(metadata={"description": "count applications submitted on or after this day"})
    until = fields.Date(metadata={"description": "count applications submitted on or before this day"})
    organization = fields.Integer(metadata={"description": "an organization of your area: count under it only"})

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("起始日期不能晚于截止日期", "until")


@dataclass(frozen=True)
class Area:
    """Where the numbers are counted: subtree roots and what to call them."""

    roots: tuple[str, ...]
    name: str
    organization_id: int | None


def area_of(session, user, organization_id: int | None) -> Area:
    """The caller's area, or the organization of it they asked for (404 outside it, as everywhere)."""
    check(user, PERMISSION)
    if organization_id is not None:
        found = session.scalar(sa.select(Organization).where(Organization.id == organization_id))
        if found is None:
            raise NotFound(f"no organization {organization_id}")
        require_in_scope(user, PERMISSION, found.path)
        return Area((found.path,), found.name, found.id)
    roots = scope_paths(user, PERMISSION)
    if roots == WHOLE_TENANT:
        return Area(roots, "全市", None)
    names = session.scalars(sa.select(Organization.name).where(Organization.path.in_(roots))
                            .order_by(Organization.path)).all()
    return Area(roots, "、".join(names), None)


def count(session, tenant, user, query: dict) -> tuple[Area, counting.Numbers]:
    area = area_of(session, user, query.get("organization"))
    found = counting.numbers(session, area.roots, threshold=rules(session, tenant).formation_threshold,
                             since=query.get("since"), until=query.get("until"))
    return area, found


# --- JSON --------------------------------------------------------------------------------------------------------


class StatusCountSchema(Schema):
    status = fields.String()
    name = fields.String(metadata={"description": "待分派, 待校核, 待审批, 已通过 …"})
    colour = fields.String(metadata={"description": "white, yellow, green, red, grey"})
    count = fields.Integer()


class CountyCountSchema(Schema):
    region_id = fields.Integer(allow_none=True, metadata={"description": "null: the city level, or no place"})
    code = fields.String()
    name = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "status -> count"})
    total = fields.Integer()


class DaysCountSchema(Schema):
    days = fields.Integer()
    count = fields.Integer()


class DecisionSchema(Schema):
    decided = fields.Integer(metadata={"description": "approved or rejected applications counted"})
    median_days = fields.Float(allow_none=True, metadata={"description": "working days, submission to decision"})
    p90_days = fields.Float(allow_none=True)
    by_days = fields.List(fields.Nested(DaysCountSchema))


class ReservoirSchema(Schema):
    organization_id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    parked = fields.Integer(metadata={"description": "active memberships parked there"})


class NearUnitSchema(Schema):
    unit_id = fields.Integer()
    name = fields.String()
    credit_code = fields.String(allow_none=True)
    county = fields.String()
    parked = fields.Integer()
    drive_status = fields.String(allow_none=True, metadata={"description": "its open formation drive, if any"})


class NearThresholdSchema(Schema):
    threshold = fields.Integer(metadata={"description": "the tenant's formation threshold (督促建会人数)"})
    at_least = fields.Integer(metadata={"description": "60% of it, rounded up: the units listed reach this"})
    units = fields.List(fields.Nested(NearUnitSchema))


class NumbersSchema(Schema):
    on = fields.Date(metadata={"description": "the day overdue is counted for"})
    since = fields.Date(allow_none=True)
    until = fields.Date(allow_none=True)
    area = fields.String(metadata={"description": "全市, or the organizations counted under"})
    organization_id = fields.Integer(allow_none=True)
    total = fields.Integer()
    open = fields.Integer()
    overdue = fields.Integer()
    by_status = fields.List(fields.Nested(StatusCountSchema))
    by_county = fields.List(fields.Nested(CountyCountSchema))
    decision = fields.Nested(DecisionSchema)
    reservoirs = fields.List(fields.Nested(ReservoirSchema))
    near_threshold = fields.Nested(NearThresholdSchema)


def as_dict(area: Area, found: counting.Numbers) -> dict:
    return {
        "on": found.on, "since": found.since, "until": found.until, "area": area.name,
        "organization_id": area.organization_id, "total": found.total, "open": found.open,
        "overdue": found.overdue,
        "by_status": [{"status": s, "name": STATUS_NAMES[s], "colour": COLOURS[s], "count": n}
                      for s, n in found.by_status.items()],
        "by_county": [{"region_id": row.region_id, "code": row.code, "name": row.name, "counts": row.counts,
                       "total": row.total} for row in found.by_county],
        "decision": {"decided": found.decision.decided, "median_days": found.decision.median_days,
                     "p90_days": found.decision.p90_days,
                     "by_days": [{"days": d, "count": n} for d, n in found.decision.by_days.items()]},
        "reservoirs": [vars(row) for row in found.reservoirs],
        "near_threshold": {"threshold": found.threshold, "at_least": found.near_at_least,
                           "units": [vars(row) for row in found.near_threshold]},
    }


@api.route("/numbers")
@api.arguments(NumbersQuery, location="query")
@api.response(200, NumbersSchema)
def numbers_json(query):
    """The numbers of online join and transfer in your area: applications by status and county, time to
    decision in working days (median, 90th percentile), overdue, reservoir sizes, units near the formation
    threshold"""
    return as_dict(*count(db_session(), current_tenant(), current_user(), query))


# --- xlsx --------------------------------------------------------------------------------------------------------


def _days(value: float | None) -> float | str:
    return "" if value is None else value


def sheets(area: Area, found: counting.Numbers) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
    """The workbook's tables: (sheet title, headings, rows)."""
    decision = found.decision
    summary = [
        ("统计范围", area.name), ("统计日期", found.on), ("申请提交起始日期", found.since or "不限"),
        ("申请提交截止日期", found.until or "不限"), ("申请总数", found.total), ("办理中", found.open),
        ("超期未办结（当前）", found.overdue), ("已办结（通过或不通过）", decision.decided),
        ("办结用时中位数（工作日）", _days(decision.median_days)),
        ("办结用时90%分位数（工作日）", _days(decision.p90_days)),
        ("督促建会人数", found.threshold), ("接近建会人数的起点（人数的60%）", found.near_at_least),
    ]
    return [
        ("概况", ("项目", "数值"), summary),
        ("按状态", ("状态", "件数"), [(STATUS_NAMES[s], n) for s, n in found.by_status.items()]),
        ("按县（市、区）", ("县（市、区）", "区划代码") + tuple(STATUS_NAMES[s] for s in STATUSES) + ("合计",),
         [(row.name, row.code) + tuple(row.counts[s] for s in STATUSES) + (row.total,) for row in found.by_county]),
        ("办结用时", ("用时（工作日）", "件数"), list(decision.by_days.items())),
        ("蓄水池会员", ("工会", "类别", "会员人数"),
         [(row.name, KIND_NAMES.get(row.kind, row.kind), row.parked) for row in found.reservoirs]),
        ("接近建会人数的单位", ("单位名称", "统一社会信用代码", "县（市、区）", "蓄水池会员人数", "督促建会"),
         [(row.name, row.credit_code or "", row.county, row.parked, DRIVE_NAMES.get(row.drive_status, "未启动"))
          for row in found.near_threshold]),
    ]


def workbook(area: Area, found: counting.Numbers) -> bytes:
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, headings, rows in sheets(area, found):
        sheet = book.create_sheet(title)
        sheet.column_dimensions["A"].width = 36
        for letter in "BCDEFGHIJ":
            sheet.column_dimensions[letter].width = 14
        header = [WriteOnlyCell(sheet, value=heading) for heading in headings]
        for cell in header:
            cell.font = bold
        sheet.append(header)
        for row in rows:
            sheet.append(list(row))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


@api.route("/numbers.xlsx")
@api.arguments(NumbersQuery, location="query")
@api.response(200, description="the same numbers as an xlsx, one sheet a table")
def numbers_xlsx(query):
    """The numbers of online join and transfer in your area as an xlsx: a summary sheet and one sheet per table"""
    area, found = count(db_session(), current_tenant(), current_user(), query)
    name = f"入会转会统计-{found.on.isoformat()}.xlsx"
    response = Response(workbook(area, found), mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


# --- the page ----------------------------------------------------------------------------------------------------

def charts(found: counting.Numbers) -> list[Chart]:
    shown_days = {d: 0 for d in range(counting.DAYS_SHOWN)}
    for days, n in found.decision.by_days.items():
        shown_days[min(days, counting.DAYS_SHOWN - 1)] += n
    last = counting.DAYS_SHOWN - 1
    return [
        Chart("status", "申请状态", "状态", [Bar(STATUS_NAMES[s], n, key=s) for s, n in found.by_status.items()]),
        Chart("county", "各县（市、区）申请", "县（市、区）", [Bar(row.name, row.total, key=row.code or row.name)
                                                    for row in found.by_county]),
        Chart("days", "办结用时（工作日）", "用时", [
            Bar(f"{d}个工作日" if d < last else f"{d}个工作日及以上", n, key=str(d),
                axis=str(d) if d < last else f"{d}+") for d, n in shown_days.items()]),
        Chart("reservoirs", "蓄水池会员", "工会", [Bar(row.name, row.parked, key=str(row.organization_id))
                                            for row in found.reservoirs]),
    ]


def _query_from_page() -> tuple[dict, Refusal | None]:
    """The page's filters; wrong ones are shown on the form and the numbers are counted without them."""
    arguments = {key: value for key, value in request.args.items() if value.strip()}
    try:
        return NumbersQuery().load(arguments), None
    except ValidationError as error:
        wrong = {name: "；".join(messages) if isinstance(messages, list) else str(messages)
                 for name, messages in error.messages.items()}
        return {}, Refusal("请检查标出的条件。", {name: {"Not a valid date.": "请输入有效日期"}.get(text, text)
                                            for name, text in wrong.items()})


def _choices(session) -> list[Organization]:
    """The federations and industry unions of the caller's area a page can narrow the numbers to."""
    roots = scope_paths(current_user(), PERMISSION)
    return session.scalars(sa.select(Organization).where(
        Organization.kind.in_(HANDLER_KINDS), Organization.status == "active",
        counting.within(Organization.path, roots), Organization.path.not_in(roots))
        .order_by(Organization.path)).all()


@pages.get("/numbers")
def numbers_page():
    user = current_user()
    if user is None:
        return redirect(url_for("auth_pages.login_page", next=request.full_path.rstrip("?")), code=303)
    check(user, PERMISSION)
    session = db_session()
    query, refusal = _query_from_page()
    area, found = count(session, current_tenant(), user, query)
    export = url_for("yichang_numbers_api.numbers_xlsx", **query)
    body = render_page("yichang/numbers/page.html", area=area, numbers=found, charts=charts(found),
                       choices=_choices(session), refusal=refusal, export_url=export, statuses=STATUSES,
                       status_names=STATUS_NAMES, kind_names=KIND_NAMES, drive_names=DRIVE_NAMES,
                       near_limit=counting.NEAR_LIMIT)
    return body, 422 if refusal else 200


# --- navigation and the dashboard --------------------------------------------------------------------------------


def menu_items(tenant, user):
    return [MenuItem(label="入会转会统计", endpoint="yichang_numbers_pages.numbers_page", permission=PERMISSION,
                     order=45)]


def dashboard_widgets(tenant, user):
    """Open, overdue and approved this month, for staff who may see the numbers (counted only for them)."""
    if user is None or not has_permission(user, PERMISSION):
        return []
    today = id_numbers.today()
    seen = counting.glance(db_session(), scope_paths(user, PERMISSION), day=today)
    return [DashboardWidget(title="入会转会", template="yichang/numbers/widget.html", order=20, permission=PERMISSION,
                            context={"open": seen.open, "overdue": seen.overdue,
                                     "approved_this_month": seen.approved_this_month, "month": today.month})]

