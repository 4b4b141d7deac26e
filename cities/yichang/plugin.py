"""Yichang (宜昌): online join and transfer of union membership (宜工办〔2016〕22号), as a plugin any city enables.

A worker applies on the web or mobile pages; the city admin dispatches, the county admin verifies, the grassroots
chairman approves or rejects and prints the forms; workers of units without a union are parked in reservoirs;
SMS at each step; the 3-working-day promise is supervised. See docs/cities/yichang.md.
"""
from __future__ import annotations

from cities.yichang import (
    api,
    demo,
    drive_pages,
    drives,
    drives_api,
    forms,
    jobs,
    numbers_views,
    pages,
    print_pages,
    reservoirs,
    screening,
    texts,
)
from cities.yichang.models import Application, DriveDocument, FormationDrive  # noqa: F401  (registers the tables)
from cities.yichang.settings import Settings, rules
from core.toolkit import PeriodicJob, Permission, PluginMeta, hookimpl

meta = PluginMeta(name="yichang", label="网上入会转会（宜昌）", version="0.1.0", kind="city",
                  settings_schema=Settings)

STAFF = ("tenant_admin", "federation_admin", "chairman", "operator")


@hookimpl
def permissions():
    return [
        Permission("yichang.read", "查看入会转会申请", roles=STAFF),
        Permission("yichang.dispatch", "分派入会转会申请", roles=("tenant_admin", "federation_admin")),
        Permission("yichang.verify", "校核入会转会申请", roles=("tenant_admin", "federation_admin")),
        Permission("yichang.decide", "审批入会转会申请", roles=("tenant_admin", "federation_admin", "chairman")),
        Permission("yichang.move_out", "迁出会员", roles=("tenant_admin", "federation_admin", "chairman")),
        Permission("yichang.release_phone", "解除手机号绑定", roles=("tenant_admin", "federation_admin")),
        Permission("yichang.numbers", "查看入会转会统计", roles=("tenant_admin", "federation_admin")),
    ]


@hookimpl
def periodic_jobs():
    return [PeriodicJob("yichang.remind_overdue", jobs.remind_overdue, every_seconds=3600),
            PeriodicJob("yichang.transfer_parked_members", jobs.transfer_parked_members, every_seconds=3600),
            PeriodicJob("yichang.open_formation_drives", drives.open_formation_drives, every_seconds=3600)]


@hookimpl
def api_blueprints():
    return [api.blp, drives_api.blp, numbers_views.api]


@hookimpl
def page_blueprints():
    return [pages.bp, print_pages.bp, drive_pages.bp, numbers_views.pages]


@hookimpl
def menu_items(tenant, user):
    return pages.menu_items(tenant, user) + drive_pages.menu_items(tenant, user) + numbers_views.menu_items(tenant, user)


@hookimpl
def dashboard_widgets(tenant, user):
    return numbers_views.dashboard_widgets(tenant, user)


@hookimpl
def printable_forms(tenant):
    return forms.printable_forms(tenant)


@hookimpl
def message_templates(tenant):
    return texts.TEMPLATES


@hookimpl
def screen_application(tenant, session, application):
    if "person_id" not in application:  # not an application of ours: another plugin's shape
        return None
    found = screening.refusals(session, application, rules(session, tenant))
    return found[0] if found else None


@hookimpl
def reservoir_for(tenant, session, person, unit):
    if unit is None or unit.has_union:
        return None
    return reservoirs.choose(session, rules(session, tenant), unit=unit, region=None,
                             employment_form=person.employment_form)


@hookimpl
def demo_data(tenant, session):
    demo.load(session, tenant)
