"""Who may open a signaling socket: a kiosk only with the server-signed token of its
own call, a console only with a staff session."""
from __future__ import annotations

import asyncio
import json

import pytest
import requests
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from appliance.keys import DeviceKey
from sync.server.video.tokens import issue
from tests.sync.server.support import Signed
from tests.sync.server.video.support import prepare


def first_message(url: str, **options) -> tuple[dict | None, int | None]:
    """The socket's first message or its close code, on a loop of its own in a thread
    (asyncio.run here would meet the loop Playwright's sync API leaves marked as this
    thread's running one when a browser test ran earlier in the same worker)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _first_message(url, **options)).result(60)


async def _first_message(url: str, **options) -> tuple[dict | None, int | None]:
    try:
        async with connect(url, open_timeout=10, **options) as ws:
            try:
                return json.loads(await asyncio.wait_for(ws.recv(), 10)), None
            except ConnectionClosed as closed:
                return None, closed.rcvd.code if closed.rcvd else None
    except InvalidStatus as refused:
        return None, refused.response.status_code


def test_signaling_sockets_refuse_strangers(live_server):
    site = prepare(live_server, {"wang": "civil_affairs"})
    ws = site.url.replace("http://", "ws://")
    signed = Signed(requests, site.key, base_url=site.url)
    placed = signed("POST", "/video/calls", {"department": "civil_affairs", "context": {}})
    assert placed.status_code == 201, placed.text
    token = placed.json()["token"]

    message, _ = first_message(f"{ws}/video/ws/kiosk?token={token}")
    assert message == {"type": "queued", "position": 1, "wait_s": 0, "staff_online": 0}

    forged = issue(DeviceKey.generate("not-the-server"), {"sub": "kiosk", "device": site.key.device_id,
                                                          "call": placed.json()["call_id"]}, 60)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (forged, tampered, "", "VT1.e30.AAAA"):
        message, code = first_message(f"{ws}/video/ws/kiosk?token={bad}")
        assert message is None and code in (403, 4401), (bad, code)

    message, code = first_message(f"{ws}/video/ws/staff")  # no session cookie
    assert message is None and code in (403, 4401)


def test_a_call_back_needs_a_phone_number_and_the_kiosks_own_call(live_server):
    site = prepare(live_server, {})
    signed = Signed(requests, site.key, base_url=site.url)
    call_id = signed("POST", "/video/calls", {"department": "veterans", "context": {}}).json()["call_id"]
    refused = signed("POST", f"/video/calls/{call_id}/callback", {"phone": "abc"})
    assert refused.status_code == 422 and "11位手机号" in refused.json()["detail"]
    from tests.sync.server.video.support import enrol

    stranger = Signed(requests, enrol(site.server), base_url=site.url)
    assert stranger("POST", f"/video/calls/{call_id}/callback", {"phone": "13800138000"}).status_code == 404
    done = signed("POST", f"/video/calls/{call_id}/callback", {"phone": "13800138000"})
    assert done.status_code == 201 and done.json()["case_id"].startswith("VC-")
    again = signed("POST", f"/video/calls/{call_id}/callback", {"phone": "13800138000"})
    assert again.status_code == 409  # one call, one call-back case


@pytest.mark.parametrize("key,name,timeout", [("X", "民政", 60), ("civil", "", 60), ("civil", "民政", 3)])
def test_bad_departments_are_refused_with_the_reason(tmp_path, key, name, timeout):
    from sync.server import db, migrations
    from sync.server.video import departments
    from sync.server.video.errors import BadDepartment

    engine = db.create(f"sqlite:///{tmp_path / 's.db'}")
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn, pytest.raises(BadDepartment) as refused:
            departments.add(conn, key, name, answer_timeout_s=timeout)
        assert refused.value.message
    finally:
        engine.dispose()


def test_the_department_cli(live_server):
    done = live_server.run_cli("department", "add", "--key", "housing", "--name", "住建", "--name-en", "Housing",
                               "--answer-timeout", "30", "--recording")
    assert "housing\t住建\tHousing\tanswer in 30 s\trecorded" in done.stdout
    listed = live_server.run_cli("department", "list").stdout
    assert listed.splitlines() == ["housing\t住建\tHousing\tanswer in 30 s\trecorded"]
