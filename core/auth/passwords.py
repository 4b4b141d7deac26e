"""Passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended setting) and the policy a
new password must meet."""
from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.models.user import User

MIN_LENGTH = 8
MAX_LENGTH = 128

_hasher = PasswordHasher()

#: What is wrong with a new password, in the words of the API (English) and of the pages (Chinese).
PROBLEMS = {
    "too_short": (f"at least {MIN_LENGTH} characters", f"至少 {MIN_LENGTH} 个字符"),
    "too_long": (f"at most {MAX_LENGTH} characters", f"至多 {MAX_LENGTH} 个字符"),
    "too_simple": ("mix at least two of letters, digits and symbols", "须包含字母、数字、符号中的至少两类"),
    "is_username": ("must not be the user name", "不能与用户名相同"),
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    """Check ``password``; an old-parameter hash is replaced by a current one on the way."""
    if not user.password_hash:
        waste_time(password)
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no such account")


def waste_time(password: str) -> None:
    """Take as long as a real check, so an unknown user name cannot be told from a wrong password by timing."""
    try:
        _hasher.verify(_dummy_hash(), password)
    except VerificationError:
        pass


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
