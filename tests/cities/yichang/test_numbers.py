"""入会转会统计: what city and county admins read about online join and transfer, as JSON, xlsx, a page and a
dashboard box, counted from applications made with the service functions."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from io import BytesIO

import openpyxl
import pytest
import sqlalchemy as sa

from cities.yichang import applications, numbers
from cities.yichang.models import Application
from core import id_numbers
from core.app import runtime
from core.auth import create_token
from core.models.organization import Organization
from core.models.person import Person
from core.models.region import Region
from core.models.unit import Unit
from core.registry import memberships
from core.rows import by_id
from tests.cities.yichang.conftest import CONTACT, _Setup

pytestmark = pytest.mark.plugins("sms_console", "yichang")

NATIONAL_DAY_EVE = dt.date(2026, 9, 25)  # a Friday; 1–7 October 2026 are the National Day holiday


@dataclass
class Tokens:
    city: str
    yiling: str
    chairman: str


def submit(yichang, person, *, unit=None, region=None, on=None, **form) -> int:
    def go(session):
        return applications.submit(
            session, yichang.tenant, person=session.get(Person, person.id),
            unit=session.get(Unit, unit.id) if unit else None,
            region=session.scalars(sa.select(Region).where(Region.name == region)).first() if region else None,
            on=on, **form).id
    return yichang.run(go)


def step(yichang, function, application_id, **kwargs):
    def go(session):
        found = {key: session.get(type(value), value.id) if isinstance(value, (Organization, Unit)) else value
                 for key, value in kwargs.items()}
        function(session, yichang.tenant, by_id(session, Application, application_id), **found)
    yichang.run(go)


def dated(yichang, application_id, *, submitted_on, decided_on):
    """Say when an application was submitted and decided (the steps take today's date)."""
    yichang.run(lambda session: session.execute(sa.update(Application).where(Application.id == application_id)
                                                .values(submitted_on=submitted_on, decided_on=decided_on)))


def parked_in_registry(yichang, reservoir: str, unit):
    """A member parked in ``reservoir`` for ``unit`` without an application (an import, a move out)."""
    person = yichang.person()
    yichang.run(lambda session: memberships.join(
        session, person=session.get(Person, person.id), unit=session.get(Unit, unit.id), parked=True,
        organization=session.scalars(sa.select(Organization).where(Organization.name == reservoir)).one(),
        actor=_Setup()))


def token(yichang, user) -> str:
    return yichang.run(lambda session: create_token(session, session.merge(user), name="test")[1])


@pytest.fixture
def city(yichang):
    """Eight applications in 宜昌 and three parked members, with the formation threshold at 2:

    夷陵区: one approved into a grassroots union (5 working days, over National Day), one approved and parked
    in the service centre (2 working days), one verified, one refused at screening (a minor); 西陵区: one
    dispatched, one rejected (the same day); the city level: one waiting for dispatch since 1 September 2026
    (overdue); one naming a unit the registry does not know, with no region. 宜昌乙建材 has two members parked
    in 夷陵区's service centre, 宜昌丙商贸 one in 西陵区's."""
    yichang.run(lambda session: runtime().plugins.configure(
        session, session.merge(yichang.tenant), "yichang", CONTACT | {"formation_threshold": 2}, actor=_Setup()))
    union = yichang.union("宜昌甲物流有限公司工会委员会")
    with_union = yichang.unit("宜昌甲物流有限公司", region="夷陵区", union=union.name)
    no_union = yichang.unit("宜昌乙建材有限公司", region="夷陵区")
    xiling = yichang.unit("宜昌丙商贸有限公司", region="西陵区")
    city_level = yichang.unit("宜昌市丁集团有限公司", region="宜昌市")
    yiling_federation, xiling_federation = yichang.org("夷陵区总工会"), yichang.org("西陵区总工会")

    def through(person, unit, federation, *steps):
        application_id = submit(yichang, person, unit=unit)
        step(yichang, applications.dispatch, application_id, to=federation)
        if "verify" in steps:
            step(yichang, applications.verify, application_id, unit=unit)
        if "approve" in steps:
            step(yichang, applications.approve, application_id)
        if "reject" in steps:
            step(yichang, applications.reject, application_id, reason="not_eligible")
        return application_id

    joined = through(yichang.person("甲一"), with_union, yiling_federation, "verify", "approve")
    dated(yichang, joined, submitted_on=NATIONAL_DAY_EVE, decided_on=dt.date(2026, 10, 9))
    parked = through(yichang.person("乙一"), no_union, yiling_federation, "verify", "approve")
    dated(yichang, parked, submitted_on=NATIONAL_DAY_EVE, decided_on=dt.date(2026, 9, 29))
    through(yichang.person("乙二"), no_union, yiling_federation, "verify")
    submit(yichang, yichang.person("乙三", age=15), unit=no_union)
    through(yichang.person("丙一"), xiling, xiling_federation)
    through(yichang.person("丙二"), xiling, xiling_federation, "reject")
    submit(yichang, yichang.person("丁一"), unit=city_level, on=dt.date(2026, 9, 1))
    submit(yichang, yichang.person("戊一"), other_unit_name="宜昌某某无名小店")
    parked_in_registry(yichang, "夷陵区职工服务中心工会委员会", no_union)
    parked_in_registry(yichang, "西陵区职工服务中心工会委员会", xiling)
    return yichang


@pytest.fixture
def tokens(city) -> Tokens:
    return Tokens(city=token(city, city.staff("city-admin", "tenant_admin", None)),
                  yiling=token(city, city.staff("yiling-admin", "federation_admin", "夷陵区总工会")),
                  chairman=token(city, city.staff("chair", "chairman", "宜昌甲物流有限公司工会委员会")))


def counts_of(rows) -> dict:
    return {row["status"]: row["count"] for row in rows if row["count"]}


def test_the_city_admin_counts_every_application_by_status_and_county(city, tokens, api):
    response = api(city.tenant, tokens.city).get("/api/v1/yichang/numbers")

    assert response.status_code == 200, response.json
    found = response.json
    assert found["area"] == "全市"
    assert (found["total"], found["open"], found["overdue"]) == (8, 4, 1)
    assert counts_of(found["by_status"]) == {"submitted": 2, "dispatched": 1, "verified": 1, "approved": 2,
                                             "rejected": 1, "refused": 1}
    by_county = {row["name"]: {s: n for s, n in row["counts"].items() if n} for row in found["by_county"]}
    assert by_county == {"夷陵区": {"approved": 2, "verified": 1, "refused": 1},
                         "西陵区": {"dispatched": 1, "rejected": 1},
                         numbers.CITY_LEVEL: {"submitted": 1}, numbers.NO_PLACE: {"submitted": 1}}
    assert [row["name"] for row in found["by_county"]] == ["西陵区", "夷陵区", numbers.CITY_LEVEL, numbers.NO_PLACE]


def test_time_to_decision_counts_working_days_so_the_national_day_week_does_not_count(city, tokens, api):
    decision = api(city.tenant, tokens.city).get("/api/v1/yichang/numbers").json["decision"]

    # rejected the day it came (0), approved on 29 September (2) and on 9 October (5 working days)
    assert decision["by_days"] == [{"days": 0, "count": 1}, {"days": 2, "count": 1}, {"days": 5, "count": 1}]
    assert (decision["decided"], decision["median_days"], decision["p90_days"]) == (3, 2, 4.4)


def test_reservoirs_and_units_near_the_formation_threshold_are_counted_from_parked_memberships(city, tokens, api):
    found = api(city.tenant, tokens.city).get("/api/v1/yichang/numbers").json

    reservoirs = {row["name"]: row["parked"] for row in found["reservoirs"]}
    assert reservoirs["夷陵区职工服务中心工会委员会"] == 2 and reservoirs["西陵区职工服务中心工会委员会"] == 1
    assert reservoirs["宜昌市市直企业工会委员会"] == 0
    assert found["reservoirs"][0]["name"] == "夷陵区职工服务中心工会委员会"
    near = found["near_threshold"]
    assert (near["threshold"], near["at_least"]) == (2, 2)  # 60% of 2, rounded up
    assert [(u["name"], u["county"], u["parked"], u["drive_status"]) for u in near["units"]] == [
        ("宜昌乙建材有限公司", "夷陵区", 2, None)]


def test_a_county_admin_sees_only_what_their_county_handles(city, tokens, api):
    found = api(city.tenant, tokens.yiling).get("/api/v1/yichang/numbers").json

    assert found["area"] == "夷陵区总工会"
    assert counts_of(found["by_status"]) == {"approved": 2, "verified": 1}
    assert [row["name"] for row in found["by_county"]] == ["夷陵区"]
    assert (found["overdue"], found["decision"]["decided"], found["decision"]["median_days"]) == (0, 2, 3.5)
    assert {row["name"] for row in found["reservoirs"]} == {"夷陵区职工服务中心工会委员会", "小溪塔街道网格工会"}
    assert [u["name"] for u in found["near_threshold"]["units"]] == ["宜昌乙建材有限公司"]


def test_a_county_admin_cannot_count_under_another_county_and_a_city_admin_can(city, tokens, api):
    xiling = city.org("西陵区总工会")

    assert api(city.tenant, tokens.yiling).get(f"/api/v1/yichang/numbers?organization={xiling.id}").status_code == 404
    found = api(city.tenant, tokens.city).get(f"/api/v1/yichang/numbers?organization={xiling.id}").json
    assert (found["area"], counts_of(found["by_status"])) == ("西陵区总工会", {"dispatched": 1, "rejected": 1})


def test_the_numbers_can_be_narrowed_to_applications_submitted_in_a_period(city, tokens, api):
    client = api(city.tenant, tokens.city)

    after = client.get("/api/v1/yichang/numbers?since=2026-10-01").json
    before = client.get("/api/v1/yichang/numbers?until=2026-09-30").json

    assert (after["total"], before["total"]) == (5, 3)
    assert before["decision"]["by_days"] == [{"days": 2, "count": 1}, {"days": 5, "count": 1}]
    wrong = client.get("/api/v1/yichang/numbers?since=2026-10-02&until=2026-10-01")
    assert (wrong.status_code, list(wrong.json["errors"])) == (422, ["query.until"])


def test_a_chairman_may_not_read_the_numbers(city, tokens, api):
    client = api(city.tenant, tokens.chairman)

    assert client.get("/api/v1/yichang/numbers").status_code == 403
    assert client.get("/api/v1/yichang/numbers.xlsx").status_code == 403
    assert client.get("/yichang/numbers").status_code == 403


def test_the_export_opens_in_a_spreadsheet_program_and_holds_the_same_numbers(city, tokens, api):
    client = api(city.tenant, tokens.city)
    shown = client.get("/api/v1/yichang/numbers").json

    response = client.get("/api/v1/yichang/numbers.xlsx")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(BytesIO(response.data))
    assert book.sheetnames == ["概况", "按状态", "按县（市、区）", "办结用时", "蓄水池会员", "接近建会人数的单位"]
    rows = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    summary = dict(rows["概况"][1:])
    assert (summary["申请总数"], summary["办理中"], summary["超期未办结（当前）"]) == (8, 4, 1)
    assert (summary["办结用时中位数（工作日）"], summary["办结用时90%分位数（工作日）"]) == (2, 4.4)
    assert dict(rows["按状态"][1:]) == {row["name"]: row["count"] for row in shown["by_status"]}
    header, *counties = rows["按县（市、区）"]
    assert header[-1] == "合计"
    assert [(row[0], row[-1]) for row in counties] == [(row["name"], row["total"]) for row in shown["by_county"]]
    assert rows["办结用时"][1:] == [(0, 1), (2, 1), (5, 1)]
    assert ("夷陵区职工服务中心工会委员会", "职工服务中心工会委员会", 2) in rows["蓄水池会员"]
    assert rows["接近建会人数的单位"][1][:4] == ("宜昌乙建材有限公司", shown["near_threshold"]["units"][0]["credit_code"],
                                           "夷陵区", 2)


def test_the_county_admins_export_holds_only_their_county(city, tokens, api):
    book = openpyxl.load_workbook(BytesIO(api(city.tenant, tokens.yiling).get("/api/v1/yichang/numbers.xlsx").data))

    assert dict(list(book["概况"].iter_rows(values_only=True))[1:])["统计范围"] == "夷陵区总工会"
    assert [row[0] for row in book["按县（市、区）"].iter_rows(min_row=2, values_only=True)] == ["夷陵区"]


def test_the_numbers_page_shows_charts_tables_and_the_export_link_to_a_city_admin(city, tokens, api):
    response = api(city.tenant, tokens.city).get("/yichang/numbers")

    assert response.status_code == 200
    page = response.text
    assert "<h1>入会转会统计</h1>" in page
    for chart in ("status", "county", "days", "reservoirs"):
        assert f'data-chart="{chart}"' in page
    assert page.count("<svg") == 4 and "<script" not in page
    assert 'data-figure="overdue"><span class="value">1</span>' in page
    assert "宜昌乙建材有限公司" in page and "夷陵区职工服务中心工会委员会" in page
    assert '/api/v1/yichang/numbers.xlsx"' in page
    assert 'href="/t/yichang/yichang/numbers"' in page  # the menu item


def test_the_page_keeps_its_filters_in_the_export_link_and_says_which_date_is_wrong(city, tokens, api):
    client = api(city.tenant, tokens.city)

    narrowed = client.get("/yichang/numbers?since=2026-10-01")
    wrong = client.get("/yichang/numbers?since=tomorrow")

    assert "numbers.xlsx?since=2026-10-01" in narrowed.text
    assert 'data-figure="total"><span class="value">5</span>' in narrowed.text
    assert wrong.status_code == 422 and "请输入有效日期" in wrong.text


def test_someone_not_signed_in_is_sent_to_sign_in(city, api):
    response = api(city.tenant).get("/yichang/numbers")

    assert response.status_code == 303 and "/login?next=" in response.headers["Location"]


def test_the_dashboard_shows_open_overdue_and_approved_this_month_to_the_city_admin(city, tokens, api):
    today = id_numbers.today()
    approved_now = city.run(lambda session: session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.status == "approved", Application.decided_on >= today.replace(day=1))))

    page = api(city.tenant, tokens.city).get("/dashboard").text

    assert 'data-widget="yichang-numbers"' in page
    assert 'data-figure="open"><span class="value">4</span>' in page
    assert 'data-figure="overdue"><span class="value">1</span>' in page
    assert f'data-figure="approved_this_month"><span class="value">{approved_now}</span>' in page
    assert 'data-widget="yichang-numbers"' not in api(city.tenant, tokens.chairman).get("/dashboard").text


@pytest.mark.parametrize("counts, median, p90", [
    ({}, None, None), ({3: 1}, 3, 3), ({1: 1, 2: 1}, 1.5, 1.9), ({0: 9, 10: 1}, 0, 1.0)])
def test_percentiles_interpolate_between_the_nearest_ranks(counts, median, p90):
    assert (numbers.percentile(counts, 0.5), numbers.percentile(counts, 0.9)) == (median, p90)
