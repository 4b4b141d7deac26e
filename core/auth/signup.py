"""Workers sign themselves up (职工自助注册): real name, ID number, a phone proved by a code sent by SMS, then a
password or sign-in by SMS code alone. The new account is linked to the registry's person with that ID number
(``User.person_id``), and the person is registered when the number is new.

Two steps, as on the page: ``check_applicant`` then ``send_code`` (the code goes through the tenant's SMS
gateway, by the outbox, as sign-in codes do), then ``sign_up`` with the code. Sending shares the sign-in codes'
limits per phone and per address (``core.auth.login``), so mixing the two forms sends no more texts. Between the
steps the visitor's web session keeps a ``SentCode``: no personal data, the code only as a keyed hash. Its wrong
tries and its single use are counted in the database (a ``login_throttle`` row per code), so replaying an old
cookie gains nothing.

Refused, each naming the field: an ID number whose person has an account already; a phone that is another
person's, or another account's; a name that is not the registry's for that ID number; for a person on record
with a phone, any other phone (whoever knows a name and an ID number must not read that person's data). These
refusals say what the registry holds, so they are told only to someone holding a valid code for the phone, and
each one costs a try of that code: probing the registry takes a text message per ``login.CODE_ATTEMPTS`` probes,
within the SMS limits.
"""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, id_numbers, outbox
from core.auth import accounts, login, passwords
from core.db import utcnow
from core.errors import Conflict, DomainError, InvalidInput
from core.models.person import Person
from core.models.user import User
from core.registry import people

CODE_TEMPLATE = "core.sign_up_code"
CODE_TEXT = "您的注册验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。"
#: The ``login_throttle`` kind whose row per code counts its tries (``key``: the code's salt).
CODE_KIND = "sign_up_code"
#: Where a self-registered person came from, in the audit trail.
SOURCE = "self_registration"


@dataclass(frozen=True)
class Applicant:
    """What the sign-up form said, checked: the registry's person with that ID number, if any."""

    name: str
    id_number: id_numbers.IdNumber
    phone: str
    person: Person | None


@dataclass(frozen=True)
class SentCode:
    """What the browser keeps between sending the code and signing up."""

    phone_index: str
    salt: str
    code_hash: str
    expires_at: str  # ISO, UTC

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data) -> "SentCode | None":
        try:
            return cls(**{key: str(data[key]) for key in ("phone_index", "salt", "code_hash", "expires_at")})
        except (KeyError, TypeError):
            return None


def check_applicant(session: Session, *, name: str, id_number: str, phone: str) -> Applicant:
    """The applicant if every field is well formed; otherwise ``InvalidInput`` with ``errors`` by field
    (``name``, ``id_number``, ``phone``). What the registry says about them is ``refusal``'s."""
    name = (name or "").strip()
    errors = people.field_errors({"name": name})
    parsed = _collect(errors, lambda: id_numbers.parse(id_number))
    phone = _collect(errors, lambda: accounts.normalize_phone(phone))
    if errors:
        raise InvalidInput("the sign-up form has fields that are not valid", errors=errors)
    person = session.scalar(sa.select(Person).where(Person.id_number_index == people.id_number_index(parsed.number)))
    return Applicant(name, parsed, phone, person)


def refusal(session: Session, applicant: Applicant) -> DomainError | None:
    """Why the registry refuses ``applicant`` an account (a ``Conflict`` or ``InvalidInput`` naming the field),
    or None."""
    try:
        if applicant.person is not None:
            _refuse_claimed(session, applicant.person, applicant.name, applicant.phone)
        _refuse_phone_elsewhere(session, applicant.phone, applicant.person)
    except DomainError as error:
        return error
    return None


def _collect(errors: dict, read):
    try:
        return read()
    except InvalidInput as error:
        errors.update(error.errors)
        return None


def _refuse_claimed(session: Session, person: Person, name: str, phone: str) -> None:
    if session.scalar(sa.select(User.id).where(User.person_id == person.id)) is not None:
        raise Conflict("this ID number has an account already: sign in, or ask your union to reset it",
                       code="already_signed_up", errors={"id_number": ["has an account already"]})
    if person.name != name:
        raise InvalidInput("the name is not the one on record for this ID number",
                           errors={"name": ["not the name on record for this ID number"]})
    if person.phone and person.phone != phone:
        raise Conflict("the phone is not the one on record for this ID number", code="phone_differs",
                       errors={"phone": ["not the phone on record: use that one, or ask your union to change it"]})


def _refuse_phone_elsewhere(session: Session, phone: str, person: Person | None) -> None:
    index = accounts.phone_index(phone)
    others = sa.select(Person.id).where(Person.phone_index == index)
    if person is not None:
        others = others.where(Person.id != person.id)
    if accounts.find_by_phone(session, phone) is not None or session.scalar(others.limit(1)) is not None:
        raise Conflict("this phone belongs to another account or person", code="phone_taken",
                       errors={"phone": ["belongs to another account or person here"]})


