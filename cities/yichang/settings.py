"""The settings a city keeps for this plugin, validated when a tenant admin enables it or changes them.

Every number of the seed that a city might set differently is here, with the seed's value as the default.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from flask import g, has_request_context
from marshmallow import Schema, fields, validate

from core.toolkit import plugin_settings

#: The districts of Yichang's urban area (城区), whose flexibly employed workers go to their grid union.
YICHANG_URBAN_DISTRICTS = ["420502", "420503", "420504", "420505", "420506"]


class Settings(Schema):
    decision_days = fields.Integer(load_default=3, validate=validate.Range(1, 30), metadata={
        "label": "办结时限（工作日）", "description": "申请提交后几个工作日内办结（宜工办〔2016〕22号：3个）"})
    acceptance_days = fields.Integer(load_default=1, validate=validate.Range(1, 10), metadata={
        "label": "受理时限（工作日）", "description": "分派和校核在几个工作日内完成（方案：1个）"})
    formation_threshold = fields.Integer(load_default=25, validate=validate.Range(2, 10000), metadata={
        "label": "督促建会人数", "description": "同一未建会单位在蓄水池中的会员达到此数时启动督促建会"})
    formation_notice_days = fields.Integer(load_default=30, validate=validate.Range(1, 120), metadata={
        "label": "组建通知书时限（工作日）", "description": "达到人数后几个工作日内下发《工会组建通知书》"})
    parked_transfer_days = fields.Integer(load_default=3, validate=validate.Range(1, 30), metadata={
        "label": "会籍转回时限（工作日）", "description": "单位建会后几个工作日内把蓄水池中的会员转入新工会"})
    contact_name = fields.String(load_default="", validate=validate.Length(max=50), metadata={
        "label": "联系人", "description": "短信落款中的联系人；不填则用本单位资料中的联系人"})
    contact_phone = fields.String(load_default="", validate=validate.Length(max=30), metadata={
        "label": "联系电话", "description": "短信落款中的联系电话，如 0717-6222222；不填则用本单位资料中的电话"})
    auto_dispatch = fields.Boolean(load_default=False, metadata={
        "label": "自动分派", "description": "按单位所在区域（或行业）自动分派新申请，不经市总管理员"})
    urban_districts = fields.List(fields.String(validate=validate.Length(equal=6)),
                                  load_default=lambda: list(YICHANG_URBAN_DISTRICTS), metadata={
        "label": "城区（区划代码）", "description": "城区灵活就业人员由网格工会吸纳入会"})
    industry_unions = fields.Dict(keys=fields.String(validate=validate.Length(equal=1)), values=fields.Integer(),
                                  load_default=dict, metadata={
        "label": "产业工会分派", "description": "行业门类字母 → 产业（行业）工会的组织编号；这些行业的申请分派给产业工会"})
    minimum_age = fields.Integer(load_default=16, validate=validate.Range(14, 18), metadata={
        "label": "最低年龄", "description": "未满此年龄（周岁）不接受入会"})
    messages = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict, metadata={
        "label": "短信文字", "description": "按短信编号覆盖默认文字"})


@dataclass(frozen=True)
class Rules:
    decision_days: int
    acceptance_days: int
    formation_threshold: int
    formation_notice_days: int
    parked_transfer_days: int
    contact_name: str
    contact_phone: str
    auto_dispatch: bool
    urban_districts: tuple[str, ...]
    industry_unions: dict
    minimum_age: int


def rules(session, tenant) -> Rules:
    """The tenant's settings, with the defaults filled in (the schema's ``load`` fills them). A step reads them
    several times (deadlines, texts, reservoirs): the stored settings are read once a request, and loading them
    through the schema, a tenth of a submission's time in the benchmark, once a process per distinct settings."""
    cache = g.setdefault("yichang_rules", {}) if has_request_context() else {}
    found = cache.get(tenant.id)
    if found is None:
        stored = plugin_settings(session, tenant, "yichang") or {}
        found = cache[tenant.id] = _loaded(json.dumps(stored, sort_keys=True, ensure_ascii=False, default=str))
    return found


@lru_cache(maxsize=64)
def _loaded(stored: str) -> Rules:
    values = Settings().load(json.loads(stored))
    values.pop("messages", None)
    values["urban_districts"] = tuple(values["urban_districts"])
    return Rules(**values)
