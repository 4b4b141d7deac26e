"""The ID number as people type it, what it tells about its holder, and the retirement age it lets us screen."""
import datetime as dt

import pytest

from core import id_numbers
from core.id_numbers import InvalidIdNumber, parse, retirement_age, retirement_screen


def number(first17: str) -> str:
    return first17 + id_numbers.check_character(first17)


def test_an_id_number_gives_its_holders_birth_date_and_sex():
    man, woman = parse(number("42050219900101123")), parse(number("42050219851231124"))

    assert (man.birth_date, man.sex) == (dt.date(1990, 1, 1), "M")
    assert (woman.birth_date, woman.sex) == (dt.date(1985, 12, 31), "F")
    assert man.age_on(dt.date(2025, 12, 31)) == 35
    assert man.age_on(dt.date(2024, 1, 1)) == 34


def test_a_15_digit_id_number_is_read_as_its_18_digit_form():
    parsed = parse("420502900101123")

    assert parsed.number == "420502199001011238"
    assert parsed.converted
    assert id_numbers.check_character("42050219900101123") == "8"


@pytest.mark.parametrize("typed", [
    "４２０５０２１９９００１０１１２３８",  # full-width digits, as a Chinese input method types them
    " 420502 19900101 1238 ",  # stray spaces
    "420502199001011238\u3000",  # an ideographic space
])
def test_what_people_type_is_read_as_the_canonical_number(typed):
    assert parse(typed).number == "420502199001011238"


def test_a_lowercase_x_check_character_is_read_as_an_uppercase_one():
    with_x = next(number(f"4205021990010112{n}") for n in range(10)
                  if id_numbers.check_character(f"4205021990010112{n}") == "X")

    assert parse(with_x.lower()).number == with_x
    assert parse(with_x.replace("X", "ｘ")).number == with_x


def test_a_wrong_check_character_says_which_one_it_should_be():
    with pytest.raises(InvalidIdNumber) as error:
        parse("420502199001011237")

    assert str(error.value) == "id_number: the check character should be 8"
    assert error.value.errors == {"id_number": ["the check character should be 8"]}


def test_errors_name_the_field_they_were_given():
    with pytest.raises(InvalidIdNumber) as error:
        parse("12345", field="row 7.id_number")

    assert list(error.value.errors) == ["row 7.id_number"]


@pytest.mark.parametrize("typed, problem", [
    ("4205021990010112", "18 characters (or an old 15-digit number); this has 16"),
    ("42050219900101123A", "17 digits and a check character, a digit or X"),
    ("4205021990O1011238", "17 digits and a check character, a digit or X"),
    ("42050219A010112", "an old 15-digit ID number has digits only"),
    (number("42050219901301123"), "characters 7–14 are not a birth date (YYYYMMDD)"),
    (number("42050220990101123"), "the birth date it holds is in the future"),
    (number("99999919900101123"), "999999 is not an address code of the national table"),
])
def test_a_number_that_is_not_an_id_number_says_what_is_wrong(typed, problem):
    with pytest.raises(InvalidIdNumber) as error:
        parse(typed, on=dt.date(2026, 1, 1))

    assert error.value.errors == {"id_number": [problem]}


def test_a_number_issued_after_its_region_code_was_created_is_valid():
    # 远安县 has been 420525 since 1992; a 1990-born worker got the number when 18-digit numbers came in 1999.
    # python-stdnum's own validate() refuses it, because the code did not exist in the birth year.
    from stdnum.cn import ric

    yuanan = number("42052519900101123")

    assert not ric.is_valid(yuanan)
    assert parse(yuanan).region_code == "420525"


@pytest.mark.parametrize("born, group, age", [
    (dt.date(1964, 12, 31), "men", (60, 0)),
    (dt.date(1965, 1, 1), "men", (60, 1)),
    (dt.date(1965, 5, 1), "men", (60, 2)),
    (dt.date(1976, 8, 31), "men", (62, 11)),
    (dt.date(1976, 9, 1), "men", (63, 0)),
    (dt.date(1990, 1, 1), "men", (63, 0)),
    (dt.date(1975, 1, 1), "women_50", (50, 1)),
    (dt.date(1975, 3, 1), "women_50", (50, 2)),
    (dt.date(1984, 10, 1), "women_50", (54, 11)),
    (dt.date(1984, 11, 1), "women_50", (55, 0)),
    (dt.date(1970, 1, 1), "women_55", (55, 1)),
    (dt.date(1981, 9, 1), "women_55", (58, 0)),
])
def test_the_retirement_age_rises_one_month_per_step_of_birth_months_from_2025(born, group, age):
    assert retirement_age(born, group, on=dt.date(2026, 1, 1)) == age


def test_before_2025_the_old_retirement_ages_apply():
    assert retirement_age(dt.date(1976, 9, 1), "men", on=dt.date(2024, 12, 31)) == (60, 0)
    assert retirement_age(dt.date(1984, 11, 1), "women_50", on=dt.date(2024, 12, 31)) == (50, 0)


def test_a_man_is_past_retirement_age_from_the_day_he_reaches_it():
    born = dt.date(1965, 1, 10)  # 60 and 1 month: 10 February 2025

    assert retirement_screen(born, "M", on=dt.date(2025, 2, 9)).status == "working"
    assert retirement_screen(born, "M", on=dt.date(2025, 2, 10)).status == "past"


def test_a_woman_between_the_two_baselines_is_a_maybe_for_a_person_to_decide():
    born = dt.date(1975, 1, 10)  # baseline 50: 50 and 1 month; baseline 55: 56 and 4 months

    before = retirement_screen(born, "F", on=dt.date(2025, 2, 9))
    between = retirement_screen(born, "F", on=dt.date(2028, 6, 1))
    after = retirement_screen(born, "F", on=dt.date(2031, 5, 10))

    assert (before.status, between.status, after.status) == ("working", "maybe", "past")
    assert (between.from_date, between.past_date) == (dt.date(2025, 2, 10), dt.date(2031, 5, 10))
    assert after.certainly_past and not between.certainly_past


def test_a_schedule_added_later_takes_over_from_its_effective_date():
    later = id_numbers.RetirementSchedule(
        dt.date(2040, 1, 1), {g: id_numbers.RetirementRule(65) for g in id_numbers.RETIREMENT_GROUPS}, "a future law"
    )
    schedules = id_numbers.RETIREMENT_SCHEDULES + (later,)

    assert retirement_age(dt.date(1990, 1, 1), "men", on=dt.date(2039, 12, 31), schedules=schedules) == (63, 0)
    assert retirement_age(dt.date(1990, 1, 1), "men", on=dt.date(2040, 1, 1), schedules=schedules) == (65, 0)
