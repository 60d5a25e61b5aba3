"""Who is asking: the session behind a request, its CSRF token, and the
``signed_in(*roles)`` dependency every console page uses.

Before sign-in (the login form) the CSRF token is a random value in its own cookie
(``kiosk_csrf``, double-submit); after sign-in it is the session's token, kept with
the session in the database.
"""
from __future__ import annotations

import hmac
import secrets
from typing import Callable
from urllib.parse import quote

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sync.server.accounts.directory import ROLES, Account
from sync.server.accounts.sessions import Session, SessionPolicy, session_for

SESSION_COOKIE = "kiosk_session"
CSRF_COOKIE = "kiosk_csrf"
CSRF_FIELD, CSRF_HEADER = "csrf", "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HOME = {"admin": "/admin", "worker": "/worker", "staff": "/staff"}


class NotSignedIn(Exception):
    """No live session: a browser goes to /login?next=…, other clients get 401."""


class Forbidden(Exception):
    """Signed in, but not allowed here (wrong role) or the form's CSRF token is wrong."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def session_policy(request: Request) -> SessionPolicy:
    return getattr(request.app.state, "session_policy", None) or SessionPolicy()


def current(request: Request) -> Session | None:
    """The request's live session (looked up once per request)."""
    if "session" not in request.state._state:
        with request.app.state.engine.begin() as conn:
            request.state.session = session_for(conn, request.cookies.get(SESSION_COOKIE), session_policy(request))
    return request.state.session


def csrf_for(request: Request) -> str:
    """The token this request's forms must carry back."""
    found = current(request)
    if found is not None:
        return found.csrf
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(24)
    return token


def remember_anonymous_csrf(request: Request, response: Response) -> None:
    """Set the pre-sign-in CSRF cookie when :func:`csrf_for` made a new one."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax", secure=is_https(request))


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


async def submitted_csrf(request: Request) -> str | None:
    given = request.headers.get(CSRF_HEADER)
    if given:
        return given
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # starlette keeps it: the endpoint reads the same form
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def signed_in(*roles: str) -> Callable:
    """A FastAPI dependency: ``account: Account = Depends(signed_in("worker"))``.

    No valid session: a browser (Accept: text/html) is redirected 303 to
    /login?next=<path>; other clients get 401. Wrong role: 403 page. For unsafe
    methods (POST/PUT/PATCH/DELETE) the CSRF token (form field ``csrf`` or header
    ``X-CSRF-Token``) must be the session's, else 403."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; roles are {ROLES}")

    async def dependency(request: Request) -> Account:
        found = await run_in_threadpool(current, request)
        if found is None:
            raise NotSignedIn()
        if roles and found.account.role not in roles:
            raise Forbidden("您的账号没有权限打开此页面。", "Your account may not open this page.")
        if request.method in UNSAFE and not same_token(await submitted_csrf(request), found.csrf):
            raise Forbidden("页面已过期（安全令牌不符），请返回、刷新页面后再提交。",
                            "This page has expired (security token mismatch): go back, reload it and submit again.")
        return found.account

    return dependency


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


def safe_next(target: str | None, account: Account) -> str:
    """Where to go after sign-in: a local path only (never another site), else home."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not target.startswith("/login"):
        return target
    return HOME.get(account.role, "/")
