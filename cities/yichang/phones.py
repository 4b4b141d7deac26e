"""Releasing a phone number bound to another person (解除手机号绑定).

Screening refuses an applicant whose phone another person of the tenant holds (a family phone typed into an
imported record, a number handed on by the carrier): the texts of one would reach the other. A county admin
checks who the number belongs to and releases it from the others. The owner is the person whose account proved
the number by SMS code at sign-up, unless the admin names another; everyone else holding it in the admin's area
loses it, on record (``yichang.phone.release``), with no SMS: the number is exactly what is in doubt.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from core.toolkit import WHOLE_TENANT, Person, User, audit, mask_phone, people


@dataclass(frozen=True)
class ReleasedPerson:
    person_id: int
    name: str
    #: The union of their newest membership ("" for someone who never had one).
    organization: str


@dataclass(frozen=True)
class Release:
    masked_phone: str
    kept_person_id: int | None
    people: list[ReleasedPerson]


def owner_of(session, phone_index: str) -> int | None:
    """The person linked to the active account that proved this number (one account per number and tenant)."""
    return session.scalar(sa.select(User.person_id).where(User.phone_index == phone_index, User.active.is_(True)))


def release(session, *, phone: str, roots: tuple[str, ...], actor, keep_person_id: int | None = None) -> Release:
    """Clear ``phone`` from every person holding it whose home union (``people.home``) is inside ``roots`` (the
    caller's subtrees; ``WHOLE_TENANT`` for all, people with no membership included), except the owner."""
    number = people.normalise_phone(phone)
    index = people.phone_index(number)
    kept = keep_person_id if keep_person_id is not None else owner_of(session, index)
    holders = sa.select(Person).where(Person.phone_index == index).order_by(Person.id)
    if kept is not None:
        holders = holders.where(Person.id != kept)
    released = []
    for person in session.scalars(holders).all():
        home = people.home(session, person)
        if not _covers(roots, home.path if home is not None else None):
            continue
        people.update(session, person, {"phone": None}, actor=actor)
        audit.record(session, "yichang.phone.release", obj=person, before={"phone": mask_phone(number)},
                     after={"phone": None, "kept_person_id": kept}, actor=actor,
                     scope=home.path if home is not None else None)
        released.append(ReleasedPerson(person.id, person.name, home.name if home is not None else ""))
    return Release(mask_phone(number), kept, released)


def _covers(roots: tuple[str, ...], path: str | None) -> bool:
    if roots == WHOLE_TENANT:
        return True
    return path is not None and any(path.startswith(root) for root in roots)
