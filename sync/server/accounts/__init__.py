"""Staff accounts, roles and scopes, password hashing, sessions, lock-out and CSRF.

- :mod:`.directory`  accounts: ``create_account``, roles and scopes, disable, passwords
- :mod:`.passwords`  argon2id hashing
- :mod:`.lockout`    lock-out after repeated failures, per account and per address
- :mod:`.sessions`   sign-in and database-backed sessions (idle and absolute expiry)
- :mod:`.guard`      ``signed_in(*roles)``: the dependency every console page uses; CSRF
- :mod:`.pages`      /login, /logout, and how a refusal looks
- :mod:`.errors`     the exception tree

Console pages declare ``account: Account = Depends(signed_in("worker"))``.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sync.server.accounts import models  # noqa: F401  (the tables, for migrations)
from sync.server.accounts.directory import (ROLE_NAMES, ROLES, Account, AccountRecord, create_account,
                                            find_account, get_account, list_accounts, set_disabled,
                                            set_password, update_account)
from sync.server.accounts.errors import AccountError, InvalidAccount, LoginRefused, UnknownAccount
from sync.server.accounts.guard import HOME, current, signed_in
from sync.server.accounts.lockout import LockoutPolicy
from sync.server.accounts.sessions import SessionPolicy

__all__ = ["ROLES", "ROLE_NAMES", "HOME", "Account", "AccountRecord", "AccountError", "InvalidAccount",
           "LoginRefused", "UnknownAccount", "LockoutPolicy", "SessionPolicy", "create_account", "current",
           "find_account", "get_account", "list_accounts", "set_disabled", "set_password", "signed_in",
           "update_account", "install"]


def install(app: FastAPI) -> None:
    """/login, /logout, / and the refusal handlers. ``app.state.session_policy`` and
    ``app.state.lockout_policy`` may be set to other clocks and limits (tests)."""
    from sync.server import web
    from sync.server.accounts.pages import install_pages

    web.add_templates(Path(__file__).resolve().parent / "templates")
    install_pages(app)
