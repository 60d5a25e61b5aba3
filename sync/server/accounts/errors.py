"""Errors of the accounts package::

    AccountError
    ├── InvalidAccount      a field is missing or malformed (says which and how to fix it)
    ├── UnknownAccount      no account by that username or id
    └── LoginRefused        wrong username or password, disabled, or locked out
"""
from __future__ import annotations


class AccountError(Exception):
    """Base of this package's errors; ``str()`` is a message a person can act on."""


class InvalidAccount(AccountError, ValueError):
    pass


class UnknownAccount(AccountError, LookupError):
    pass


class LoginRefused(AccountError):
    """``locked_minutes`` > 0: locked out, try again after that many minutes."""

    def __init__(self, message: str, locked_minutes: int = 0) -> None:
        super().__init__(message)
        self.locked_minutes = locked_minutes
