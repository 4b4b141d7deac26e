"""Signing in with a password or a one-time SMS code, and the limits that make guessing useless.

Counts live in the database (``login_throttle``, per tenant), so every process of a deployment sees the same
numbers, on SQLite and PostgreSQL alike. An attempt is counted as a failure *before* the password is checked
and forgiven when it succeeds, in a transaction of its own that commits whatever the request does next; so
parallel guesses cannot slip past a limit, and a refused attempt still counts.

Three counts per password attempt:

- the account (the user name, whether or not it exists, so a lock says nothing about who has an account):
  ``LOCK_AFTER`` wrong passwords in a row lock password sign-in for ``FIRST_LOCK``, each further lock twice as
  long up to ``MAX_LOCK``; a successful sign-in clears it, and so can an admin;
- the address on that account: after ``PAIR.free`` failures each further attempt waits, 1 s, 2 s, 4 s ... up to
  15 minutes. Attempts on a locked account count here too, so everyone hammering it is slowed;
- the address on all accounts (password spraying): the same, from ``ADDRESS.free`` failures.

Other accounts are not touched: an address that is slowed on one account signs in to another at once until
it has failed ``ADDRESS.free`` times in all.
"""
from __future__ import annotations

import datetime as dt
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from typing import Callable, ContextManager

import sqlalchemy as sa
from flask import has_request_context
from flask_babel import gettext as _babel_gettext
from sqlalchemy.orm import Session

from core import audit, crypto, outbox, tenancy
from core.auth import passwords
from core.auth.accounts import ADMIN_ROLES, find_by_phone, normalize_phone, normalize_username, phone_index
from core.db import insert_or_skip, utcnow
from core.errors import DomainError, Forbidden, Unauthorized
from core.jobs import actor
from core.models.login import LoginCode, LoginThrottle
from core.models.user import User

log = logging.getLogger(__name__)

#: A transaction of its own, committed when the block ends (``core.app.unit_of_work`` in a request).
UnitOfWork = Callable[[], ContextManager[Session]]


@dataclass(frozen=True)
class Limit:
    """``free`` events are let through; after that each event makes the next one wait, twice as long each time.
    The count is forgotten after ``window`` without an event."""

    free: int
    window: dt.timedelta
    first_wait: dt.timedelta
    max_wait: dt.timedelta

    def wait_after(self, events: int) -> dt.timedelta | None:
        if events < self.free:
            return None
        return min(self.first_wait * 2 ** min(events - self.free, 30), self.max_wait)


_S, _M, _H = dt.timedelta(seconds=1), dt.timedelta(minutes=1), dt.timedelta(hours=1)
LOCK_AFTER = 10
ACCOUNT_WINDOW = _H
FIRST_LOCK = 15 * _M
MAX_LOCK = 24 * _H
#: Locks are forgotten (the next one is short again) after this long without a failure.
LOCKS_REMEMBERED = 24 * _H
PAIR = Limit(free=5, window=15 * _M, first_wait=_S, max_wait=15 * _M)
ADDRESS = Limit(free=100, window=15 * _M, first_wait=_S, max_wait=15 * _M)
#: Codes to one phone: a minute after the first, then 2, 4, 8 ... minutes, at most an hour: about 6 an hour.
SMS_PHONE = Limit(free=1, window=_H, first_wait=_M, max_wait=_H)
#: Codes asked for from one address, whatever the phone.
SMS_ADDRESS = Limit(free=10, window=_H, first_wait=_M, max_wait=_H)
CODE_DIGITS = 6
CODE_LIFETIME = 5 * _M
CODE_ATTEMPTS = 5
CODE_TEMPLATE = "core.login_code"
CODE_TEXT = "您的登录验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。"
#: China has one time zone and no daylight saving time: what a person is told is Beijing time.
BEIJING = dt.timezone(dt.timedelta(hours=8))


# --- what a refused attempt says (pages show ``message``) -------------------------------------------------------


def gettext(message: str, **params) -> str:
    """``message`` (an English message id) in the language of the request's caller (zh_CN by default,
    core/translations); outside a request (a CLI command, a test calling the function) it stays English."""
    if has_request_context():
        return _babel_gettext(message, **params)
    return message % params if params else message


