"""Fixtures for the admin console's in-process tests: the real app on each back-end,
and a client signed in as an admin of a community."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from sync.server import accounts, create_app, db, migrations

PASSWORD = "admin-pass-1"
COMMUNITY, OTHER = "示范社区", "幸福社区"


class Console:
    """A TestClient signed in as ``username``; ``post`` adds the session's CSRF token."""

    def __init__(self, client: TestClient, engine, username: str) -> None:
        self.client, self.engine, self.username = client, engine, username
        self.csrf = ""

    def sign_in(self, password: str = PASSWORD) -> "Console":
        self.client.cookies.clear()
        token = csrf_in(self.client.get("/login").text)
        answer = self.client.post("/login", data={"username": self.username, "password": password, "csrf": token},
                                  follow_redirects=False)
        assert answer.status_code == 303, answer.text
        self.csrf = csrf_in(self.client.get("/admin", headers={"Accept": "text/html"}).text)
        return self

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict | None = None, **kw):
        return self.client.post(url, data={**(data or {}), "csrf": self.csrf}, **kw)


def csrf_in(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def add_admin(engine, username: str, community: str) -> int:
    with engine.begin() as conn:
        return accounts.create_account(conn, username=username, password=PASSWORD, name=username.title(),
                                       role="admin", community=community)


@pytest.fixture
def database_url(request, tmp_path):
    """SQLite unless a test asks for more with
    ``@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)``
    (the console's SQL is the same on both; the important flows run on both)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
    else:
        from tests.sync.server.support import postgresql_database

        with postgresql_database() as url:
            yield url


BOTH = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def server(database_url):
    engine = db.create(database_url)
    migrations.upgrade(engine)
    with TestClient(create_app(database_url, engine=engine)) as client:
        yield client, engine
    engine.dispose()


@pytest.fixture
def console(server) -> Console:
    client, engine = server
    add_admin(engine, "alice", COMMUNITY)
    return Console(client, engine, "alice").sign_in()
