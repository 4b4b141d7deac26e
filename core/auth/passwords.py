"""Passwords: argon2id hashes and the policy a new password must meet.

The cost is the setting ``GONGHUI_PASSWORD_HASHING``: ``rfc9106-low-memory`` (the default: argon2-cffi's defaults,
RFC 9106's second recommended setting, 64 MiB and 3 passes) in every deployment. ``fast-for-tests`` (8 KiB, one
pass) is for the test kit only, where thousands of hashes would otherwise take minutes. A hash made under other
parameters still verifies and is replaced by one under the deployment's at the next sign-in.
"""
from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

from core.models.user import User

MIN_LENGTH = 8
MAX_LENGTH = 128

DEFAULT_HASHING = "rfc9106-low-memory"
HASHING = {
    DEFAULT_HASHING: {},  # argon2-cffi's defaults: time_cost 3, memory_cost 65536 KiB, parallelism 4
    "fast-for-tests": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}


@functools.lru_cache(maxsize=None)
def _hasher_for(name: str) -> PasswordHasher:
    return PasswordHasher(**HASHING[name])


def _hasher() -> PasswordHasher:
    name = current_app.extensions["gonghui"].settings.password_hashing if has_app_context() else DEFAULT_HASHING
    return _hasher_for(name)

#: What is wrong with a new password, in the words of the API (English) and of the pages (Chinese).
PROBLEMS = {
    "too_short": (f"at least {MIN_LENGTH} characters", f"至少 {MIN_LENGTH} 个字符"),
    "too_long": (f"at most {MAX_LENGTH} characters", f"至多 {MAX_LENGTH} 个字符"),
    "too_simple": ("mix at least two of letters, digits and symbols", "须包含字母、数字、符号中的至少两类"),
    "is_username": ("must not be the user name", "不能与用户名相同"),
}


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(user: User, password: str) -> bool:
    """Check ``password``; an old-parameter hash is replaced by a current one on the way."""
    if not user.password_hash:
        waste_time(password)
        return False
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


@functools.lru_cache(maxsize=None)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("no such account")


def waste_time(password: str) -> None:
    """Take as long as a real check, so an unknown user name cannot be told from a wrong password by timing."""
    hasher = _hasher()
    try:
        hasher.verify(_dummy_hash(hasher), password)
    except VerificationError:
        pass


#: The characters of a one-time password: no 0/O, 1/l/I, so it can be read out over the phone.
_ONE_TIME_LETTERS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
_ONE_TIME_DIGITS = "23456789"


def one_time_password() -> str:
    """A random password an admin hands to a user (a new account, a reset): 12 characters, letters and digits,
    about 70 bits; it meets the policy, and the user changes it after signing in."""
    alphabet = _ONE_TIME_LETTERS + _ONE_TIME_DIGITS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(12))
        if not password_problems(candidate):
            return candidate


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Keys of ``PROBLEMS`` that ``password`` has; [] for a good one."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    classes = (any(c.isalpha() for c in password), any(c.isdigit() for c in password),
               any(not c.isalnum() for c in password))
    if sum(classes) < 2:
        problems.append("too_simple")
    if username and password.strip().lower() == username.lower():
        problems.append("is_username")
    return problems