def _duration(seconds: int) -> str:
    if seconds < 60:
        return gettext("%(n)s seconds", n=seconds)
    return gettext("%(n)s minutes", n=math.ceil(seconds / 60))


class TooManyAttempts(DomainError):
    """Slowed down: try again after ``retry_after`` seconds (the ``Retry-After`` header)."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, wait: dt.timedelta, message: str = ""):
        self.retry_after = max(1, math.ceil(wait.total_seconds()))
        super().__init__(message or gettext("Too many attempts; try again in %(wait)s.",
                                            wait=_duration(self.retry_after)))


class AccountLocked(TooManyAttempts):
    code = "account_locked"

    def __init__(self, until: dt.datetime, now: dt.datetime):
        self.until = until
        local = until.replace(tzinfo=dt.timezone.utc).astimezone(BEIJING)
        wait = until - now
        super().__init__(wait, gettext(
            "Too many wrong passwords: signing in to this account with its password is locked until %(time)s "
            "(in about %(wait)s). Chairmen and members may sign in with an SMS code instead, or ask an "
            "administrator to unlock the account.",
            time=f"{local:%H:%M}", wait=_duration(max(1, math.ceil(wait.total_seconds())))))


class WrongCredentials(Unauthorized):
    code = "wrong_credentials"

    def __init__(self, message: str, left: int | None = None):
        self.left = left
        if left is not None and left <= 3:
            message += gettext(" %(left)s more wrong tries and this account will be locked for a while.", left=left)
        super().__init__(message)


class AccountInactive(Forbidden):
    code = "account_inactive"


# --- the counts ---------------------------------------------------------------------------------------------------


def _tenant_is(tenant_id: int | None):
    return LoginThrottle.tenant_id.is_(None) if tenant_id is None else LoginThrottle.tenant_id == tenant_id


def throttles(session: Session, tenant_id: int | None, keys: list[tuple[str, str]]) -> dict[str, LoginThrottle]:
    """The rows of ``keys`` (``(kind, key)``), made if missing and locked for this transaction, by kind."""
    keys = sorted({(kind, key[:200]) for kind, key in keys})  # one order everywhere: no deadlock between two
    session.execute(
        insert_or_skip(LoginThrottle, session.get_bind().dialect.name)
        .values([{"tenant_id": tenant_id, "kind": kind, "key": key, "events": 0, "lockouts": 0} for kind, key in keys])
        .on_conflict_do_nothing()
    )
    rows = session.scalars(
        sa.select(LoginThrottle)
        .where(_tenant_is(tenant_id), sa.or_(*[(LoginThrottle.kind == k) & (LoginThrottle.key == v) for k, v in keys]))
        .order_by(LoginThrottle.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.kind: row for row in rows}


def _forget_if_quiet(row: LoginThrottle, window: dt.timedelta, now: dt.datetime) -> None:
    if row.last_event_at is not None and now - row.last_event_at > window:
        row.events = 0


def _blocked(row: LoginThrottle, now: dt.datetime) -> dt.timedelta | None:
    return row.blocked_until - now if row.blocked_until is not None and row.blocked_until > now else None


def _count(row: LoginThrottle, limit: Limit, now: dt.datetime) -> None:
    _forget_if_quiet(row, limit.window, now)
    row.events += 1
    row.last_event_at = now
    wait = limit.wait_after(row.events)
    row.blocked_until = now + wait if wait else None


def _password_keys(username: str, address: str) -> list[tuple[str, str]]:
    return [("account", username), ("pair", f"{address} {username}"), ("address", address)]


@dataclass(frozen=True)
class _Attempt:
    refused: TooManyAttempts | None = None
    locks: AccountLocked | None = None
    left: int = LOCK_AFTER


def _begin_password_attempt(session: Session, tenant_id: int | None, username: str, address: str) -> _Attempt:
    """Count the attempt as a failure before the password is checked; refuse it if a count says wait."""
    now = utcnow()
    rows = throttles(session, tenant_id, _password_keys(username, address))
    account, pair, everywhere = rows["account"], rows["pair"], rows["address"]
    for row in (everywhere, pair):
        wait = _blocked(row, now)
        if wait:
            return _Attempt(refused=TooManyAttempts(wait))
    _count(pair, PAIR, now)
    _count(everywhere, ADDRESS, now)
    if _blocked(account, now):
        return _Attempt(refused=AccountLocked(account.blocked_until, now))
    if account.last_event_at is not None and now - account.last_event_at > LOCKS_REMEMBERED:
        account.lockouts = 0
    _forget_if_quiet(account, ACCOUNT_WINDOW, now)
    account.events += 1
    account.last_event_at = now
    left = LOCK_AFTER - account.events
    if left > 0:
        return _Attempt(left=left)
    account.events, account.lockouts = 0, account.lockouts + 1
    account.blocked_until = now + min(FIRST_LOCK * 2 ** min(account.lockouts - 1, 30), MAX_LOCK)
    return _Attempt(locks=AccountLocked(account.blocked_until, now), left=0)


def _forgive_password_attempt(session: Session, tenant_id: int | None, username: str, address: str) -> None:
    """The attempt succeeded: the account and this address on it start afresh; the address's count over all
    accounts only loses this attempt (a success on one account must not wash away guesses at others)."""
    account, pair, everywhere = ((kind, key[:200]) for kind, key in _password_keys(username, address))
    session.execute(
        sa.update(LoginThrottle)
        .where(_tenant_is(tenant_id),
               sa.or_(*[(LoginThrottle.kind == k) & (LoginThrottle.key == v) for k, v in (account, pair)]))
        .values(events=0, blocked_until=None, lockouts=0)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(LoginThrottle)
        .where(_tenant_is(tenant_id), LoginThrottle.kind == everywhere[0], LoginThrottle.key == everywhere[1],
               LoginThrottle.events > 0)
        .values(events=LoginThrottle.events - 1, blocked_until=None)
        .execution_options(synchronize_session=False)
    )


def unlock(session: Session, user: User, *, actor) -> None:
    """Lift the lock on ``user``'s password sign-in (an admin, after checking who is calling)."""
    session.execute(
        sa.update(LoginThrottle)
        .where(_tenant_is(user.tenant_id), LoginThrottle.kind == "account", LoginThrottle.key == user.username)
        .values(events=0, blocked_until=None, lockouts=0)
        .execution_options(synchronize_session=False)
    )
    audit.record(session, "user.unlock", obj=user, actor=actor)


