"""The server's web pages: one Jinja2 environment, the shared layout (base.html), one
CSS file under /static, and :func:`render`.

Each feature keeps its templates in ``<package>/templates/`` and registers that folder
with :func:`add_templates` in its ``install()``; template names are prefixed by the
feature (``admin/households.html``) and extend ``base.html``.

Pages are Chinese first; ``?lang=en`` switches to English (remembered in a cookie) and
``?lang=zh`` back. Every template gets ``account`` (or None), ``csrf`` (the token for
its forms), ``lang``, ``t`` (``t("中文", "English")`` picks by ``lang``), ``pick`` (one language of
a bilingual message "中文 / English"), ``lang_url``
(this page in the other language), ``path`` and ``flash`` (a one-time message set by
:func:`flash` before a redirect).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
LANGS = ("zh", "en")
LANG_COOKIE, FLASH_COOKIE = "lang", "flash"
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")  # times are stored in UTC, shown in China's time

_loader = ChoiceLoader([FileSystemLoader(HERE / "templates")])
environment = Environment(loader=_loader, autoescape=select_autoescape(default=True, default_for_string=True),
                          trim_blocks=True, lstrip_blocks=True)


def add_templates(folder: Path) -> None:
    """Make the templates in ``folder`` renderable (a feature's ``templates/``)."""
    folder = Path(folder).resolve()
    loaders = _loader.loaders
    if not any(isinstance(found, FileSystemLoader) and Path(found.searchpath[0]) == folder for found in loaders):
        loaders.append(FileSystemLoader(folder))


def local_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time, or its ISO text, as China's wall-clock time; '—' for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(DISPLAY_TZ).strftime(fmt)


environment.filters["local"] = local_time


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in LANGS else "zh"


def translator(lang: str) -> Callable[[str, str], str]:
    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh
    return t


def pick(text: str, lang: str) -> str:
    """One language of a bilingual message written "中文 / English" (errors of the
    server's packages are written so); text without " / " as it is."""
    zh, sep, en = str(text).partition(" / ")
    return (en if lang == "en" else zh).strip() if sep else str(text)


def _other_language_url(request: Request, lang: str) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query.append(("lang", "zh" if lang == "en" else "en"))
    return request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query)


def flash(response: Response, message: str) -> Response:
    """Show ``message`` once on the next page this browser renders (after a redirect)."""
    response.set_cookie(FLASH_COOKIE, quote(message[:500]), max_age=60, httponly=True, samesite="lax")
    return response


def redirect(url: str, message: str | None = None) -> RedirectResponse:
    """A 303 to ``url`` (after a form post), with an optional one-time message."""
    response = RedirectResponse(url, status_code=303)
    return flash(response, message) if message else response


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` with the shared context (see the module's docstring)."""
    from sync.server.accounts.guard import csrf_for, current, remember_anonymous_csrf

    lang = language(request)
    session = current(request)
    shown = unquote(request.cookies.get(FLASH_COOKIE, "")) or None
    values = {"account": session.account if session else None, "csrf": csrf_for(request), "lang": lang,
              "t": translator(lang), "pick": lambda text: pick(text, lang), "lang_url": _other_language_url(request, lang), "path": request.url.path,
              "flash": shown, "request": request, **context}
    response = HTMLResponse(environment.get_template(template).render(values), status_code=status)
    if shown:
        response.delete_cookie(FLASH_COOKIE)
    remember_anonymous_csrf(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: FastAPI) -> None:
    """Serve /static (the shared CSS); remember ``?lang=`` on any page (a redirect too)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.add_middleware(RememberLanguage)


class RememberLanguage:
    """Plain ASGI: a request with ``?lang=zh|en`` sets the language cookie on whatever
    answers it (a redirect too). Every other request (the sync API's hot path) passes
    straight through."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or b"lang=" not in scope.get("query_string", b""):
            await self.app(scope, receive, send)
            return
        asked = Request(scope).query_params.get("lang")
        if asked not in LANGS:
            await self.app(scope, receive, send)
            return
        cookie = Response()
        cookie.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="lax")
        header = cookie.raw_headers[-1]

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
