"""Browser fixtures (registered in tests/conftest.py): a real server process and the
system Chromium driven by Playwright.

- ``live_server``: ``python -m sync.server`` on a free port, on SQLite in tmp_path by
  default; ``@pytest.mark.parametrize("live_server", ["postgresql"], indirect=True)``
  (or ``["sqlite", "postgresql"]``) runs it on a fresh PostgreSQL database. It has
  ``.url``, ``.database_url``, ``.run_cli(*args, input=None)`` (``python -m
  sync.server ARGS --database URL``, checked) and ``.add_account(username, password,
  role, name=…, community=…, grid=…, department=…)``.
- ``browser``: headless Chromium from /usr/bin/chromium (never ``playwright install``),
  one per test session; ``require("chromium", …)`` when it is missing.
- ``page``: a fresh context (no cookies) at a desktop size; ``phone_page``: a phone
  (390×844, touch). Both zh-CN, Asia/Shanghai.
- ``sign_in(page, server, username, password)``: the login form, filled and sent;
  returns once the browser has left /login.

Screenshots go to the ``artifacts`` fixture's folder: ``page.screenshot(path=artifacts
/ "x.png", full_page=True)``; look at them.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import ROOT, require

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@dataclass
class LiveServer:
    url: str
    database_url: str
    process: object = field(repr=False)

    def run_cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        """``python -m sync.server ARGS --database URL``; raises when it exits non-zero."""
        done = subprocess.run([sys.executable, "-m", "sync.server", *args, "--database", self.database_url],
                              input=input, capture_output=True, text=True, cwd=ROOT, timeout=60)
        if done.returncode != 0:
            raise AssertionError(f"python -m sync.server {' '.join(args)} exited {done.returncode}: "
                                 f"{done.stderr.strip()}")
        return done

    def add_account(self, username: str, password: str, role: str, *, name: str | None = None,
                    community: str | None = None, grid: str | None = None,
                    department: str | None = None) -> None:
        """Straight into the server's database (what ``account add`` does, without a
        process start per account; the CLI has its own tests)."""
        from sync.server import accounts, db

        engine = db.create(self.database_url)
        try:
            with engine.begin() as conn:
                accounts.create_account(conn, username=username, password=password, name=name or username, role=role,
                                        community=community, grid=grid, department=department)
        finally:
            engine.dispose()


@pytest.fixture
def live_server(request, tmp_path) -> Iterator[LiveServer]:
    from tests.sync.server.support import ServerProcess, postgresql_database

    backend = getattr(request, "param", "sqlite")
    with ExitStack() as stack:
        if backend == "postgresql":
            url = stack.enter_context(postgresql_database())
        elif backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'server.db'}"
        else:
            raise ValueError(f"live_server backend {backend!r}: sqlite or postgresql")
        process = ServerProcess(url)
        process.start()
        stack.callback(process.stop)
        yield LiveServer(url=process.url, database_url=url, process=process)


@pytest.fixture(scope="session")
def _playwright():
    require("chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} not found; run scripts/debian-packages as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


def _context(browser, **options):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(20_000)  # generous: the test machine has 2 cores shared by many runs
    return context


@pytest.fixture
def page(browser):
    context = _context(browser, viewport=DESKTOP)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone_page(browser):
    context = _context(browser, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page, server: LiveServer, username: str, password: str) -> None:
    """Fill and send the login form; returns once the browser has left /login (a refused
    sign-in raises with the page's message)."""
    page.goto(f"{server.url}/login")
    page.get_by_label("用户名").or_(page.get_by_label("Username")).fill(username)
    page.get_by_label("密码").or_(page.get_by_label("Password")).fill(password)
    with page.expect_navigation():
        page.locator("form[action='/login'] button[type=submit]").click()
    if "/login" in page.url.split("?")[0][len(server.url):]:
        alert = page.locator("[role=alert]")
        raise AssertionError(f"sign-in as {username} refused: "
                             f"{alert.inner_text() if alert.count() else page.content()[:500]}")


@pytest.fixture(name="sign_in")
def sign_in_fixture():
    """``sign_in(page, server, username, password)`` as a fixture (also importable from tests.browser)."""
    return sign_in


def screenshot(page, artifacts: Path, name: str) -> Path:
    """A full-page PNG in the artifacts folder; its path."""
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
