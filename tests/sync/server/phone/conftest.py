"""Fixtures for the phone pages in-process (each test on SQLite and on PostgreSQL): the
app with the log Notifier writing to a file (SMS codes are read from it), a kiosk and a
locker enrolled in the community, a household record, and residents signing in."""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sync.server import create_app
from sync.server.content import put
from sync.server.notify import delivery
from sync.server.notify.adapters import LogNotifier
from sync.server.worker.cases import set_locker_grid
from tests.sync.server.support import COMMUNITY, Signed, event, new_code, new_key

GRID = "一网格"
HOUSEHOLD = f"{COMMUNITY}/XF-0001"
ZHANG = {"name": "张晓明", "id_number": "110101198503120033", "relation": "head", "phone": "13800138000"}
LI = {"name": "李秀英", "id_number": "11010119550708002X", "relation": "spouse", "phone": "13900139000"}
ITEM = f"{COMMUNITY}/gaoling"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9"


@pytest.fixture
def sms_log(tmp_path) -> Path:
    return tmp_path / "sms.jsonl"


@pytest.fixture
def app(database_url, monkeypatch, sms_log):
    monkeypatch.setenv("SYNC_NOTIFY_LOOP", "0")
    monkeypatch.setenv("SYNC_PHONE_PURGE", "0")
    monkeypatch.setenv("SYNC_NOTIFY_LOG_FILE", str(sms_log))
    monkeypatch.setenv("SYNC_PUBLIC_URL", "https://server.example")
    return create_app(database_url)


@pytest.fixture
def engine(app):
    return app.state.engine


def deliver(engine, sms_log: Path) -> list[dict]:
    """Send what is due through the log Notifier; every message in the log so far."""
    from sync.server.notify.settings import from_env

    delivery.deliver_due(engine, LogNotifier(sms_log), from_env())
    return [json.loads(line) for line in sms_log.read_text(encoding="utf-8").splitlines()] if sms_log.exists() else []


def last_code(engine, sms_log: Path, phone: str) -> str:
    texts = [m["text"] for m in deliver(engine, sms_log) if m["phone"] == phone and m["kind"] == "signin_code"]
    assert texts, f"no sign-in code sent to {phone}"
    return re.search(r"验证码是 (\d{6})", texts[-1]).group(1)


@dataclass
class Device:
    signed: Signed
    seq: int = 0

    @property
    def device_id(self) -> str:
        return self.signed.key.device_id

    def push(self, aggregate_id: str, event_type: str, aggregate_type: str = "case", **payload) -> dict:
        self.seq += 1
        answer = self.signed("POST", "/events", {"events": [event(aggregate_id, event_type, self.seq, payload=payload,
                                                                   aggregate_type=aggregate_type)]})
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]


@pytest.fixture
def seeded(app, engine, database_url) -> dict:
    """A household (two members), a guide item, a locker of GRID and a kiosk; their ids."""
    devices = {}
    with TestClient(app) as client:
        for name in ("locker", "kiosk"):
            key = new_key(f"{name}-{uuid.uuid4().hex[:6]}")
            signed = Signed(client, key)
            assert signed.enrol(new_code(database_url, key.device_id, COMMUNITY)).status_code == 201
            devices[name] = key.device_id
    with engine.begin() as conn:
        put(conn, "household", HOUSEHOLD, {"household_id": "XF-0001", "community": COMMUNITY, "grid": GRID,
                                           "address": "幸福里12号楼3单元401室", "note": "", "members": [ZHANG, LI]},
            COMMUNITY)
        put(conn, "guide_item", ITEM, {"name": "高龄补贴申请", "name_en": "Old-age allowance", "category": "民政",
                                       "department": "民政科", "department_en": "Civil affairs",
                                       "place": "社区服务中心一楼 3 号窗口", "hours": "周一至周五 9:00–17:00",
                                       "time_limit": "10 个工作日", "contact": "010-12345678",
                                       "materials": [{"material": "身份证复印件", "form": "copy", "copies": 1},
                                                     {"material": "户口本复印件", "form": "copy", "copies": 1}]},
            COMMUNITY)
        put(conn, "guide_item", f"{COMMUNITY}/juzhu", {"name": "居住证明", "name_en": "Proof of residence",
                                                      "category": "证明", "department": "社区居委会",
                                                      "materials": [{"material": "身份证原件", "form": "original"}]},
            COMMUNITY)
        set_locker_grid(conn, devices["locker"], COMMUNITY, GRID, "幸福里 1 号柜")
    return devices


class Phone:
    """A resident's phone: a TestClient with her cookies."""

    def __init__(self, app, engine, sms_log: Path, ip: str = "10.0.0.1") -> None:
        self.client = TestClient(app, client=(ip, 50000))
        self.engine, self.sms_log = engine, sms_log

    def csrf(self, path: str = "/phone/signin") -> str:
        return re.search(r'name="csrf" value="([^"]+)"', self.client.get(path).text).group(1)

    def scan(self, device_id: str):
        return self.client.get(f"/phone/d/{device_id}", follow_redirects=False)

    def ask_code(self, phone: str):
        return self.client.post("/phone/signin", data={"phone": phone, "csrf": self.csrf(), "next": "/phone"})

    def send_code(self, phone: str, code: str):
        return self.client.post("/phone/signin/verify", data={"phone": phone, "code": code, "csrf": self.csrf(),
                                                              "next": "/phone"}, follow_redirects=False)

    def sign_in(self, phone: str) -> Phone:
        assert self.ask_code(phone).status_code == 200
        answer = self.send_code(phone, last_code(self.engine, self.sms_log, phone))
        assert answer.status_code == 303, answer.text
        return self

    def apply(self, key: str = ITEM, photos: dict | None = None, **fields):
        data = {"csrf": self.csrf(f"/phone/apply/{key}"), **fields}
        return self.client.post(f"/phone/apply/{key}", data=data, files=photos or None, follow_redirects=False)


@pytest.fixture
def phone(app, engine, sms_log) -> Iterator:
    made = []

    def make(ip: str = "10.0.0.1") -> Phone:
        made.append(Phone(app, engine, sms_log, ip))
        return made[-1]
    yield make
    for p in made:
        p.client.close()
