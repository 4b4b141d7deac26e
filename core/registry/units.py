"""Units (单位): create, update, set or clear the union that covers one, find one by its credit code.

A unit is identified by its unified social credit code (统一社会信用代码, 18 characters, GB 32100); records from
before 2015 may carry only a business registration number (工商注册号, 15 digits) or an organisation code
(组织机构代码, 9 characters, GB 11714). Each is normalised (upper case, full-width to half-width, spaces and
dashes removed) and checked by its check character before it is stored; a wrong one is a field error that names
the field. The name search is ``core.registry.unit_search``.

Plain functions: the caller owns the transaction; each change is audited.
"""
from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from sqlalchemy.orm import Session
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.iso7064 import mod_11_10

from core import audit
from core.auth.scope import narrowest, subtree_bounds
from core.errors import Conflict, InvalidInput, NotFound
from core.models.organization import FEDERATION_KINDS, Organization
from core.models.region import Region
from core.models.unit import ECONOMIC_TYPES, HEAD_COUNTS, INDUSTRIES, Unit

#: Fields ``update`` changes; the covering union has operations of its own.
EDITABLE = (
    "name", "credit_code", "registration_number", "organization_code", "region", "industry", "economic_type",
    "address", "legal_representative", *HEAD_COUNTS, "has_union",
)
#: The three identifiers a unit may carry, each unique in a tenant.
CODES = ("credit_code", "registration_number", "organization_code")

_ORGANIZATION_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORGANIZATION_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


# --- the identifiers --------------------------------------------------------------------------------------------


def normalise_code(value: str) -> str:
    """Upper case, full-width to half-width (ＡＢ１ -> AB1), spaces and dashes removed."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", value).upper() if not ch.isspace() and ch not in "-—")


def check_credit_code(value: str, field: str = "credit_code") -> str:
    """The normalised unified social credit code, or a field error saying what is wrong with it."""
    code = normalise_code(value)
    try:
        return uscc.validate(code)
    except InvalidLength:
        problem = f"18 characters, not {len(code)}"
    except InvalidFormat:
        problem = "8 digits, then 10 digits or capital letters other than I, O, S, V and Z"
    except InvalidChecksum:
        problem = "the check character (the 18th) does not match: a character is mistyped"
    except ValidationError:
        problem = "not a unified social credit code"
    raise InvalidInput(f"{field} {code} is not a valid unified social credit code", errors={field: [problem]})


def check_registration_number(value: str, field: str = "registration_number") -> str:
    """The normalised 15-digit business registration number (工商注册号, GS15: ISO 7064 MOD 11,10 check digit)."""
    number = normalise_code(value)
    if len(number) != 15 or not number.isdigit():
        problem = f"15 digits, not {number!r}"
    elif not mod_11_10.is_valid(number):
        problem = "the check digit (the 15th) does not match: a digit is mistyped"
    else:
        return number
    raise InvalidInput(f"{field} {number} is not a valid business registration number", errors={field: [problem]})


def organization_code_check_character(body: str) -> str:
    """GB 11714's check character for the 8 characters ``body``."""
    total = sum(_ORGANIZATION_CODE_ALPHABET.index(ch) * w for ch, w in zip(body, _ORGANIZATION_CODE_WEIGHTS))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def check_organization_code(value: str, field: str = "organization_code") -> str:
    """The normalised 9-character organisation code (组织机构代码, GB 11714), ``XXXXXXXX-X`` written without the
    dash."""
    code = normalise_code(value)
    if len(code) != 9 or any(ch not in _ORGANIZATION_CODE_ALPHABET for ch in code[:8]) or code[8] not in "0123456789X":
        problem = "8 digits or capital letters and a check character (a digit or X), like 12345678-5"
    elif organization_code_check_character(code[:8]) != code[8]:
        problem = "the check character (the 9th) does not match: a character is mistyped"
    else:
        return code
    raise InvalidInput(f"{field} {code} is not a valid organisation code", errors={field: [problem]})


def organization_code_of(credit_code: str) -> str | None:
    """The organisation code inside a credit code (its 9th to 17th characters), when it is one."""
    part = credit_code[8:17]
    try:
        return check_organization_code(part)
    except InvalidInput:
        return None


def by_code(session: Session, value: str) -> Unit | None:
    """The tenant's unit with this credit code, business registration number or organisation code (told apart by
    length: 18, 15, 9), or None. A malformed code is a field error on ``credit_code``."""
    code = normalise_code(value or "")
    if len(code) == 18:
        column, code = Unit.credit_code, check_credit_code(code)
    elif len(code) == 15:
        column, code = Unit.registration_number, check_registration_number(code, field="credit_code")
    elif len(code) == 9:
        column, code = Unit.organization_code, check_organization_code(code, field="credit_code")
    else:
        raise InvalidInput("not a credit code", errors={"credit_code": [
            "a credit code (18 characters), a business registration number (15 digits) or an organisation code (9)"]})
    return session.scalar(sa.select(Unit).where(column == code))


