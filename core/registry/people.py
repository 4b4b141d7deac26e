"""People (职工、会员): register, correct, find by ID number, reveal a full ID number on record, export a person's
own data.

The ID number and the phone are stored encrypted and found through their blind indexes; lists, logs and the
audit trail only ever see them masked. Whoever sees a full ID number leaves a ``read.id_number`` record
(``reveal_id_number``), so a person can be shown who read theirs (``subject_access_export``).

Plain functions: the caller owns the transaction; each change is audited.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, crypto, id_numbers
from core.db import utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.masking import mask_id_number, mask_phone
from core.models.membership import Membership, MembershipEntry
from core.models.organization import Organization
from core.models.person import (
    CONFIRMATIONS,
    EDUCATION_LEVELS,
    EMPLOYMENT_FORMS,
    ETHNICITIES,
    HOUSEHOLD_TYPES,
    Person,
)

#: Fields ``update`` changes besides the ID number; sex and birth date follow the ID number.
EDITABLE = (
    "id_number", "name", "phone", "ethnicity", "education", "political_status", "native_place", "household_type",
    "employment_form", "position", "title", "remarks", "confirmed_via",
)
#: Coded fields and what they may hold.
CODES = {
    "ethnicity": ETHNICITIES,
    "education": EDUCATION_LEVELS,
    "household_type": HOUSEHOLD_TYPES,
    "employment_form": EMPLOYMENT_FORMS,
    "confirmed_via": CONFIRMATIONS,
}
_LENGTHS = {"name": 50, "political_status": 20, "native_place": 50, "position": 50, "title": 50, "remarks": 500}
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_NOISE = re.compile(r"[\s\-()]")


def id_number_index(number: str) -> str:
    """The blind index of an 18-character ID number (``id_numbers.parse(...).number``)."""
    return crypto.blind_index("id_number", number)


def normalise_phone(raw: str, field: str = "phone") -> str:
    """A mainland mobile number as 11 digits: full-width digits, spaces, dashes and a +86 prefix are accepted."""
    digits = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", raw or ""))
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    if not _MOBILE.match(digits):
        raise InvalidInput(f"{field}: not a mainland mobile number", errors={
            field: ["a mainland mobile number: 11 digits, 13 to 19 first"]})
    return digits


def phone_index(phone: str) -> str:
    """The blind index of a phone, for ``Person.phone_index == phone_index(...)``."""
    return crypto.blind_index("phone", normalise_phone(phone))


def snapshot(person: Person) -> dict:
    """What the audit trail keeps of a person: every field, the ID number and the phone masked."""
    return {
        "id_number": mask_id_number(person.id_number),
        "name": person.name,
        "phone": mask_phone(person.phone) if person.phone else None,
        **{field: getattr(person, field) for field in EDITABLE if field not in ("id_number", "name", "phone")},
        "filled_in_by_user_id": person.filled_in_by_user_id,
    }


# --- find ---------------------------------------------------------------------------------------------------------


def person_by_id(session: Session, person_id: int) -> Person:
    person = session.scalar(sa.select(Person).where(Person.id == person_id))
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


def find_by_id_number(session: Session, id_number: str, *, field: str = "id_number") -> Person | None:
    """The tenant's person with this ID number (typed any way ``id_numbers.parse`` accepts), or None."""
    number = id_numbers.parse(id_number, field=field).number
    return session.scalar(sa.select(Person).where(Person.id_number_index == id_number_index(number)))


#: Built once: the lookup is the registry's hottest path, and building the statement costs more than running it.
_LOOKUP = (
    sa.select(Person, Membership, Organization)
    .outerjoin(Membership, sa.and_(Membership.person_id == Person.id, Membership.status != "ended"))
    .outerjoin(Organization, Organization.id == Membership.organization_id)
    .where(Person.id_number_index == sa.bindparam("index"))
)


@dataclass(frozen=True)
class Found:
    person: Person
    #: The current membership (active or retained), or None.
    membership: Membership | None
    organization: Organization | None


