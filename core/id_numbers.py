"""The resident ID number (居民身份证号码, GB 11643) and the statutory retirement age it lets us screen for.

An ID number is 18 characters: the address code where the number was assigned (6 digits), the birth date
(YYYYMMDD), a sequence (3 digits, odd for men, even for women) and a check character (ISO 7064 MOD 11-2, 0–9 or
X). Old 15-digit numbers (YYMMDD, no check character) convert to 18 by adding "19" and the check character.
``parse`` accepts what people type (full-width digits, a lowercase x, stray spaces) and returns the 18-character
form with the birth date and sex read from it once; every problem is an ``InvalidInput`` naming the field.

python-stdnum's ``cn.ric`` checks length, format, check character and birth date. Its ``validate`` also wants
the address code to have existed in the birth year, which refuses real numbers: most people born before 1999 got
their 18-digit number years after birth, with the code of that day (远安县 became 420525 in 1992, so a 1990-born
worker from 远安 holds 420525…). Here the address code must be one the national table has ever had.

Retirement ages are data with effective dates (``RETIREMENT_SCHEDULES``): from 1 January 2025 they rise
gradually (全国人大常委会关于实施渐进式延迟法定退休年龄的决定). The ID number tells a man's age exactly, but not
whether a woman's baseline was 50 (workers) or 55 (staff), so ``retirement_screen`` says "past" only past the
later age and "maybe" between the two: refuse the first, let a person decide the second.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from stdnum import numdb
from stdnum.cn import ric

from core.errors import InvalidInput

FIELD = "id_number"
_WHITESPACE = re.compile(r"\s+")
_CHINA = ZoneInfo("Asia/Shanghai")


class InvalidIdNumber(InvalidInput):
    """An ID number that is not one; ``errors`` names the field, the message says what is wrong."""

    def __init__(self, problem: str, field: str = FIELD):
        super().__init__(f"{field}: {problem}", errors={field: [problem]})
        self.problem = problem


@dataclass(frozen=True)
class IdNumber:
    """A checked ID number in its 18-character form and what it says about its holder."""

    number: str
    birth_date: dt.date
    #: "M" or "F": the sequence (characters 15–17) is odd for men, even for women.
    sex: str
    #: The address code where the number was assigned (not necessarily the birth place).
    region_code: str
    #: True when it was typed as an old 15-digit number.
    converted: bool = False

    def age_on(self, day: dt.date) -> int:
        return age_on(self.birth_date, day)


def normalise(raw: str) -> str:
    """What people type, as the canonical characters: full-width digits and letters to ASCII (NFKC), every
    space dropped, a lowercase x upper-cased. Nothing is checked."""
    text = unicodedata.normalize("NFKC", raw or "")
    return _WHITESPACE.sub("", text).upper()


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return ric.calc_check_digit(first17 + "0")


def from_15(number: str) -> str:
    """An old 15-digit number as 18: ``19`` before the two-digit year, and the check character at the end.

    15-digit numbers were issued from 1984 to 1999, to people born in the 1900s only."""
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_character(first17)


def parse(raw: str, *, field: str = FIELD, on: dt.date | None = None) -> IdNumber:
    """Check ``raw`` and return the ID number it is. Raises ``InvalidIdNumber`` naming ``field``:
    ``id_number: the check character should be 7``."""
    number = normalise(raw)
    converted = False
    if len(number) == 15:
        if not number.isdigit():
            raise InvalidIdNumber("an old 15-digit ID number has digits only", field)
        number, converted = from_15(number), True
    elif len(number) != 18:
        raise InvalidIdNumber(f"18 characters (or an old 15-digit number); this has {len(number)}", field)
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidIdNumber("17 digits and a check character, a digit or X", field)
    expected = check_character(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(f"the check character should be {expected}", field)
    try:
        birth_date = ric.get_birth_date(number)
    except ric.ValidationError:
        raise InvalidIdNumber("characters 7–14 are not a birth date (YYYYMMDD)", field) from None
    if birth_date > (on or today()):
        raise InvalidIdNumber("the birth date it holds is in the future", field)
    if birth_date.year < 1900:
        raise InvalidIdNumber("the birth date it holds is before 1900", field)
    if not known_region(number[:6]):
        raise InvalidIdNumber(f"{number[:6]} is not an address code of the national table", field)
    sex = "M" if int(number[16]) % 2 else "F"
    return IdNumber(number, birth_date, sex, number[:6], converted)


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except InvalidIdNumber:
        return False
    return True


@lru_cache(maxsize=4096)
def known_region(code: str) -> bool:
    """Has ``code`` ever been a county-level address code (stdnum's copy of the national table)?"""
    found = {key for _part, props in numdb.get("cn/loc").info(code) for key in props}
    return "county" in found


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Full years of age on ``day``; someone born on 29 February comes of age on 1 March in other years."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def today() -> dt.date:
    """Today's date in mainland China, whatever the server's time zone: ages and membership steps count in it."""
    return dt.datetime.now(_CHINA).date()


# --- retirement age (法定退休年龄) -----------------------------------------------------------------------------------

#: The three groups of the law. The ID number tells ``men`` from the women, never which women's group.
RETIREMENT_GROUPS = ("men", "women_50", "women_55")


@dataclass(frozen=True)
class RetirementRule:
    """One group's retirement age: ``base_years``, plus one month for every ``birth_months_per_step`` months of
    birth from ``first_birth_month`` on, at most ``max_delay_months``."""

    base_years: int
    first_birth_month: dt.date | None = None
    birth_months_per_step: int = 1
    max_delay_months: int = 0

    def age_in_months(self, birth_date: dt.date) -> int:
        months = self.base_years * 12
        if self.first_birth_month is None:
            return months
        after = (birth_date.year - self.first_birth_month.year) * 12 + birth_date.month - self.first_birth_month.month
        if after < 0:
            return months
        return months + min(after // self.birth_months_per_step + 1, self.max_delay_months)


@dataclass(frozen=True)
class RetirementSchedule:
    """The rules in force from ``effective_from`` until the next schedule's date."""

    effective_from: dt.date
    rules: dict[str, RetirementRule]
    source: str


RETIREMENT_SCHEDULES: tuple[RetirementSchedule, ...] = (
    RetirementSchedule(
        dt.date(1978, 6, 2),
        {"men": RetirementRule(60), "women_50": RetirementRule(50), "women_55": RetirementRule(55)},
        "国务院关于工人退休、退职的暂行办法（国发〔1978〕104号）",
    ),
    RetirementSchedule(
        dt.date(2025, 1, 1),
        {
            # Men born January 1965 retire at 60 and 1 month; born September 1976 or later, at 63.
            "men": RetirementRule(60, dt.date(1965, 1, 1), 4, 36),
            # Women whose baseline was 50: born January 1975, 50 and 1 month; November 1984 or later, 55.
            "women_50": RetirementRule(50, dt.date(1975, 1, 1), 2, 60),
            # Women whose baseline was 55: born January 1970, 55 and 1 month; September 1981 or later, 58.
            "women_55": RetirementRule(55, dt.date(1970, 1, 1), 4, 36),
        },
        "全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定（2024年9月13日）",
    ),
)


def schedule_on(day: dt.date, schedules=RETIREMENT_SCHEDULES) -> RetirementSchedule:
    """The schedule in force on ``day``."""
    in_force = [s for s in schedules if s.effective_from <= day]
    if not in_force:
        raise ValueError(f"no retirement schedule is in force on {day}")
    return max(in_force, key=lambda s: s.effective_from)


def retirement_age(birth_date: dt.date, group: str, *, on: dt.date, schedules=RETIREMENT_SCHEDULES) -> tuple[int, int]:
    """The statutory retirement age of ``group`` for someone born on ``birth_date``, as (years, months), under
    the schedule in force on ``on``."""
    months = schedule_on(on, schedules).rules[group].age_in_months(birth_date)
    return divmod(months, 12)


def retirement_date(birth_date: dt.date, group: str, *, on: dt.date, schedules=RETIREMENT_SCHEDULES) -> dt.date:
    """The day someone born on ``birth_date`` reaches the retirement age of ``group``."""
    years, months = retirement_age(birth_date, group, on=on, schedules=schedules)
    return _add_months(birth_date, years * 12 + months)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (following - dt.timedelta(days=1)).day))


@dataclass(frozen=True)
class RetirementScreen:
    """``status``: ``working`` (before every retirement age that may apply), ``maybe`` (a woman between the
    50- and the 55-baseline ages: a person decides) or ``past`` (past the latest age that may apply).
    ``from_date``: the first day the person may have reached retirement age; ``past_date``: the day they surely
    have."""

    status: str
    from_date: dt.date
    past_date: dt.date

    @property
    def certainly_past(self) -> bool:
        return self.status == "past"


def retirement_screen(birth_date: dt.date, sex: str, *, on: dt.date, schedules=RETIREMENT_SCHEDULES) -> RetirementScreen:
    """Screen someone for "past retirement age" on ``on`` from what the ID number tells (birth date and sex)."""
    groups = ("men",) if sex == "M" else ("women_50", "women_55")
    dates = sorted(retirement_date(birth_date, group, on=on, schedules=schedules) for group in groups)
    earliest, latest = dates[0], dates[-1]
    status = "past" if on >= latest else "maybe" if on >= earliest else "working"
    return RetirementScreen(status, earliest, latest)