def locked_until(session: Session, tenant_id: int | None, usernames: list[str]) -> dict[str, dt.datetime]:
    """When the password lock of each of these accounts ends, for those locked now."""
    if not usernames:
        return {}
    rows = session.execute(
        sa.select(LoginThrottle.key, LoginThrottle.blocked_until).where(
            _tenant_is(tenant_id), LoginThrottle.kind == "account", LoginThrottle.key.in_(usernames),
            LoginThrottle.blocked_until > utcnow(),
        )
    )
    return dict(rows.all())


def record_address_failure(session: Session, tenant_id: int | None, address: str) -> None:
    """Count a failed try (a wrong password or code) against ``address``."""
    _count(throttles(session, tenant_id, [("address", address)])["address"], ADDRESS, utcnow())


def check_address_wait(session: Session, tenant_id: int | None, address: str) -> None:
    """Raise ``TooManyAttempts`` while ``address`` must wait after too many failed tries."""
    row = session.scalar(sa.select(LoginThrottle).where(
        _tenant_is(tenant_id), LoginThrottle.kind == "address", LoginThrottle.key == address[:200]))
    wait = _blocked(row, utcnow()) if row is not None else None
    if wait:
        raise TooManyAttempts(wait)


def count_code_sent(own: UnitOfWork, tenant_id: int, index: str, address: str, now: dt.datetime) -> None:
    """Count a code texted to the phone whose blind index is ``index``, asked from ``address`` (sign-in and
    sign-up codes share the limits ``SMS_PHONE`` and ``SMS_ADDRESS``), in a transaction of its own so the count
    holds whatever follows; raise ``TooManyAttempts`` instead, counting nothing, while either must wait."""
    with own() as counting:
        rows = throttles(counting, tenant_id, [("sms_phone", index), ("sms_address", address)])
        wait = max((w for w in (_blocked(rows["sms_phone"], now), _blocked(rows["sms_address"], now)) if w),
                   default=None)
        if wait is None:
            _count(rows["sms_phone"], SMS_PHONE, now)
            _count(rows["sms_address"], SMS_ADDRESS, now)
    if wait is not None:
        raise TooManyAttempts(wait)


