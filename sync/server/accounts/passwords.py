"""Password hashing: argon2id with OWASP's recommended parameters (19 MiB, 2 passes,
1 lane: about 30 ms on one core, so a burst of sign-ins does not starve a 2-core
server). A hash made with other parameters is replaced at the next sign-in."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sync.server.accounts.errors import InvalidAccount

MIN_LENGTH = 8
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)  # argon2id by default
# verified against when the username is unknown, so both answers take as long
_DUMMY = _hasher.hash("not a password of anyone")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidAccount(f"密码至少 {MIN_LENGTH} 个字符 / the password needs at least {MIN_LENGTH} characters")
    if password.strip() != password:
        raise InvalidAccount("密码首尾不能是空格 / the password must not begin or end with a space")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches the hash ``stored`` (None: an unknown account;
    the time spent is the same)."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
