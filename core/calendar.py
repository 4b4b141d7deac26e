"""Working days (工作日): mainland holidays and make-up working days (调休), with each tenant's overrides.

The national calendar comes from the ``chinese_calendar`` package, which knows each year once the State
Council publishes its holiday notice (usually in November for the next year). A tenant's ``CalendarOverride``
rows win over it: local holidays, or a new year's notice entered before the package is updated. For a year the
package does not know, Monday to Friday are working days, plus the overrides; that fallback is logged once
per year and process so an operator knows to upgrade the package or enter the notice.
"""
from __future__ import annotations

import datetime as dt
import logging
from importlib.metadata import version

import chinese_calendar
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.errors import InvalidInput
from core.models.calendar import CalendarOverride

log = logging.getLogger(__name__)

_ONE_DAY = dt.timedelta(days=1)
#: Years already reported as unknown to chinese_calendar (one warning per year is enough).
_unknown_years: set[int] = set()


def _national_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _unknown_years:
            _unknown_years.add(day.year)
            log.warning(
                "chinese_calendar %s does not know %d: counting Monday to Friday as working days, plus tenant "
                "overrides. Upgrade chinesecalendar, or enter the State Council's holiday notice for %d as "
                "calendar overrides.",
                version("chinesecalendar"), day.year, day.year,
            )
        return day.weekday() < 5


def _overrides(session: Session, first: dt.date, last: dt.date) -> dict[dt.date, bool]:
    """The current tenant's overrides between ``first`` and ``last`` inclusive."""
    rows = session.execute(
        sa.select(CalendarOverride.day, CalendarOverride.workday).where(CalendarOverride.day.between(first, last))
    )
    return {day: workday for day, workday in rows}


def _workday(day: dt.date, overrides: dict[dt.date, bool]) -> bool:
    override = overrides.get(day)
    return _national_workday(day) if override is None else override


def is_workday(session: Session, day: dt.date) -> bool:
    """Whether ``day`` is worked in the current tenant."""
    return _workday(day, _overrides(session, day, day))


def add_workdays(session: Session, start: dt.date, n: int) -> dt.date:
    """The date ``n`` working days after ``start`` (``start`` itself does not count; ``n == 0`` gives ``start``).

    A deadline of "5 working days" from a decision on Friday 2026-09-25 falls on 2026-10-09, after the
    National Day week.
    """
    if n < 0:
        raise ValueError(f"add_workdays counts forward: n={n}")
    day, remaining = start, n
    while remaining:
        # Overrides are read a window at a time: twice the days left plus a month covers the longest
        # national holiday; a tenant with more days off than that simply reads another window.
        window_end = day + dt.timedelta(days=2 * remaining + 31)
        overrides = _overrides(session, day + _ONE_DAY, window_end)
        while remaining and day < window_end:
            day += _ONE_DAY
            if _workday(day, overrides):
                remaining -= 1
    return day


def workdays_between(session: Session, start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end``; negative when ``end`` is before ``start``.

    ``workdays_between(s, start, add_workdays(s, start, n)) == n``, so "working days left until the deadline"
    and "working days overdue" are the same call.
    """
    if end < start:
        return -workdays_between(session, end, start)
    overrides = _overrides(session, start + _ONE_DAY, end)
    return sum(_workday(start + dt.timedelta(days=i), overrides) for i in range(1, (end - start).days + 1))


def set_override(session: Session, day: dt.date, workday: bool, note: str, actor) -> CalendarOverride:
    """Make ``day`` a working day or a day off for the current tenant, whatever the national calendar says."""
    if len(note) > 100:
        raise InvalidInput("the note is too long", errors={"note": ["at most 100 characters"]})
    row = session.scalar(sa.select(CalendarOverride).where(CalendarOverride.day == day))
    before = _snapshot(row)
    if row is None:
        row = CalendarOverride(day=day, workday=workday, note=note)
        session.add(row)
    else:
        row.workday, row.note = workday, note
    session.flush()
    audit.record(session, "calendar.override", obj=row, before=before, after=_snapshot(row), actor=actor)
    return row


def clear_override(session: Session, day: dt.date, actor) -> None:
    """Let the national calendar decide ``day`` again for the current tenant."""
    row = session.scalar(sa.select(CalendarOverride).where(CalendarOverride.day == day))
    if row is None:
        return
    before = _snapshot(row)
    session.delete(row)
    session.flush()
    audit.record(session, "calendar.override.clear", obj=("calendar_override", day.isoformat()), before=before,
                 actor=actor)


def _snapshot(row: CalendarOverride | None) -> dict | None:
    if row is None:
        return None
    return {"day": row.day.isoformat(), "workday": row.workday, "note": row.note}