def lookup(session: Session, id_number: str) -> Found:
    """The person with this ID number and their current membership, with its organization. NotFound if none.

    One query, one round trip: the person by the blind index (a unique B-tree), the current membership by
    ``(tenant_id, person_id)``, its organization by primary key."""
    number = id_numbers.parse(id_number).number
    row = session.execute(_LOOKUP, {"index": id_number_index(number)}).first()
    if row is None:
        raise NotFound("no person with this ID number", errors={"id_number": ["not registered"]})
    return Found(*row)


def home(session: Session, person: Person) -> Organization | None:
    """The organization of the person's newest membership: the current one, or the last one they had. Whoever
    may act on that organization may act on the person (``core.api.people``)."""
    return session.scalar(
        sa.select(Organization)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.person_id == person.id)
        .order_by(Membership.id.desc())
        .limit(1)
    )


def newest_membership_ids() -> sa.Select:
    """The id of each person's newest membership, as a subquery for scoped lists."""
    return sa.select(sa.func.max(Membership.id)).group_by(Membership.person_id)


# --- reveal, export -----------------------------------------------------------------------------------------------


def reveal_id_number(session: Session, person: Person, *, actor) -> str:
    """The full ID number, for someone allowed to see it; the read is recorded (``read.id_number``)."""
    audit.record_read(session, person, "id_number", actor)
    return person.id_number


def subject_access_export(session: Session, person: Person, *, actor) -> dict:
    """Everything held about ``person`` (PIPL art. 45, 个人信息查阅复制): the record in full, every membership and
    ledger entry, and every read of the full ID number, this one included."""
    from core.registry import memberships

    reveal_id_number(session, person, actor=actor)
    audit.record(session, "person.export", obj=person, actor=actor)
    names = dict(session.execute(
        sa.select(Organization.id, Organization.name)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.person_id == person.id)
    ).all())
    return {
        "exported_at": utcnow().isoformat(timespec="seconds") + "Z",
        "person": {
            "id": person.id,
            "id_number": person.id_number,
            "sex": person.sex,
            "birth_date": person.birth_date.isoformat(),
            "phone": person.phone,
            **{field: getattr(person, field) for field in EDITABLE if field not in ("id_number", "phone")},
            "filled_in_by_user_id": person.filled_in_by_user_id,
            "created_at": person.created_at.isoformat(timespec="seconds") + "Z",
            "updated_at": person.updated_at.isoformat(timespec="seconds") + "Z",
        },
        "memberships": [
            {**memberships.view(m), "organization_name": names.get(m.organization_id, "")}
            for m in memberships.history(session, person)
        ],
        "ledger": [
            {**memberships.entry_view(e), "organization_name": names.get(e.organization_id, "")}
            for e in memberships.ledger(session, person)
        ],
        "id_number_reads": [
            {"at": r.at.isoformat(timespec="seconds") + "Z", "by": r.actor, "by_user_id": r.actor_id,
             "request_id": r.request_id}
            for r in session.scalars(audit.reads_of(person, "id_number"))
        ],
    }


# --- create, update -----------------------------------------------------------------------------------------------


def create(
    session: Session,
    *,
    id_number: str,
    name: str,
    phone: str | None = None,
    filled_in_by=None,
    confirmed_via: str = "",
    actor=None,
    **details: str,
) -> Person:
    """Register a person. ``details`` are the other fields of ``EDITABLE`` (ethnicity, education, ...).
    ``filled_in_by`` (a user) filled the record in on the person's behalf, who confirmed it ``confirmed_via``.

    A second person with the same ID number is a Conflict on ``id_number``."""
    unknown = set(details) - set(EDITABLE)
    if unknown:
        raise InvalidInput("these fields do not exist", errors={key: ["unknown field"] for key in sorted(unknown)})
    fields = {"name": name, "confirmed_via": confirmed_via, **details}
    errors = _field_errors(fields)
    if filled_in_by is not None and not confirmed_via:
        errors["confirmed_via"] = ["required when someone fills the record in on the person's behalf"]
    parsed = _parse_collecting(id_number, errors)
    if phone is not None:
        phone = _phone_collecting(phone, errors)
    if errors:
        raise _invalid(errors)
    _refuse_duplicate(session, parsed.number)
    person = Person(filled_in_by_user_id=getattr(filled_in_by, "id", None))
    _set_id_number(person, parsed)
    _set_phone(person, phone)
    for key, value in fields.items():
        setattr(person, key, value.strip() if isinstance(value, str) else value)
    session.add(person)
    _flush(session)
    audit.record(session, "person.create", obj=person, after=snapshot(person), actor=actor)
    return person


