"""Fixtures for the worker console in-process: the app on each back-end (delivery loop
off, so tests deliver when they say), a locker appliance pushing signed events, a
household with a phone number, and staff signed in through the real login form."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from sync.server import create_app
from sync.server.accounts import create_account
from sync.server.content import put
from sync.server.worker.cases import set_locker_grid
from tests.sync.server.support import COMMUNITY, Signed, event, new_code, new_key

GRID = "一网格"
PHONE = "13800138000"
RESIDENT_ID = "110101198503120033"


@pytest.fixture
def app(database_url, monkeypatch):
    monkeypatch.setenv("SYNC_NOTIFY_LOOP", "0")
    monkeypatch.setenv("SYNC_PUBLIC_URL", "https://server.example")
    return create_app(database_url)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def engine(app, client):
    return app.state.engine


def login(client: TestClient, username: str, password: str) -> TestClient:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", data={"username": username, "password": password, "csrf": csrf, "next": ""},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


@dataclass
class Locker:
    signed: Signed
    seq: int = 0

    @property
    def device_id(self) -> str:
        return self.signed.key.device_id

    def push(self, case_id: str, event_type: str, at: str | None = None, *, aggregate_type: str = "case",
             **payload) -> dict:
        """Push one event, a case's unless ``aggregate_type`` says otherwise (``door``,
        ``opening``, ``board``: ``case_id`` is then that aggregate's id); ``at``: the
        appliance's clock, ISO 8601."""
        self.seq += 1
        pushed = event(case_id, event_type, self.seq, aggregate_type=aggregate_type,
                       payload={"locker": self.device_id, **payload} if aggregate_type != "case" else payload)
        if at:
            pushed["created_at"] = at
        answer = self.signed("POST", "/events", {"events": [pushed]})
        assert answer.status_code == 200, answer.text
        result = answer.json()["results"][0]
        result["id"] = pushed["id"]
        return result

    def upload(self, case_id: str, data: bytes, content_type: str, name: str = "", chunk: int = 64 * 1024) -> str:
        """Upload a file for a case in resumable chunks, as the sync agent does; its id."""
        return upload(self.signed, case_id, data, content_type, name, chunk)


def upload(signed: Signed, case_id: str, data: bytes, content_type: str, name: str = "", chunk: int = 64 * 1024,
           finish: bool = True) -> str:
    """Create, send in chunks and finish an upload through the signed attachment API."""
    import hashlib

    from sync.wire import API
    from tests.sync.server.support import signature_headers

    upload_id = str(uuid.uuid4())
    created = signed("POST", "/attachments", {"id": upload_id, "case_id": case_id, "content_type": content_type,
                                              "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                              "name": name})
    assert created.status_code == 201, created.text
    for offset in range(0, len(data), chunk):
        path = f"{API}/attachments/{upload_id}/chunks/{offset}"
        part = data[offset:offset + chunk]
        headers = {**signature_headers(signed.key, "PUT", path, part), "Content-Type": "application/octet-stream"}
        if signed.base_url:
            answer = signed.client.put(signed.base_url + path, data=part, headers=headers, timeout=30)
        else:
            answer = signed.client.put(path, content=part, headers=headers)
        assert answer.status_code == 200, answer.text
    if finish:
        done = signed("POST", f"/attachments/{upload_id}/finish")
        assert done.status_code == 200 and done.json()["complete"], done.text
    return upload_id


@pytest.fixture
def locker(client, database_url, engine) -> Locker:
    key = new_key(f"locker-{uuid.uuid4().hex[:6]}")
    signed = Signed(client, key)
    assert signed.enrol(new_code(database_url, key.device_id, COMMUNITY)).status_code == 201
    with engine.begin() as conn:
        set_locker_grid(conn, key.device_id, COMMUNITY, GRID, "幸福里 1 号柜")
    return Locker(signed)


@pytest.fixture
def household(engine) -> str:
    with engine.begin() as conn:
        put(conn, "household", "hh-12-3-401", {"address": "幸福里12号楼3单元401室", "grid": GRID, "members": [
            {"name": "张晓明", "id_number": RESIDENT_ID, "phone": PHONE}]}, COMMUNITY)
    return "hh-12-3-401"


@pytest.fixture
def staff(app, engine):
    """staff(username, role="worker", grid=GRID, department=None) -> a TestClient signed in as
    that account (role "staff" with a ``department``)."""
    clients = []

    def make(username: str, role: str = "worker", grid: str | None = GRID, name: str = "王芳",
             department: str | None = None, community: str | None = COMMUNITY) -> TestClient:
        with engine.begin() as conn:
            create_account(conn, username=username, password="pass-" + username + "-1", name=name, role=role,
                           community=community, grid=grid if role == "worker" else None,
                           department=department if role == "staff" else None)
        client = TestClient(app)
        clients.append(client)
        return login(client, username, "pass-" + username + "-1")
    yield make
    for client in clients:
        client.close()


def deposit_case(locker: Locker, household: str, case_id: str | None = None) -> str:
    case_id = case_id or f"case-{uuid.uuid4().hex[:8]}"
    assert locker.push(case_id, "created", household=household, resident_id=RESIDENT_ID, resident_name="张晓明",
                       department="民政科", item="高龄补贴申请",
                       materials=["身份证复印件", "户口本复印件"])["status"] == "applied"
    assert locker.push(case_id, "materials_deposited", door=7, locker=locker.device_id)["status"] == "applied"
    return case_id