# --- signing in ---------------------------------------------------------------------------------------------------


def _user_named(session: Session, tenant_id: int | None, username: str) -> User | None:
    query = sa.select(User).where(User.username == username)
    if tenant_id is None:
        query = query.where(User.tenant_id.is_(None))
    return session.scalar(query)


def complete_sign_in(session: Session, user: User, method: str) -> None:
    """Record a successful sign-in (last login; the audit trail names the method). The caller then starts the
    web session (``core.auth.sign_in``)."""
    session.execute(
        sa.update(User).where(User.id == user.id).values(last_login_at=utcnow())
        .execution_options(synchronize_session=False)  # not a change an admin editing the user should collide with
    )
    audit.record(session, "user.sign_in", obj=user, after={"method": method}, actor=user)


def sign_in_with_password(
    session: Session, own: UnitOfWork, *, tenant_id: int | None, username: str, password: str, address: str
) -> User:
    """The user ``username`` of this tenant (``tenant_id`` None: a platform admin) if ``password`` is theirs and
    nothing says wait. Raises ``TooManyAttempts``, ``AccountLocked``, ``WrongCredentials`` or
    ``AccountInactive``. Counts are written through ``own``, so they stand whatever the request does."""
    username = normalize_username(username)[:64]
    with own() as counting:
        attempt = _begin_password_attempt(counting, tenant_id, username, address)
    if attempt.refused:
        raise attempt.refused
    user = _user_named(session, tenant_id, username)
    if user is None:
        passwords.waste_time(password)
    if user is None or not passwords.verify_password(user, password):
        if attempt.locks:
            raise attempt.locks
        raise WrongCredentials(gettext("Wrong username or password."), attempt.left)
    if not user.active:
        raise AccountInactive(gettext("This account is deactivated; ask an administrator."))
    _forgive_password_attempt(session, tenant_id, username, address)
    complete_sign_in(session, user, "password")
    return user


def check_current_password(session: Session, own: UnitOfWork, user: User, password: str, address: str) -> None:
    """For a signed-in user confirming who they are (changing the password): the same counts as signing in, so a
    stolen session cannot be used to guess the password."""
    with own() as counting:
        attempt = _begin_password_attempt(counting, user.tenant_id, user.username, address)
    if attempt.refused:
        raise attempt.refused
    if not passwords.verify_password(user, password):
        if attempt.locks:
            raise attempt.locks
        raise WrongCredentials(gettext("The current password is not right."), attempt.left)
    _forgive_password_attempt(session, user.tenant_id, user.username, address)


# --- one-time codes by SMS ----------------------------------------------------------------------------------------


def may_use_codes(user: User) -> bool:
    """Workers, chairmen and operators sign in with a code; admins, whose reach is wider, need their password."""
    return user.active and not user.is_platform_admin and not any(g.role in ADMIN_ROLES for g in user.grants)


def code_hash(salt: str, code: str) -> str:
    """What is kept of a texted code: its keyed hash with ``salt``, never the code."""
    return crypto.blind_index("login_code", f"{salt}:{code}")


