"""Accounts in-process and on both back-ends: argon2id hashes, scopes, lock-out shared
through the database, sessions that expire, CSRF refused, roles refused."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from sync.server import accounts, create_app, db, migrations
from sync.server.accounts.models import AccountRow, SessionRow
from sync.server.accounts.passwords import verify_password
from sync.server.content import now
from tests.sync.server.accounts.conftest import BOTH

PASSWORD = "correct horse 9"


def add(engine, username: str, role: str = "admin", **scope) -> int:
    scope.setdefault("community", "示范社区" if role in ("admin", "worker") else None)
    if role == "worker":
        scope.setdefault("grid", "一网格")
    if role == "staff":
        scope.setdefault("department", "民政")
    with engine.begin() as conn:
        return accounts.create_account(conn, username=username, password=PASSWORD, name=username.title(),
                                       role=role, **scope)


def app_with_probe(url: str, engine=None):
    """The real app plus two pages behind signed_in, as any console declares them."""
    app = create_app(url, engine=engine)

    @app.get("/probe")
    def probe(account: accounts.Account = Depends(accounts.signed_in("admin"))):
        return {"username": account.username, "community": account.community}

    @app.post("/probe")
    def change(account: accounts.Account = Depends(accounts.signed_in("admin", "worker"))):
        return {"changed_by": account.username}

    return app


@pytest.fixture
def server(database_url):
    engine = db.create(database_url)
    migrations.upgrade(engine)
    with TestClient(app_with_probe(database_url, engine)) as client:
        yield client, engine
    engine.dispose()


def csrf_of(page_text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page_text).group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf": token},
                       follow_redirects=False)


def test_passwords_are_argon2id_hashes_and_checked(server):
    client, engine = server
    add(engine, "alice")
    with engine.connect() as conn:
        stored = conn.execute(select(AccountRow.__table__.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)


@pytest.mark.parametrize("fields, says", [
    ({"username": "Bad Name!"}, "username"),
    ({"password": "short"}, "at least 8"),
    ({"role": "root"}, "role must be one of"),
    ({"role": "worker", "grid": None}, "needs a grid"),
    ({"role": "admin", "community": None}, "needs a community"),
    ({"role": "staff", "community": None, "department": None}, "need a department"),
    ({"name": " "}, "display name"),
])
def test_a_bad_account_is_refused_with_what_to_fix(database_url, fields, says):
    engine = db.create(database_url)
    migrations.upgrade(engine)
    values = {"username": "bob", "password": PASSWORD, "name": "Bob", "role": "worker", "community": "示范社区",
              "grid": "一网格", **fields}
    try:
        with pytest.raises(accounts.InvalidAccount, match=says), engine.begin() as conn:
            accounts.create_account(conn, **values)
        add(engine, "bob")
        with pytest.raises(accounts.InvalidAccount, match="taken"), engine.begin() as conn:
            accounts.create_account(conn, username="BOB", password=PASSWORD, role="admin", name="B",
                                    community="示范社区")
    finally:
        engine.dispose()


def test_sign_in_goes_home_by_role_and_the_cookie_is_httponly_lax(server):
    client, engine = server
    add(engine, "alice")
    add(engine, "wang", "worker")
    add(engine, "li", "staff")
    for username, home in (("alice", "/admin"), ("wang", "/worker"), ("li", "/staff")):
        client.cookies.clear()
        answer = log_in(client, username)
        assert answer.status_code == 303 and answer.headers["location"] == home
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("kiosk_session="))
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        token = cookie.split(";")[0].split("=", 1)[1]
        with engine.connect() as conn:  # only the token's hash is stored
            stored = conn.execute(select(SessionRow.__table__.c.token_hash)).scalars().all()
        assert token not in stored and len(stored) == 1 + ["alice", "wang", "li"].index(username)


def test_refusals_browser_redirect_api_401_wrong_role_403(server):
    client, engine = server
    add(engine, "wang", "worker")
    answer = client.get("/probe?x=1", headers={"Accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fprobe%3Fx%3D1"
    assert client.get("/probe", headers={"Accept": "application/json"}).status_code == 401
    log_in(client, "wang")
    refused = client.get("/probe", headers={"Accept": "text/html"})
    assert refused.status_code == 403 and "没有权限" in refused.text
    assert client.get("/probe").status_code == 403


def test_next_after_sign_in_stays_on_this_site(server):
    client, engine = server
    add(engine, "alice")
    token = csrf_of(client.get("/login").text)
    for target, expected in (("/probe?x=1", "/probe?x=1"), ("//evil.example/x", "/admin"),
                             ("https://evil.example", "/admin")):
        client.cookies.delete("kiosk_session")
        token = csrf_of(client.get("/login").text)
        answer = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf": token,
                                             "next": target}, follow_redirects=False)
        assert answer.headers["location"] == expected


@BOTH
def test_unsafe_methods_need_the_sessions_csrf_token(server):
    client, engine = server
    add(engine, "alice")
    log_in(client, "alice")
    page = client.get("/login", follow_redirects=False)  # signed in: /login sends us home
    assert page.status_code == 303
    with engine.connect() as conn:
        token = conn.execute(select(SessionRow.__table__.c.csrf)).scalar_one()
    assert client.post("/probe").status_code == 403
    assert client.post("/probe", data={"csrf": "forged"}).status_code == 403
    assert client.post("/probe", headers={"X-CSRF-Token": token + "x"}).status_code == 403
    assert client.post("/probe", data={"csrf": token}).json() == {"changed_by": "alice"}
    assert client.post("/probe", headers={"X-CSRF-Token": token}).json() == {"changed_by": "alice"}


def test_login_form_without_its_csrf_cookie_is_refused(server):
    client, engine = server
    add(engine, "alice")
    answer = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf": "made-up"},
                         follow_redirects=False)
    assert answer.status_code == 403 and "页面已过期" in answer.text
    assert "kiosk_session" not in client.cookies


@BOTH
def test_wrong_passwords_lock_the_account_even_for_the_right_one(server):
    client, engine = server
    add(engine, "alice")
    client.app.state.lockout_policy = accounts.LockoutPolicy(account_limit=3, address_limit=100)
    for _ in range(3):
        answer = log_in(client, "alice", "wrong password")
        assert answer.status_code == 401 and "用户名或密码不正确" in answer.text
    locked = log_in(client, "alice")
    assert locked.status_code == 429 and "分钟后再试" in locked.text and "kiosk_session" not in client.cookies
    # one unknown username gets the same message as a wrong password
    assert "用户名或密码不正确" in log_in(client, "nobody", "whatever1").text


def test_a_lock_ends_after_its_time(server):
    client, engine = server
    add(engine, "alice")
    client.app.state.lockout_policy = accounts.LockoutPolicy(account_limit=2, address_limit=100)
    log_in(client, "alice", "wrong password")
    log_in(client, "alice", "wrong password")
    assert log_in(client, "alice").status_code == 429
    with engine.begin() as conn:  # the failures were 16 minutes ago
        table = accounts.models.LoginFailure.__table__
        conn.execute(update(table).values(at=now() - timedelta(minutes=16)))
    assert log_in(client, "alice").status_code == 303


def test_one_address_guessing_many_usernames_is_locked(server):
    client, engine = server
    add(engine, "alice")
    client.app.state.lockout_policy = accounts.LockoutPolicy(account_limit=100, address_limit=4)
    for name in ("a1", "a2", "a3", "a4"):
        assert log_in(client, name, "wrong password").status_code == 401
    assert log_in(client, "alice").status_code == 429


@BOTH
def test_lockout_is_shared_by_two_server_processes(database_url):
    """Two apps on one database stand for two server processes: failures on one lock
    the account on the other."""
    engine_a, engine_b = db.create(database_url), db.create(database_url)
    migrations.upgrade(engine_a)
    add(engine_a, "alice")
    policy = accounts.LockoutPolicy(account_limit=4, address_limit=100)
    try:
        with TestClient(create_app(database_url, engine=engine_a)) as a, \
                TestClient(create_app(database_url, engine=engine_b)) as b:
            a.app.state.lockout_policy = b.app.state.lockout_policy = policy
            for client in (a, b, a, b):
                assert log_in(client, "alice", "wrong password").status_code == 401
            assert log_in(a, "alice").status_code == 429
            assert log_in(b, "alice").status_code == 429
    finally:
        engine_a.dispose()
        engine_b.dispose()


@BOTH
def test_a_session_made_by_one_process_works_on_another(database_url):
    engine_a, engine_b = db.create(database_url), db.create(database_url)
    migrations.upgrade(engine_a)
    add(engine_a, "alice")
    try:
        with TestClient(app_with_probe(database_url, engine_a)) as a, \
                TestClient(app_with_probe(database_url, engine_b)) as b:
            log_in(a, "alice")
            b.cookies.set("kiosk_session", a.cookies["kiosk_session"])
            assert b.get("/probe").json() == {"username": "alice", "community": "示范社区"}
    finally:
        engine_a.dispose()
        engine_b.dispose()


@BOTH
@pytest.mark.parametrize("clock", ["idle", "absolute"])
def test_sessions_expire(server, clock):
    client, engine = server
    add(engine, "alice")
    log_in(client, "alice")
    assert client.get("/probe").status_code == 200
    sessions = SessionRow.__table__
    with engine.begin() as conn:
        if clock == "idle":  # 2 h 1 min without a request
            conn.execute(update(sessions).values(last_seen_at=now() - timedelta(hours=2, minutes=1)))
        else:  # used a minute ago, but signed in 12 h 1 min ago
            conn.execute(update(sessions).values(created_at=now() - timedelta(hours=12, minutes=1),
                                                 last_seen_at=now() - timedelta(minutes=1)))
    assert client.get("/probe").status_code == 401
    with engine.connect() as conn:  # and it is gone
        assert conn.execute(select(sessions)).first() is None


def test_signing_in_clears_abandoned_sessions(server):
    client, engine = server
    add(engine, "alice")
    log_in(client, "alice")
    sessions = SessionRow.__table__
    with engine.begin() as conn:  # that browser was closed 3 hours ago
        conn.execute(update(sessions).values(last_seen_at=now() - timedelta(hours=3)))
    client.cookies.clear()
    log_in(client, "alice")
    with engine.connect() as conn:
        assert len(conn.execute(select(sessions)).all()) == 1


def test_requests_keep_an_idle_session_alive(server):
    client, engine = server
    add(engine, "alice")
    log_in(client, "alice")
    sessions = SessionRow.__table__
    with engine.begin() as conn:
        conn.execute(update(sessions).values(last_seen_at=now() - timedelta(hours=1, minutes=59)))
    assert client.get("/probe").status_code == 200
    with engine.connect() as conn:
        seen = conn.execute(select(sessions.c.last_seen_at)).scalar_one()
    assert accounts.sessions.aware(seen) > now() - timedelta(minutes=1)


@BOTH
def test_disable_and_password_change_end_sessions(server):
    client, engine = server
    alice = add(engine, "alice")
    log_in(client, "alice")
    with engine.begin() as conn:
        accounts.set_password(conn, alice, "a new password")
    assert client.get("/probe").status_code == 401
    assert log_in(client, "alice").status_code == 401
    assert log_in(client, "alice", "a new password").status_code == 303
    with engine.begin() as conn:
        accounts.set_disabled(conn, alice, True)
    assert client.get("/probe").status_code == 401
    refused = log_in(client, "alice", "a new password")
    assert refused.status_code == 401 and "已停用" in refused.text


def test_logout_ends_the_session(server):
    client, engine = server
    add(engine, "alice")
    log_in(client, "alice")
    with engine.connect() as conn:
        token = conn.execute(select(SessionRow.__table__.c.csrf)).scalar_one()
    assert client.post("/logout", data={"csrf": "forged"}, headers={"Accept": "text/html"}).status_code == 403
    answer = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    with engine.connect() as conn:
        assert conn.execute(select(SessionRow.__table__)).first() is None