def update(session: Session, person: Person, changes: dict, *, actor=None) -> Person:
    """Change the fields in ``changes`` (keys of ``EDITABLE``; ``phone`` None removes it). A corrected ID number
    re-derives sex and birth date."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput("these fields cannot be changed here", errors={key: ["not editable"] for key in sorted(unknown)})
    plain = {k: v for k, v in changes.items() if k not in ("id_number", "phone")}
    errors = _field_errors(plain)
    parsed = _parse_collecting(changes["id_number"], errors) if "id_number" in changes else None
    phone = changes.get("phone")
    if phone is not None:
        phone = _phone_collecting(phone, errors)
    if errors:
        raise _invalid(errors)
    before = snapshot(person)
    if parsed is not None and parsed.number != person.id_number:
        _refuse_duplicate(session, parsed.number)
        _set_id_number(person, parsed)
    if "phone" in changes:
        _set_phone(person, phone)
    for key, value in plain.items():
        setattr(person, key, value.strip() if isinstance(value, str) else value)
    _flush(session)
    after = snapshot(person)
    if after != before:
        audit.record(session, "person.update", obj=person, before=before, after=after, actor=actor)
    return person


def _invalid(errors: dict[str, list[str]]) -> InvalidInput:
    """One error names its field in the message too (``id_number: the check character should be 7``)."""
    if len(errors) == 1:
        ((field, (problem, *_)),) = errors.items()
        return InvalidInput(f"{field}: {problem}", errors=errors)
    return InvalidInput("the person's record has fields that are not valid", errors=errors)


def field_errors(fields: dict) -> dict[str, list[str]]:
    """What is wrong with ``fields`` (the name, lengths, coded values; not the ID number nor the phone), by field:
    the checks ``create`` and ``update`` make, for bulk paths (imports) that check many rows before writing."""
    return _field_errors(fields)


def _field_errors(fields: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "name" in fields and not (fields["name"] or "").strip():
        errors["name"] = ["required"]
    for key, limit in _LENGTHS.items():
        if len((fields.get(key) or "").strip()) > limit:
            errors[key] = [f"at most {limit} characters"]
    for key, allowed in CODES.items():
        value = fields.get(key)
        if value and value not in allowed:
            shown = ", ".join(allowed) if len(allowed) <= 15 else "a name of GB/T 3304 (汉族, 回族, ...)"
            errors[key] = [f"one of {shown}"]
    return errors


def _parse_collecting(raw: str, errors: dict) -> id_numbers.IdNumber | None:
    try:
        return id_numbers.parse(raw)
    except id_numbers.InvalidIdNumber as error:
        errors.update(error.errors)
        return None


def _phone_collecting(raw: str, errors: dict) -> str | None:
    try:
        return normalise_phone(raw)
    except InvalidInput as error:
        errors.update(error.errors)
        return None


def _refuse_duplicate(session: Session, number: str) -> None:
    if session.scalar(sa.select(Person.id).where(Person.id_number_index == id_number_index(number))) is not None:
        raise _duplicate()


def _duplicate() -> Conflict:
    # The existing person is not named: the caller may not be allowed to see them.
    return Conflict("a person with this ID number is already registered", code="duplicate_id_number",
                    errors={"id_number": ["already registered"]})


def _set_id_number(person: Person, parsed: id_numbers.IdNumber) -> None:
    person.id_number, person.id_number_index = parsed.number, id_number_index(parsed.number)
    person.sex, person.birth_date = parsed.sex, parsed.birth_date


def _set_phone(person: Person, phone: str | None) -> None:
    person.phone = phone or None
    person.phone_index = crypto.blind_index("phone", phone) if phone else None


def _flush(session: Session) -> None:
    """Flush; two people registered with one ID number at the same moment meet the unique key here."""
    try:
        session.flush()
    except IntegrityError as error:
        if "id_number_index" in str(error.orig):
            raise _duplicate() from None
        raise
