"""The sign-in and sign-out pages, and how refusals look (a 303 to /login for a
browser, 401/403 JSON for other clients, a 403 page for a wrong role or CSRF token)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from sync.server import web
from sync.server.accounts.errors import LoginRefused
from sync.server.accounts.guard import (CSRF_COOKIE, HOME, SESSION_COOKIE, Forbidden, NotSignedIn, current,
                                        is_https, login_url, safe_next, same_token, session_policy,
                                        submitted_csrf, wants_html)
from sync.server.accounts.sessions import end_session, prune_expired, sign_in, start_session

router = APIRouter(include_in_schema=False)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/")
def home(request: Request) -> Response:
    found = current(request)
    return RedirectResponse(HOME.get(found.account.role, "/login") if found else "/login", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    found = current(request)
    if found is not None:
        return RedirectResponse(safe_next(next, found.account), status_code=303)
    return web.render(request, "accounts/login.html", next=next, username="", error=None)


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                next: Annotated[str, Form()] = "") -> Response:
    from starlette.concurrency import run_in_threadpool

    def page(error: str, status: int) -> Response:
        return web.render(request, "accounts/login.html", status=status, next=next, username=username, error=error)

    if not same_token(await submitted_csrf(request), request.cookies.get(CSRF_COOKIE)):
        return await run_in_threadpool(page, "页面已过期，请重新输入后登录。 / The page expired: enter your "
                                             "details again and sign in.", 403)
    if not username.strip() or not password:
        return await run_in_threadpool(page, "请输入用户名和密码。 / Enter your username and password.", 422)
    engine = request.app.state.engine
    policy = getattr(request.app.state, "lockout_policy", None)
    try:
        account = await run_in_threadpool(sign_in, engine, username, password, client_address(request),
                                          *([policy] if policy else []))
    except LoginRefused as exc:
        return await run_in_threadpool(page, str(exc), 429 if exc.locked_minutes else 401)

    def begin() -> tuple[str, str]:
        with engine.begin() as conn:
            prune_expired(conn, session_policy(request))
            return start_session(conn, account.id, client_address(request))

    token, _csrf = await run_in_threadpool(begin)
    response = RedirectResponse(safe_next(next, account), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=is_https(request),
                        max_age=int(session_policy(request).absolute.total_seconds()), path="/")
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    found = await run_in_threadpool(current, request)
    if found is not None and same_token(await submitted_csrf(request), found.csrf):
        def end() -> None:
            with request.app.state.engine.begin() as conn:
                end_session(conn, request.cookies.get(SESSION_COOKIE))
        await run_in_threadpool(end)
    elif found is not None:
        raise Forbidden("页面已过期，请刷新后再退出。", "This page expired: reload it and sign out again.")
    response = web.redirect("/login", "您已退出登录。 / You have signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
    if wants_html(request):
        return RedirectResponse(login_url(request), status_code=303)
    return JSONResponse({"detail": "sign in first (POST /login)"}, status_code=401)


def _forbidden(request: Request, exc: Forbidden) -> Response:
    if wants_html(request):
        return web.render(request, "error.html", status=403, title=("无法打开", "Not allowed"),
                          message=(exc.zh, exc.en))
    return JSONResponse({"detail": exc.en}, status_code=403)


def install_pages(app) -> None:
    app.include_router(router)
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(Forbidden, _forbidden)
