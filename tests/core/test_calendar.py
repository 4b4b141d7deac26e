"""Working days: mainland holidays and make-up days, a fallback for years the library does not know, and each
tenant's own overrides."""
import datetime as dt
import logging
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from core import calendar, tenancy
from core.models.audit import AuditRecord

D = dt.date


@pytest.fixture
def in_tenant(db):
    """``with in_tenant(tenant) as session``: a unit of work in that tenant's scope."""

    @contextmanager
    def scope(tenant):
        with db() as session, tenancy.tenant_scope(tenant):
            yield session

    return scope


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Forget which unknown years were already reported, so this test sees its own warning."""
    monkeypatch.setattr(calendar, "_unknown_years", set())


def test_the_national_day_week_2026_is_off_and_its_make_up_saturday_is_worked(make_tenant, in_tenant):
    with in_tenant(make_tenant()) as session:
        assert [calendar.is_workday(session, D(2026, 10, day)) for day in range(1, 8)] == [False] * 7
        assert calendar.is_workday(session, D(2026, 9, 30))
        assert calendar.is_workday(session, D(2026, 10, 10)), "Saturday 10 October 2026 is a make-up working day"
        assert not calendar.is_workday(session, D(2026, 10, 11))


def test_five_working_days_from_the_friday_before_national_day_end_after_the_holiday(make_tenant, in_tenant):
    with in_tenant(make_tenant()) as session:
        deadline = calendar.add_workdays(session, D(2026, 9, 25), 5)

        assert deadline == D(2026, 10, 9)
        assert calendar.workdays_between(session, D(2026, 9, 25), deadline) == 5


def test_a_make_up_saturday_counts_as_a_working_day(make_tenant, in_tenant):
    with in_tenant(make_tenant()) as session:
        assert calendar.add_workdays(session, D(2026, 10, 9), 1) == D(2026, 10, 10)
        assert calendar.workdays_between(session, D(2026, 10, 9), D(2026, 10, 12)) == 2


def test_the_start_day_does_not_count_and_zero_days_is_the_start(make_tenant, in_tenant):
    with in_tenant(make_tenant()) as session:
        assert calendar.add_workdays(session, D(2026, 6, 5), 1) == D(2026, 6, 8), "Friday + 1 is Monday"
        assert calendar.add_workdays(session, D(2026, 6, 6), 1) == D(2026, 6, 8), "Saturday + 1 is Monday"
        assert calendar.add_workdays(session, D(2026, 6, 6), 0) == D(2026, 6, 6)
        assert calendar.workdays_between(session, D(2026, 6, 8), D(2026, 6, 5)) == -1, "one working day overdue"
        with pytest.raises(ValueError):
            calendar.add_workdays(session, D(2026, 6, 5), -1)


def test_a_deadline_crossing_into_2027_counts_monday_to_friday_and_says_so_once(
    make_tenant, in_tenant, fresh_warnings, caplog
):
    with in_tenant(make_tenant()) as session:
        # Wednesday 30 December 2026 + 3: Thursday 31 December, then 2027, which chinese_calendar 1.11 does not
        # know: Friday 1 January counts as a working day, and Monday 4 January is the deadline.
        assert calendar.add_workdays(session, D(2026, 12, 30), 3) == D(2027, 1, 4)
        assert calendar.workdays_between(session, D(2026, 12, 30), D(2027, 1, 8)) == 7

    warnings = [r for r in caplog.records if r.name == "core.calendar" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "does not know 2027" in warnings[0].getMessage()


def test_a_tenant_enters_new_years_day_2027_and_its_deadlines_move(make_tenant, in_tenant, make_user):
    tenant = make_tenant()
    admin, _token = make_user(tenant, roles=["tenant_admin"])

    with in_tenant(tenant) as session:
        calendar.set_override(session, D(2027, 1, 1), False, "元旦（国务院办公厅通知）", actor=admin)

    with in_tenant(tenant) as session:
        assert not calendar.is_workday(session, D(2027, 1, 1))
        assert calendar.add_workdays(session, D(2026, 12, 30), 3) == D(2027, 1, 5)
        audit = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "calendar.override")).one()
        assert audit.actor == admin.username
        assert audit.after == {"day": "2027-01-01", "workday": False, "note": "元旦（国务院办公厅通知）"}


def test_a_tenants_override_wins_over_the_national_calendar_until_it_is_cleared(make_tenant, in_tenant):
    tenant = make_tenant()

    with in_tenant(tenant) as session:
        calendar.set_override(session, D(2026, 10, 10), False, "本地调整", actor="test")
        calendar.set_override(session, D(2026, 10, 7), True, "本地值班", actor="test")
    with in_tenant(tenant) as session:
        assert not calendar.is_workday(session, D(2026, 10, 10))
        assert calendar.is_workday(session, D(2026, 10, 7))
        calendar.clear_override(session, D(2026, 10, 10), actor="test")
    with in_tenant(tenant) as session:
        assert calendar.is_workday(session, D(2026, 10, 10))


def test_a_tenants_override_is_not_seen_by_another_tenant(make_tenant, in_tenant):
    yichang = make_tenant("yichang")
    changzhou = make_tenant("changzhou")

    with in_tenant(yichang) as session:
        calendar.set_override(session, D(2027, 1, 1), False, "元旦", actor="test")

    with in_tenant(changzhou) as session:
        assert calendar.is_workday(session, D(2027, 1, 1))
        assert calendar.add_workdays(session, D(2026, 12, 30), 3) == D(2027, 1, 4)