# --- who may act on which units ---------------------------------------------------------------------------------


def federation_areas(session: Session, roots) -> tuple[str, ...]:
    """The region paths of the federations (总工会) among the organizations at ``roots`` (paths): the areas whose
    units without a union they act for, since such a unit applies to the local federation by territory."""
    if not roots or "/" in roots:
        return ()
    paths = session.scalars(
        sa.select(Region.path)
        .join(Organization, Organization.region_id == Region.id)
        .where(Organization.path.in_(roots), Organization.kind.in_(FEDERATION_KINDS))
    ).all()
    return narrowest(paths) if paths else ()


def within(roots, areas=()) -> sa.ColumnElement:
    """A WHERE clause: the units covered by a union in the subtrees at ``roots``, and the units without a union
    in ``areas`` (``federation_areas``). Roots ``("/",)`` is the whole tenant, none is nothing."""
    if "/" in roots:
        return sa.true()
    if not roots:
        return sa.false()
    in_roots = sa.or_(*[sa.and_(Organization.path >= low, Organization.path < high) for low, high in map(subtree_bounds, roots)])
    covered = Unit.organization_id.in_(sa.select(Organization.id).where(in_roots))
    if not areas:
        return covered
    in_areas = sa.or_(*[sa.and_(Unit.region_path >= low, Unit.region_path < high) for low, high in map(subtree_bounds, areas)])
    return sa.or_(covered, sa.and_(Unit.organization_id.is_(None), in_areas))


# --- reading ----------------------------------------------------------------------------------------------------


def unit_by_id(session: Session, unit_id: int) -> Unit:
    unit = session.scalar(sa.select(Unit).where(Unit.id == unit_id))
    if unit is None:
        raise NotFound(f"no unit {unit_id}")
    return unit


def snapshot(unit: Unit) -> dict:
    """What the audit trail keeps of a unit: every field."""
    return {
        "name": unit.name,
        **{code: getattr(unit, code) for code in CODES},
        "region_id": unit.region_id,
        "industry": unit.industry,
        "economic_type": unit.economic_type,
        "address": unit.address,
        "legal_representative": unit.legal_representative,
        **{count: getattr(unit, count) for count in HEAD_COUNTS},
        "has_union": unit.has_union,
        "organization_id": unit.organization_id,
    }


# --- create, update ---------------------------------------------------------------------------------------------


def create(
    session: Session,
    *,
    name: str,
    credit_code: str | None = None,
    registration_number: str | None = None,
    organization_code: str | None = None,
    region: Region | None = None,
    industry: str | None = None,
    economic_type: str | None = None,
    address: str = "",
    legal_representative: str = "",
    employees: int | None = None,
    women: int | None = None,
    dispatched: int | None = None,
    migrant_workers: int | None = None,
    has_union: bool = False,
    organization: Organization | None = None,
    actor=None,
) -> Unit:
    """Register a unit. Setting ``organization`` (a grassroots or joint union) sets ``has_union``."""
    fields = dict(
        name=name, credit_code=credit_code, registration_number=registration_number,
        organization_code=organization_code, region=region, industry=industry, economic_type=economic_type,
        address=address, legal_representative=legal_representative, employees=employees, women=women,
        dispatched=dispatched, migrant_workers=migrant_workers, has_union=has_union,
    )
    unit = Unit()
    _apply(session, unit, fields)
    if organization is not None:
        _cover(unit, organization)
    session.add(unit)
    session.flush()
    audit.record(session, "unit.create", obj=unit, after=snapshot(unit), actor=actor)
    return unit


def update(session: Session, unit: Unit, changes: dict, *, actor=None) -> Unit:
    """Change the fields in ``changes`` (keys of ``EDITABLE``; ``region`` is a Region or None)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput("these fields cannot be changed here", errors={key: ["not editable"] for key in sorted(unknown)})
    before = snapshot(unit)
    _apply(session, unit, changes)
    session.flush()
    audit.record(session, "unit.update", obj=unit, before=before, after=snapshot(unit), actor=actor)
    return unit


def set_covering_union(session: Session, unit: Unit, organization: Organization, *, actor=None) -> Unit:
    """``organization`` (a grassroots union, joint or independent) now covers ``unit``, which therefore has a
    union."""
    before = snapshot(unit)
    _cover(unit, organization)
    session.flush()
    audit.record(session, "unit.set_union", obj=unit, before=before, after=snapshot(unit), actor=actor)
    return unit


def clear_covering_union(session: Session, unit: Unit, *, actor=None) -> Unit:
    """No union covers ``unit`` any more (its union was dissolved, or the link was wrong): it has no union, and
    its workers' memberships belong in a reservoir."""
    before = snapshot(unit)
    unit.organization_id, unit.covering_organization, unit.has_union = None, None, False
    session.flush()
    audit.record(session, "unit.clear_union", obj=unit, before=before, after=snapshot(unit), actor=actor)
    return unit


