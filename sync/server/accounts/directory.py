"""The staff directory: accounts, their roles and scopes.

- ``admin``  a community admin: the admin console of their ``community``.
- ``worker`` a grid worker (网格员): their ``community`` and, inside it, their ``grid``.
- ``staff``  department staff: their ``department``'s calls and cases.

Disabling an account or changing its password ends its sessions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from sync.server.accounts.errors import InvalidAccount, UnknownAccount
from sync.server.accounts.models import AccountRow, SessionRow
from sync.server.accounts.passwords import hash_password
from sync.server.content import now

ROLES = ("admin", "worker", "staff")
ROLE_NAMES = {"admin": ("社区管理员", "community admin"), "worker": ("网格员", "grid worker"),
              "staff": ("部门工作人员", "department staff")}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
ACCOUNTS = AccountRow.__table__


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    name: str  # display name
    role: str  # one of ROLES
    community: str | None  # admin and worker: their community
    grid: str | None  # worker: her grid (she sees only her grid)
    department: str | None  # staff: their department (sees only its calls and cases)


@dataclass(frozen=True)
class AccountRecord:
    """An account as the admin console lists it."""

    account: Account
    disabled: bool
    created_at: object
    password_changed_at: object


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def check_scope(role: str, community: str | None, grid: str | None, department: str | None) -> None:
    if role not in ROLES:
        raise InvalidAccount(f"角色必须是 {'、'.join(ROLES)} 之一 / role must be one of {', '.join(ROLES)}, "
                             f"not {role!r}")
    if role in ("admin", "worker") and not community:
        raise InvalidAccount("社区管理员和网格员需要填写社区 / an admin or worker needs a community")
    if role == "worker" and not grid:
        raise InvalidAccount("网格员需要填写网格 / a grid worker needs a grid")
    if role == "staff" and not department:
        raise InvalidAccount("部门工作人员需要填写部门 / department staff need a department")


def _account(row) -> Account:
    return Account(id=row.id, username=row.username, name=row.name, role=row.role, community=row.community,
                   grid=row.grid, department=row.department)


def create_account(conn: Connection, *, username: str, password: str, name: str, role: str,
                   community: str | None = None, grid: str | None = None,
                   department: str | None = None) -> int:
    """A new account; its id. :class:`InvalidAccount` says what to fix (username taken,
    password too short, a worker without a grid, …)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidAccount("用户名为 2–64 个小写字母、数字或 . _ - / the username is 2–64 lower-case letters, "
                             f"digits or . _ - (not {username!r})")
    name = (name or "").strip()
    if not name:
        raise InvalidAccount("请填写姓名 / the account needs a display name")
    community, grid, department = _clean(community), _clean(grid), _clean(department)
    check_scope(role, community, grid, department)
    hashed = hash_password(password)
    if conn.execute(select(ACCOUNTS.c.id).where(ACCOUNTS.c.username == username)).first() is not None:
        raise InvalidAccount(f"用户名 {username} 已被使用 / the username {username} is taken")
    stamp = now()
    try:
        with conn.begin_nested():
            return conn.execute(ACCOUNTS.insert().values(
                username=username, name=name, role=role, community=community, grid=grid, department=department,
                password_hash=hashed, created_at=stamp, password_changed_at=stamp, disabled_at=None)
            ).inserted_primary_key[0]
    except IntegrityError:  # another process took it meanwhile
        raise InvalidAccount(f"用户名 {username} 已被使用 / the username {username} is taken") from None


def get_account(conn: Connection, account_id: int) -> Account:
    row = conn.execute(select(ACCOUNTS).where(ACCOUNTS.c.id == account_id)).first()
    if row is None:
        raise UnknownAccount(f"没有编号为 {account_id} 的账号 / no account {account_id}")
    return _account(row)


def find_account(conn: Connection, username: str) -> AccountRecord:
    row = conn.execute(select(ACCOUNTS).where(ACCOUNTS.c.username == username.strip().lower())).first()
    if row is None:
        raise UnknownAccount(f"没有用户名为 {username} 的账号 / no account {username}")
    return _record(row)


def _record(row) -> AccountRecord:
    return AccountRecord(account=_account(row), disabled=row.disabled_at is not None, created_at=row.created_at,
                         password_changed_at=row.password_changed_at)


def list_accounts(conn: Connection, community: str | None = None) -> list[AccountRecord]:
    """Every account (of ``community`` only, when given), by username. Department staff
    made in a community's admin console carry that community: its admin manages them."""
    query = select(ACCOUNTS).order_by(ACCOUNTS.c.username)
    if community is not None:
        query = query.where(ACCOUNTS.c.community == community)
    return [_record(row) for row in conn.execute(query)]


def end_sessions(conn: Connection, account_id: int) -> None:
    conn.execute(delete(SessionRow.__table__).where(SessionRow.__table__.c.account_id == account_id))


def set_disabled(conn: Connection, account_id: int, disabled: bool) -> None:
    get_account(conn, account_id)
    conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == account_id)
                 .values(disabled_at=now() if disabled else None))
    if disabled:
        end_sessions(conn, account_id)


def set_password(conn: Connection, account_id: int, password: str) -> None:
    get_account(conn, account_id)
    conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == account_id)
                 .values(password_hash=hash_password(password), password_changed_at=now()))
    end_sessions(conn, account_id)


def update_account(conn: Connection, account_id: int, *, name: str, role: str, community: str | None,
                   grid: str | None, department: str | None) -> None:
    """Change an account's name, role and scope (its sessions end: the next page asks
    them to sign in again with the new scope)."""
    get_account(conn, account_id)
    name = (name or "").strip()
    if not name:
        raise InvalidAccount("请填写姓名 / the account needs a display name")
    community, grid, department = _clean(community), _clean(grid), _clean(department)
    check_scope(role, community, grid, department)
    conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == account_id).values(
        name=name, role=role, community=community, grid=grid, department=department))
    end_sessions(conn, account_id)
