"""Sign-in and sessions, kept in the database so every server process shares them.

A session is a random token in an HttpOnly, SameSite=Lax cookie; the database holds
only its SHA-256, with the account, the session's CSRF token, and two clocks: it ends
``idle`` after the last request and ``absolute`` after sign-in, whichever comes first.
"""
from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, Engine, delete, select, update

from sync.server.accounts import lockout
from sync.server.accounts.directory import ACCOUNTS, Account, _account
from sync.server.accounts.errors import LoginRefused
from sync.server.accounts.models import SessionRow
from sync.server.accounts.passwords import needs_rehash, verify_password, _hasher
from sync.server.content import aware, now

SESSIONS = SessionRow.__table__
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(hours=2)
    absolute: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    account: Account
    csrf: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def sign_in(engine: Engine, username: str, password: str, address: str | None,
            policy: lockout.LockoutPolicy = lockout.LockoutPolicy()) -> Account:
    """The account, when the password is right and neither the account nor the address
    is locked out; else :class:`LoginRefused` with one message for every wrong guess."""
    subjects = (lockout.account_subject(username), lockout.address_subject(address))
    with engine.begin() as conn:
        until = max(filter(None, (lockout.locked_until(conn, subjects[0], policy.account_limit, policy),
                                  lockout.locked_until(conn, subjects[1], policy.address_limit, policy))),
                    default=None)
        row = conn.execute(select(ACCOUNTS).where(ACCOUNTS.c.username == username.strip().lower())).first()
    if until is not None:
        minutes = max(1, math.ceil((until - now()).total_seconds() / 60))
        raise LoginRefused(f"登录失败次数过多，请 {minutes} 分钟后再试 / too many failed sign-ins: "
                           f"try again in {minutes} minutes", locked_minutes=minutes)
    good = verify_password(row.password_hash if row is not None else None, password)  # outside any transaction
    with engine.begin() as conn:
        if not good:
            lockout.record_failure(conn, *subjects)
            lockout.forget_old(conn, policy)
        else:
            lockout.clear(conn, subjects[0])
            if needs_rehash(row.password_hash):
                conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == row.id)
                             .values(password_hash=_hasher.hash(password)))
    if not good:
        raise LoginRefused("用户名或密码不正确 / wrong username or password")
    if row.disabled_at is not None:
        raise LoginRefused("此账号已停用，请联系社区管理员 / this account is disabled: ask your community admin")
    return _account(row)


def start_session(conn: Connection, account_id: int, address: str | None) -> tuple[str, str]:
    """A new session for the account: (cookie token, CSRF token)."""
    token, csrf, stamp = new_token(), secrets.token_urlsafe(24), now()
    conn.execute(SESSIONS.insert().values(token_hash=token_hash(token), account_id=account_id, csrf=csrf,
                                          created_at=stamp, last_seen_at=stamp, address=(address or "")[:64]))
    return token, csrf


def session_for(conn: Connection, token: str | None, policy: SessionPolicy = SessionPolicy()) -> Session | None:
    """The live session of cookie ``token`` (None: none, expired or disabled; an
    expired one is deleted). Refreshes its idle clock."""
    if not token:
        return None
    hashed = token_hash(token)
    row = conn.execute(select(SESSIONS.c.csrf, SESSIONS.c.created_at.label("session_started"),
                              SESSIONS.c.last_seen_at.label("session_seen"), ACCOUNTS)
                       .join(ACCOUNTS, ACCOUNTS.c.id == SESSIONS.c.account_id)
                       .where(SESSIONS.c.token_hash == hashed)).first()
    if row is None:
        return None
    stamp = now()
    if (row.disabled_at is not None or aware(row.session_started) + policy.absolute <= stamp
            or aware(row.session_seen) + policy.idle <= stamp):
        conn.execute(delete(SESSIONS).where(SESSIONS.c.token_hash == hashed))
        return None
    if aware(row.session_seen) + TOUCH_EVERY <= stamp:
        conn.execute(update(SESSIONS).where(SESSIONS.c.token_hash == hashed).values(last_seen_at=stamp))
    return Session(account=_account(row), csrf=row.csrf)


def prune_expired(conn: Connection, policy: SessionPolicy = SessionPolicy()) -> int:
    """Delete sessions past either clock (abandoned ones are never looked up again)."""
    stamp = now()
    return conn.execute(delete(SESSIONS).where((SESSIONS.c.last_seen_at <= stamp - policy.idle)
                                               | (SESSIONS.c.created_at <= stamp - policy.absolute))).rowcount


def end_session(conn: Connection, token: str | None) -> None:
    if token:
        conn.execute(delete(SESSIONS).where(SESSIONS.c.token_hash == token_hash(token)))