def send_sign_in_code(session: Session, own: UnitOfWork, *, tenant_id: int, phone: str, address: str) -> None:
    """Text a sign-in code to ``phone`` if it belongs to a user who may use codes; say nothing either way (the
    page always answers "if the number is registered, a code was sent"). Raises ``InvalidInput`` for a number
    that is not a mobile number and ``TooManyAttempts`` when the phone or the address must wait."""
    phone = normalize_phone(phone)
    index = phone_index(phone)
    now = utcnow()
    count_code_sent(own, tenant_id, index, address, now)
    user = find_by_phone(session, phone)
    if user is None or not may_use_codes(user):
        return
    session.execute(
        sa.update(LoginCode).where(LoginCode.phone_index == index, LoginCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    )
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    salt = secrets.token_hex(8)
    row = LoginCode(user_id=user.id, phone_index=index, salt=salt, code_hash=code_hash(salt, code),
                    created_at=now, expires_at=now + CODE_LIFETIME, attempts=0)
    session.add(row)
    session.flush()
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    outbox.send_sms(session, phone=phone, text=CODE_TEXT.format(code=code, minutes=minutes),
                    dedupe_key=f"login_code:{row.id}", template=CODE_TEMPLATE,
                    params={"code": code, "minutes": minutes})


def sign_in_with_code(
    session: Session, own: UnitOfWork, *, tenant_id: int, phone: str, code: str, address: str
) -> User:
    """The user a valid, unused, unexpired ``code`` was sent to. Each code takes ``CODE_ATTEMPTS`` tries; a
    wrong one counts against the address like a wrong password. Raises ``WrongCredentials`` or
    ``TooManyAttempts``."""
    phone = normalize_phone(phone)
    check_address_wait(session, tenant_id, address)
    index, now, code = phone_index(phone), utcnow(), (code or "").strip()
    with own() as counting:
        current = counting.scalar(
            sa.select(LoginCode)
            .where(LoginCode.phone_index == index, LoginCode.used_at.is_(None), LoginCode.expires_at > now,
                   LoginCode.attempts < CODE_ATTEMPTS)
            .order_by(LoginCode.id.desc()).limit(1).with_for_update()
        )
        matches = current is not None and hmac.compare_digest(code_hash(current.salt, code), current.code_hash)
        if current is not None:
            current.attempts += 1
        if not matches:
            record_address_failure(counting, tenant_id, address)
        code_id = current.id if matches else None
    if code_id is None:
        raise WrongCredentials(gettext("The code is wrong or has expired; ask for a new one."))
    used = session.execute(
        sa.update(LoginCode).where(LoginCode.id == code_id, LoginCode.used_at.is_(None)).values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    user = session.scalar(sa.select(User).where(User.id == current.user_id))
    if used.rowcount != 1 or user is None or not may_use_codes(user):
        raise WrongCredentials(gettext("The code is wrong or has expired; ask for a new one."))
    complete_sign_in(session, user, "sms")
    return user


# --- forgetting ---------------------------------------------------------------------------------------------------

#: A count nobody has added to for this long starts from zero anyway (the longest window, and how long locks
#: are remembered), so its row says nothing any more.
FORGET_AFTER = max(LOCKS_REMEMBERED, ACCOUNT_WINDOW, PAIR.window, ADDRESS.window, SMS_PHONE.window, SMS_ADDRESS.window)
#: How often ``core.forget_sign_in_state`` runs (core's own schedule, once for every tenant: ``core.jobs``).
FORGET_EVERY_SECONDS = 3600


def forget_stale_state(session: Session, now: dt.datetime | None = None) -> tuple[int, int]:
    """Delete sign-in codes past their expiry and counts that no longer hold anything back, in every tenant and
    the platform; return how many of each. A count still blocking someone, or remembering a recent lock, stays."""
    now = now or utcnow()
    with tenancy.platform_scope("sign-in clean-up covers every tenant"):
        codes = session.execute(
            sa.delete(LoginCode).where(LoginCode.expires_at < now).execution_options(synchronize_session=False)
        ).rowcount
        counts = session.execute(
            sa.delete(LoginThrottle)
            .where(sa.or_(LoginThrottle.last_event_at.is_(None), LoginThrottle.last_event_at < now - FORGET_AFTER),
                   sa.or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now))
            .execution_options(synchronize_session=False)
        ).rowcount
    return codes, counts


@actor("core.forget_sign_in_state", max_retries=0)
def forget_sign_in_state(session: Session, tenant) -> None:
    codes, counts = forget_stale_state(session)
    if codes or counts:
        log.info("sign-in clean-up: %d expired codes and %d stale counts deleted", codes, counts)