def send_code(session: Session, own: login.UnitOfWork, *, tenant_id: int, applicant: Applicant,
              address: str) -> SentCode:
    """Text a sign-up code to the applicant's phone (through the outbox, in ``session``'s transaction). Raises
    ``TooManyAttempts`` when the phone or the address must wait."""
    index, now = accounts.phone_index(applicant.phone), utcnow()
    login.count_code_sent(own, tenant_id, index, address, now)
    code = "".join(secrets.choice("0123456789") for _ in range(login.CODE_DIGITS))
    salt = secrets.token_hex(8)
    minutes = int(login.CODE_LIFETIME.total_seconds() // 60)
    outbox.send_sms(session, phone=applicant.phone, text=CODE_TEXT.format(code=code, minutes=minutes),
                    dedupe_key=f"sign_up_code:{salt}", template=CODE_TEMPLATE,
                    params={"code": code, "minutes": minutes})
    return SentCode(index, salt, login.code_hash(salt, code), (now + login.CODE_LIFETIME).isoformat())


def _spend_code(own: login.UnitOfWork, tenant_id: int, sent: SentCode | None, phone: str, code: str,
                address: str, refused: DomainError | None) -> None:
    """Accept ``code`` once, for the phone it was sent to, before it expires, within ``login.CODE_ATTEMPTS``
    tries; a wrong try counts against the address like a wrong password. With the right code, ``refused`` (the
    registry's refusal) is raised, and costs a try instead of spending the code: the applicant may correct a
    field and try again."""
    wrong = login.WrongCredentials(login.gettext("The code is wrong or has expired; ask for a new one."))
    if sent is None or sent.phone_index != accounts.phone_index(phone):
        raise wrong
    now = utcnow()
    with own() as counting:
        login.check_address_wait(counting, tenant_id, address)
        row = login.throttles(counting, tenant_id, [(CODE_KIND, sent.salt)])[CODE_KIND]
        matches = (row.events < login.CODE_ATTEMPTS and dt.datetime.fromisoformat(sent.expires_at) > now
                   and hmac.compare_digest(login.code_hash(sent.salt, (code or "").strip()), sent.code_hash))
        spent = matches and refused is None
        row.events, row.last_event_at = (login.CODE_ATTEMPTS if spent else row.events + 1), now
        if not matches:
            login.record_address_failure(counting, tenant_id, address)
    if not matches:
        raise wrong
    if refused is not None:
        raise refused


def check_sign_in(username: str, password: str) -> str:
    """The user name of an account with a password (both given), or "" for sign-in by SMS code only (both
    empty). ``InvalidInput`` naming ``username`` or ``password`` otherwise."""
    username = accounts.normalize_username(username)
    if not username and not password:
        return ""
    if not password:
        raise InvalidInput("choose a password, or leave the user name empty",
                           errors={"password": ["required with a user name"]})
    if not accounts.USERNAME.match(username):
        raise InvalidInput("not a user name", errors={"username": ["2–64 letters, digits, '.', '_', '@' or '-'"]})
    problems = passwords.password_problems(password, username=username)
    if problems:
        raise InvalidInput("the password is too weak",
                           errors={"password": [passwords.PROBLEMS[p][0] for p in problems]})
    return username


def sign_up(session: Session, own: login.UnitOfWork, *, tenant_id: int, applicant: Applicant,
            sent: SentCode | None, code: str, username: str = "", password: str = "", address: str) -> User:
    """The new account of ``applicant``, if ``code`` is the one sent to their phone: with ``username`` and
    ``password``, or (both empty) for sign-in by SMS code alone. Linked to their person, registered now when the
    ID number is new. Audited (``user.sign_up``). The caller then signs the user in."""
    username = check_sign_in(username, password)
    if username and session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"the user name {username!r} is taken", errors={"username": ["taken"]})
    _spend_code(own, tenant_id, sent, applicant.phone, code, address, refusal(session, applicant))
    user = User(username=username or _sms_only_username(session), display_name=applicant.name, active=True,
                is_platform_admin=False, session_epoch=0, phone=applicant.phone,
                phone_index=accounts.phone_index(applicant.phone))
    if password:
        user.password_hash = passwords.hash_password(password)
    session.add(user)
    _flush(session)
    person = applicant.person
    if person is None:
        person = people.create(session, id_number=applicant.id_number.number, name=applicant.name,
                               phone=applicant.phone, actor=user)
    elif not person.phone:
        people.update(session, person, {"phone": applicant.phone}, actor=user)
    user.person_id = person.id
    _flush(session)
    audit.record(session, "user.sign_up", obj=user, actor=user, after=accounts.snapshot(user) | {
        "person_id": person.id, "person": "registered" if applicant.person is None else "on record",
        "source": SOURCE, "sign_in": "password" if password else "sms"})
    return user


def _sms_only_username(session: Session) -> str:
    """A user name nobody chose (it signs in by SMS code): not the phone, which lists would show."""
    while True:
        candidate = f"sms-{secrets.token_hex(4)}"
        if session.scalar(sa.select(User.id).where(User.username == candidate)) is None:
            return candidate


def _flush(session: Session) -> None:
    """Two sign-ups for one phone or one person at the same moment meet the unique keys here."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("this phone or ID number has just been signed up", code="already_signed_up",
                       errors={"phone": ["has an account already"]}) from None