def _cover(unit: Unit, organization: Organization) -> None:
    if organization.kind != "grassroots_union":
        raise InvalidInput(f"{organization.name} is not a grassroots union", errors={"organization_id": [
            f"a unit is covered by a grassroots or joint union; {organization.name} is a {organization.kind}"]})
    if organization.status != "active":
        raise InvalidInput(f"{organization.name} is {organization.status}", errors={"organization_id": [
            f"{organization.name} is {organization.status}, not active"]})
    unit.covering_organization, unit.organization_id, unit.has_union = organization, organization.id, True


#: Longest text of each free-text field (the columns' lengths).
_LENGTHS = {"name": 200, "address": 300, "legal_representative": 50}
_CHECKS = {
    "credit_code": check_credit_code,
    "registration_number": check_registration_number,
    "organization_code": check_organization_code,
}


def _apply(session: Session, unit: Unit, fields: dict) -> None:
    """Check ``fields`` all at once (every wrong field named) and set them on ``unit``."""
    errors: dict[str, list[str]] = {}
    values = dict(fields)
    for field, longest in _LENGTHS.items():
        if field in values:
            values[field] = " ".join((values[field] or "").split())
            if len(values[field]) > longest:
                errors[field] = [f"at most {longest} characters"]
    if "name" in values and len(values["name"]) < 2:
        errors["name"] = ["the full name as registered, at least two characters"]
    for code, check in _CHECKS.items():
        if values.get(code):
            try:
                values[code] = check(values[code])
            except InvalidInput as exc:
                errors.update(exc.errors)
        elif code in values:
            values[code] = None
    if values.get("industry") is not None and values["industry"] not in INDUSTRIES:
        errors["industry"] = ["a GB/T 4754 section letter, A to T"]
    if values.get("economic_type") is not None and values["economic_type"] not in ECONOMIC_TYPES:
        errors["economic_type"] = [f"one of the unit category codes {', '.join(ECONOMIC_TYPES)}"]
    if values.get("has_union") is False and unit.organization_id is not None:
        errors["has_union"] = ["a unit covered by a union has one: clear the covering union instead"]
    errors.update(_check_head_counts(unit, values))
    if not errors:
        _derive_organization_code(unit, values)
        errors.update(_check_codes_agree(unit, values))
    if errors:
        raise InvalidInput("the unit has fields that are not valid", errors=errors)
    _check_codes_free(session, unit, values)
    for key, value in values.items():
        if key == "region":
            unit.region, unit.region_id = value, value.id if value is not None else None
            unit.region_path = value.path if value is not None else ""
        else:
            setattr(unit, key, value)


def _derive_organization_code(unit: Unit, values: dict) -> None:
    """A new credit code brings its organisation code along, unless one was given or the stored one is not the
    old credit code's (a legacy record's own, which ``_check_codes_agree`` then compares)."""
    if not values.get("credit_code") or values.get("organization_code"):
        return
    derived_before = organization_code_of(unit.credit_code) if unit.credit_code else None
    if unit.organization_code is None or unit.organization_code == derived_before:
        values["organization_code"] = organization_code_of(values["credit_code"])


def _check_head_counts(unit: Unit, values: dict) -> dict[str, list[str]]:
    counts = {count: values[count] if count in values else getattr(unit, count) for count in HEAD_COUNTS}
    errors = {count: ["not negative"] for count, value in counts.items() if value is not None and value < 0}
    if counts["employees"] is not None and "employees" not in errors:
        for count in ("women", "dispatched", "migrant_workers"):
            value = counts[count]
            if value is not None and count not in errors and value > counts["employees"]:
                errors[count] = [f"at most the number of employees ({counts['employees']})"]
    return errors


def _check_codes_agree(unit: Unit, values: dict) -> dict[str, list[str]]:
    """A credit code holds the organisation code: two that differ are a typing mistake in one of them."""
    credit = values["credit_code"] if "credit_code" in values else unit.credit_code
    organization_code = values["organization_code"] if "organization_code" in values else unit.organization_code
    if not credit or not organization_code or ("credit_code" not in values and "organization_code" not in values):
        return {}
    inside = organization_code_of(credit)
    if inside is not None and inside != organization_code:
        return {"organization_code": [f"the credit code {credit} holds the organisation code {inside}"]}
    return {}


def _check_codes_free(session: Session, unit: Unit, values: dict) -> None:
    taken = {}
    for code in CODES:
        value = values.get(code)
        if value and value != getattr(unit, code):
            column = getattr(Unit, code)
            other = session.scalar(sa.select(Unit.id).where(column == value, Unit.id != (unit.id or 0)))
            if other is not None:
                taken[code] = ["another unit has it"]
    if taken:
        raise Conflict("another unit is registered with this code", errors=taken)
