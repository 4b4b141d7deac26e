"""Data quality (数据质量): the records of a subtree that the real-name work (实名制) asks a union to fix, counted
and listed.

A member whose record has a wrong or duplicate ID number or lacks a required field is "unqualified" (RULES.md):
they cannot use services and do not count in the federation's collection rate, and county unions review member
data. Each check here is one SQL statement over indexed columns (no ID number is decrypted to find a record,
only to mask the ones on a page), so a count is one query and a page is one query, at city scale as in a test.

What cannot be wrong, and so is not checked: a check character that fails, or a sex and birth date that disagree
with the number (``core.id_numbers.parse`` refuses the first and derives the others at every write); one person
under a 15- and an 18-digit number (the 15-digit form is converted before the blind index is taken, and the
index is unique per tenant); a person with two current memberships (a partial unique index). What is checked is
what passes those rules and is still wrong: see ``CHECKS`` and docs/quality.md.

Plain functions over a ``Scope`` (the caller's subtrees and, for units, their federations' areas);
``caller_scope`` is that scope for a caller, as the API and the staff pages both ask it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from core.auth.permissions import check as check_permission
from core.auth.scope import in_scope, scope_paths, subtree_filter
from core.errors import Forbidden, InvalidInput
from core.id_numbers import age_on, today
from core.masking import mask_id_number, mask_phone
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.region import Region
from core.models.unit import Unit
from core.models.user import User
from core.registry import organizations, units
from core.registry.imports import Scope

#: Employers may not hire anyone under 16 (劳动法 art. 15); a member younger than that, or a hundred or older,
#: almost always carries someone else's number (a child's, a parent's) or a mistyped year that still checks.
YOUNGEST, OLDEST = 16, 100
#: The fields of a member's registration form (工会会员登记表) the registry holds and a record needs.
MEMBER_FIELDS = ("ethnicity", "education", "household_type", "employment_form")
#: The fields of a unit record the federation's statistics need (RULES.md: industry, category, district).
UNIT_FIELDS = ("code", "region", "industry", "economic_type", "employees")


@dataclass(frozen=True)
class Check:
    name: str
    #: The Chinese title, as pages and the exported sheet show it.
    title: str
    #: "people", "units" or "organizations": the caller needs ``<area>.read`` over the subtree.
    area: str
    description: str
    #: The statement that lists the records, in a deterministic order.
    statement: Callable[[Session, Scope], sa.Select]
    #: One result row -> what the API and the export show (personal numbers masked).
    view: Callable[[sa.Row], dict]
    #: The statement a count runs, where it differs from the list's.
    counted: Callable[[Session, Scope], sa.Select] | None = None


# --- the subtree ------------------------------------------------------------------------------------------------------


def scope_of(session: Session, organizations) -> Scope:
    """The scope of the subtrees of ``organizations`` (and, for units, their federations' areas)."""
    roots = tuple(organization.path for organization in organizations)
    return Scope(roots, units.federation_areas(session, roots))


WHOLE_TENANT = Scope(("/",))


def read_permission(check: Check) -> str:
    """What a caller needs to run ``check``: ``<area>.read``."""
    return f"{check.area}.read"


def caller_scope(session: Session, user: User | None, check: Check, organization_id: int | None = None) -> Scope:
    """``user``'s scope for ``check``: their subtrees where they hold its permission, or the subtree of
    ``organization_id`` (``?organization=``) when given and inside them."""
    permission = read_permission(check)
    check_permission(user, permission)
    if organization_id is not None:
        organization = organizations.organization_by_id(session, organization_id, field="query.organization")
        if not in_scope(user, permission, organization.path):
            raise InvalidInput("no such organization", errors={"query.organization": ["no such organization"]})
        roots = (organization.path,)
    else:
        roots = scope_paths(user, permission)
        if not roots:
            raise Forbidden(f"you do not have the permission {permission} at an active organization")
    return Scope(tuple(roots), units.federation_areas(session, roots) if check.area == "units" else ())


# --- members ----------------------------------------------------------------------------------------------------------

_PERSON_COLUMNS = (Person.id, Person.name, Person.id_number, Person.sex, Person.birth_date, Person.phone,
                   *(getattr(Person, field) for field in MEMBER_FIELDS),
                   Membership.organization_id, Membership.unit_id, Membership.status, Organization.name)


def _members(scope: Scope, person: tuple, membership: tuple = ()) -> sa.Select:
    """The list: people with a current membership (active or retained) in the subtrees of ``scope`` meeting the
    conditions ``person`` and ``membership``, with their organization, by organization, then name."""
    return (
        sa.select(*_PERSON_COLUMNS)
        .join(Membership, sa.and_(Membership.person_id == Person.id, Membership.status != "ended", *membership))
        .join(Organization, Organization.id == Membership.organization_id)
        .where(subtree_filter(Organization.path, scope.roots), *person)
        .order_by(Organization.path, Person.name, Person.id)
    )


def _members_counted(scope: Scope, person: tuple, membership: tuple = ()) -> sa.Select:
    """The same people for a count, written so the planner starts from the condition's index (few rows when the
    registry is in order) and asks each one's current membership by ``uq_membership_current``; the join of the
    list makes it read every membership of the city instead (measured at 3,000,000: 1.3 s against 3 s)."""
    current = sa.select(Membership.id).where(Membership.person_id == Person.id, Membership.status != "ended",
                                             *membership)
    if "/" not in scope.roots:
        current = current.join(Organization, Organization.id == Membership.organization_id).where(
            subtree_filter(Organization.path, scope.roots))
    return sa.select(Person.id).where(*person, current.exists())


def _age_bounds() -> tuple[dt.date, dt.date]:
    """(born after this: under ``YOUNGEST`` today; born on or before this: ``OLDEST`` or older today)."""
    day = today()
    return _years_before(day, YOUNGEST), _years_before(day, OLDEST)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# Each member check gives (conditions on the person, conditions on their current membership).


def implausible_ages(session: Session, scope: Scope) -> tuple[tuple, tuple]:
    too_young, too_old = _age_bounds()
    return (sa.or_(Person.birth_date > too_young, Person.birth_date <= too_old),), ()


def duplicate_people(session: Session, scope: Scope) -> tuple[tuple, tuple]:
    """Both ways read ``(tenant_id, name, birth_date, sex)``. For the whole tenant or a county-level subtree, the
    tenant's groups of more than one first (one pass over the index, whatever the subtree; few groups); below,
    a probe per member of the subtree, which costs in proportion to the subtree (a grassroots union's hundreds)."""
    identity = (Person.name, Person.birth_date, Person.sex)
    if any(root.count("/") <= 3 for root in scope.roots):  # "/", "/1/" (the city), "/1/7/" (a county)
        twins = sa.select(*identity).group_by(*identity).having(sa.func.count() > 1)
        return (sa.tuple_(*identity).in_(twins),), ()
    twin = aliased(Person)
    same = (
        sa.select(twin.id)
        .where(twin.name == Person.name, twin.birth_date == Person.birth_date, twin.sex == Person.sex,
               twin.id != Person.id)
        .exists()
    )
    return (same,), ()


def members_without_phone(session: Session, scope: Scope) -> tuple[tuple, tuple]:
    return (Person.phone_index.is_(None),), ()


def members_missing_fields(session: Session, scope: Scope) -> tuple[tuple, tuple]:
    # The predicate of the partial index ``ix_person_incomplete`` (``person.INCOMPLETE``), with the empty string
    # written in, not bound, so the planner can prove the index applies.
    empty = sa.literal_column("''")
    return (sa.or_(*(getattr(Person, field) == empty for field in MEMBER_FIELDS)),), ()


def members_without_unit(session: Session, scope: Scope) -> tuple[tuple, tuple]:
    return (), (Membership.status == "active", Membership.unit_id.is_(None))


def _member_view(row: sa.Row) -> dict:
    (person_id, name, id_number, sex, birth_date, phone, *fields, organization_id, unit_id, status,
     organization_name) = row
    missing = [field for field, value in zip(MEMBER_FIELDS, fields) if not value]
    if status == "active" and unit_id is None:
        missing.append("unit")  # listed by its own check: the membership's, not the person's, field
    too_young, too_old = _age_bounds()
    return {
        "person_id": person_id, "name": name, "id_number": mask_id_number(id_number), "sex": sex,
        "age": age_on(birth_date, today()), "phone": mask_phone(phone) if phone else None,
        "organization_id": organization_id, "organization_name": organization_name,
        "missing": missing, "implausible_age": birth_date > too_young or birth_date <= too_old,
    }


# --- units ------------------------------------------------------------------------------------------------------------

_UNIT_COLUMNS = (Unit.id, Unit.name, Unit.credit_code, Unit.registration_number, Unit.organization_code,
                 Unit.region_id, Region.name, Unit.industry, Unit.economic_type, Unit.employees, Unit.has_union,
                 Unit.organization_id)


def _units(scope: Scope, *where, order=(Unit.name,)) -> sa.Select:
    """The units the scope sees (``units.within``: covered by a union of its subtrees, or without a union in its
    federations' areas)."""
    return (
        sa.select(*_UNIT_COLUMNS)
        .outerjoin(Region, Region.id == Unit.region_id)
        .where(units.within(scope.roots, scope.areas), *where)
        .order_by(*order, Unit.id)
    )


def units_without_union(session: Session, scope: Scope) -> sa.Select:
    # The biggest first: a unit of 25 or more members shall set up a committee (RULES.md), so they lead the drive.
    return _units(scope, Unit.organization_id.is_(None), Unit.has_union.is_(False),
                  order=(Unit.employees.desc().nulls_last(), Unit.name))


def units_union_not_recorded(session: Session, scope: Scope) -> sa.Select:
    return _units(scope, Unit.organization_id.is_(None), Unit.has_union.is_(True))


def units_missing_fields(session: Session, scope: Scope) -> sa.Select:
    return _units(scope, sa.or_(
        sa.and_(Unit.credit_code.is_(None), Unit.registration_number.is_(None), Unit.organization_code.is_(None)),
        Unit.region_id.is_(None), Unit.industry.is_(None), Unit.economic_type.is_(None), Unit.employees.is_(None),
    ))


def _unit_view(row: sa.Row) -> dict:
    (unit_id, name, credit_code, registration_number, organization_code, region_id, region_name, industry,
     economic_type, employees, has_union, organization_id) = row
    code = credit_code or registration_number or organization_code
    present = {"code": code, "region": region_id, "industry": industry, "economic_type": economic_type,
               "employees": employees}
    return {
        "unit_id": unit_id, "name": name, "code": code, "region_name": region_name, "employees": employees,
        "has_union": has_union, "organization_id": organization_id,
        "missing": [field for field in UNIT_FIELDS if present[field] is None],
    }


# --- organizations ----------------------------------------------------------------------------------------------------


def terms_expired(session: Session, scope: Scope) -> sa.Select:
    """Active organizations whose committee's term (任期) ended before today: due for re-election (换届)."""
    return (
        sa.select(Organization.id, Organization.name, Organization.kind, Organization.chairman_name,
                  Organization.term_ends_on)
        .where(Organization.status == "active", Organization.term_ends_on < today(),
               subtree_filter(Organization.path, scope.roots))
        .order_by(Organization.term_ends_on, Organization.path)
    )


def _organization_view(row: sa.Row) -> dict:
    organization_id, name, kind, chairman_name, term_ends_on = row
    return {"organization_id": organization_id, "name": name, "kind": kind, "chairman_name": chairman_name,
            "term_ends_on": term_ends_on}


def _member_check(name: str, title: str, description: str, conditions) -> Check:
    return Check(name, title, "people", description,
                 lambda session, scope: _members(scope, *conditions(session, scope)), _member_view,
                 lambda session, scope: _members_counted(scope, *conditions(session, scope)))


# --- the checks -------------------------------------------------------------------------------------------------------

CHECKS: dict[str, Check] = {check.name: check for check in (
    _member_check("implausible_ages", "身份证号疑似错误（年龄不符）",
                  f"members whose ID number makes them younger than {YOUNGEST} or {OLDEST} or older today: the "
                  "number passes its check character but is most likely someone else's or mistyped", implausible_ages),
    _member_check("duplicate_people", "疑似重复登记",
                  "members with another record of the same name, sex and birth date under a different ID number: "
                  "probably one person registered twice, once with a wrong number", duplicate_people),
    _member_check("members_without_phone", "缺少手机号", "members with no mobile number", members_without_phone),
    _member_check("members_missing_fields", "会员信息不全",
                  "members whose record lacks ethnicity, education, household type or employment form",
                  members_missing_fields),
    _member_check("members_without_unit", "会员未填工作单位", "members whose active membership names no unit",
                  members_without_unit),
    Check("units_without_union", "未建会单位", "units",
          "units without a union, the biggest first (the formation drive's list)", units_without_union, _unit_view),
    Check("units_union_not_recorded", "已建会未关联工会", "units",
          "units marked as having a union while no union in the registry covers them", units_union_not_recorded,
          _unit_view),
    Check("units_missing_fields", "单位信息不全", "units",
          "units lacking a credit code (or older code), region, industry, unit category or head count",
          units_missing_fields, _unit_view),
    Check("terms_expired", "届期已满未换届", "organizations",
          "active organizations whose committee's term has run out", terms_expired, _organization_view),
)}


def count(session: Session, check: Check, scope: Scope) -> int:
    """How many records ``check`` finds in ``scope``: one query."""
    statement = (check.counted or check.statement)(session, scope).order_by(None)
    return session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))


def counts(session: Session, scope: Scope, checks=None) -> dict[str, int]:
    """Every check's count (or those of ``checks``), a query each."""
    return {check.name: count(session, check, scope) for check in (checks or CHECKS.values())}


def page(session: Session, check: Check, scope: Scope, *, offset: int, limit: int) -> list[dict]:
    """One page of ``check``'s records, as shown (masked)."""
    statement = check.statement(session, scope).offset(offset).limit(limit)
    return [check.view(row) for row in session.execute(statement)]


def rows(session: Session, check: Check, scope: Scope) -> Iterator[dict]:
    """Every record of ``check`` in ``scope``, as shown, fetched a thousand at a time (the export)."""
    statement = check.statement(session, scope).execution_options(yield_per=1000)
    for row in session.execute(statement):
        yield check.view(row)
