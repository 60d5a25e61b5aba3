"""Every page of the worker console in headless Chromium against a real server
process: a grid worker on a phone (her lockers, her worker QR read back by zbarimg,
a case through collect → review → approve → deposit, contacting the resident), the
admin's lockers' grids and statistics on a desktop, the resident's rating link from
the SMS (the log adapter's file) and the public verify page. Screenshots in
test-artifacts/<test>/."""
from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from appliance.keys import TrustedKeys
from forms import stamp as stamps
from locker import codes
from sync.server import db
from sync.server.content import put
from tests.browser import screenshot, sign_in
from tests.support import require_program
from tests.sync.server.support import COMMUNITY, Signed, event, new_key
from tests.sync.server.worker.conftest import GRID, PHONE, RESIDENT_ID


@pytest.fixture
def sms_log(tmp_path, monkeypatch):
    """The server process's notifications go to this file, delivered every 0.2 s."""
    path = tmp_path / "sms.jsonl"
    monkeypatch.setenv("SYNC_NOTIFY_LOG_FILE", str(path))
    monkeypatch.setenv("SYNC_NOTIFY_INTERVAL_S", "0.2")
    monkeypatch.setenv("SYNC_PUBLIC_URL", "http://127.0.0.1:1")  # replaced by the live server's URL below
    return path


def messages(path, kind=None, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        found = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
        found = [m for m in found if kind is None or m["kind"] == kind]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


class Appliance:
    def __init__(self, server) -> None:
        self.key = new_key(f"locker-{uuid.uuid4().hex[:6]}")
        code = server.run_cli("enrol-code", "--community", COMMUNITY, "--device-id", self.key.device_id).stdout.strip()
        self.signed = Signed(requests.Session(), self.key, base_url=server.url)
        assert self.signed.enrol(code).status_code == 201
        self.seq = 0

    def push(self, case_id, event_type, at=None, **payload):
        self.seq += 1
        pushed = event(case_id, event_type, self.seq, payload=payload)
        if at is not None:
            pushed["created_at"] = at.isoformat()
        answer = self.signed("POST", "/events", {"events": [pushed]})
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]


def household(server):
    engine = db.create(server.database_url)
    try:
        with engine.begin() as conn:
            put(conn, "household", f"{COMMUNITY}/XF-0012", {"household_id": "XF-0012", "grid": GRID,
                "address": "幸福里12号楼3单元401室", "members": [
                    {"name": "张晓明", "id_number": RESIDENT_ID, "relation": "head", "phone": PHONE}]}, COMMUNITY)
    finally:
        engine.dispose()
    return f"{COMMUNITY}/XF-0012"


def test_grid_worker_on_her_phone(sms_log, live_server, page, phone_page, artifacts):
    server = live_server
    server.add_account("li", "admin-pass-1", "admin", name="李敏", community=COMMUNITY)
    server.add_account("wang", "worker-pass-1", "worker", name="王芳", community=COMMUNITY, grid=GRID)
    locker = Appliance(server)
    key = household(server)
    waiting = []
    for n in range(3):
        case_id = f"DO-261122-{n}AB"
        locker.push(case_id, "created", household=key, resident_id=RESIDENT_ID, item="高龄补贴申请",
                    department="民政科", materials=["身份证复印件", "户口本复印件"])
        locker.push(case_id, "materials_deposited", door=n + 1,
                    at=datetime.now(timezone.utc) - timedelta(hours=(80, 30, 2)[n]))  # late, waiting, fresh
        waiting.append(case_id)

    # the admin puts the locker in the worker's grid (desktop)
    sign_in(page, server, "li", "admin-pass-1")
    page.goto(f"{server.url}/worker/grids")
    page.get_by_label("云柜编号").fill(locker.key.device_id)
    page.get_by_label("网格").fill(GRID)
    page.get_by_label("名称（居民看到的位置）").fill("幸福里 1 号柜")
    page.get_by_role("button", name="保存").click()
    assert "幸福里 1 号柜" in page.locator("table").inner_text()
    screenshot(page, artifacts, "grids-desktop")

    phone = phone_page
    sign_in(phone, server, "wang", "worker-pass-1")
    assert phone.url == f"{server.url}/worker"
    assert phone.get_by_role("heading", name="幸福里 1 号柜").is_visible()
    items = phone.locator(".wait-list li.wait")
    assert items.count() == 3 and "待取件" in items.first.inner_text()
    assert [items.nth(n).get_attribute("class") for n in range(3)] == ["wait late", "wait waiting", "wait fresh"]
    assert "3 天" in items.first.inner_text()  # oldest first
    screenshot(phone, artifacts, "worker-home-phone")

    # her worker QR, read back by an independent decoder and checked with the server's published key
    phone.get_by_role("link", name="出示我的开柜码").click()
    qr = phone.locator("svg.qr")
    box = qr.bounding_box()
    assert box["width"] >= 250
    shot = screenshot(phone, artifacts, "worker-qr-phone")
    qr.screenshot(path=str(artifacts / "worker-qr-only.png"))
    zbarimg = require_program("zbar-tools", "zbarimg")
    text = subprocess.run([zbarimg, "--raw", "-q", str(artifacts / "worker-qr-only.png")], capture_output=True,
                          text=True, timeout=30).stdout.strip()
    trusted = TrustedKeys.parse(json.dumps({k: v for k, v in requests.get(f"{server.url}/api/v1/keys").json().items()}))
    code = codes.check(text, trusted, locker_id=locker.key.device_id, server_key_id="server", worker_max_minutes=30)
    assert code.worker == "wang" and code.lockers == [locker.key.device_id]
    assert shot.exists()

    # a case through collect → review → approve → deposit
    phone.goto(f"{server.url}/worker")
    phone.get_by_role("link", name=waiting[0]).click()
    assert "张*明" in phone.locator("main").inner_text() and "张晓明" not in phone.content()
    screenshot(phone, artifacts, "case-phone")
    phone.goto(f"{server.url}/worker/cases/{waiting[0]}?lang=en")  # the English switch
    assert phone.get_by_role("button", name="Mark collected").is_visible()
    assert "Materials" in phone.locator("main").inner_text()
    screenshot(phone, artifacts, "case-phone-en")
    phone.goto(f"{server.url}/worker/cases/{waiting[0]}?lang=zh")
    for button, state in (("确认已取件", "已取件"), ("开始审核", "审核中"), ("审核通过", "已通过")):
        phone.get_by_role("button", name=button).click()
        assert phone.locator("#state").inner_text() == state
    screenshot(phone, artifacts, "case-approved-phone")
    phone.get_by_role("link", name="把结果放入云柜").click()
    assert waiting[0] in phone.locator(".big-code").inner_text() and phone.locator("svg.qr").is_visible()
    screenshot(phone, artifacts, "deposit-phone")

    # the second case is returned with reasons; contacting the resident sends an SMS
    phone.goto(f"{server.url}/worker/cases/{waiting[1]}")
    phone.get_by_role("button", name="确认已取件").click()
    phone.get_by_role("button", name="开始审核").click()
    phone.get_by_label("退回原因（每行一条）").fill("缺少户口本原件\n照片不清晰")
    phone.get_by_role("button", name="退回并说明原因").click()
    assert phone.locator("#state").inner_text() == "已退回"
    phone.get_by_label("短信内容").fill("请明天上午带户口本原件来社区服务站")
    phone.get_by_role("button", name="发送").click()
    assert "消息已排队发送" in phone.get_by_role("status").inner_text()
    (sms,) = messages(sms_log, "contact")
    assert sms["phone"] == PHONE and "网格员王芳" in sms["text"]
    phone.reload()
    assert "已发送" in phone.locator("main").inner_text()
    screenshot(phone, artifacts, "case-returned-contacted-phone")

    # the locker deposits the result and hands it over; the resident gets the code, then a rating link
    locker.push(waiting[0], "result_deposited", door=4, worker="wang",
                at=datetime.now(timezone.utc) - timedelta(hours=5, minutes=30))
    locker.push(waiting[0], "pickup_code_issued", door=4, short="24681357", expires_at=time.time() + 7 * 86400)
    (ready,) = messages(sms_log, "pickup_ready")
    assert "24681357" in ready["text"] and "幸福里 1 号柜" in ready["text"] and "4 号门" in ready["text"]
    locker.push(waiting[0], "picked_up", door=4, at=datetime.now(timezone.utc))
    (rate,) = messages(sms_log, "rate_service")
    link = rate["text"].split("评分：", 1)[1].split("（", 1)[0]
    path = link[link.index("/rate/"):]

    resident = phone.context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                                 has_touch=True, locale="zh-CN")
    try:
        mobile = resident.new_page()
        mobile.goto(server.url + path)
        screenshot(mobile, artifacts, "rate-phone")
        mobile.locator("label[for=s4]").click()
        mobile.get_by_label("意见建议（可不填）").fill("网格员很耐心，谢谢")
        screenshot(mobile, artifacts, "rate-four-stars-phone")
        mobile.get_by_role("button", name="提交评价").click()
        assert "感谢您的评价" in mobile.get_by_role("status").inner_text()
        screenshot(mobile, artifacts, "rate-done-phone")
        mobile.goto(server.url + path)
        assert "已经用过" in mobile.get_by_role("alert").inner_text()
    finally:
        resident.close()

    # statistics, for the admin on a desktop and the worker on her phone
    page.goto(f"{server.url}/worker/stats")
    text = page.locator("main").inner_text()
    assert "民政科" in text and "4.0 / 5" in text and "5.5" in text  # hours from deposit to pickup
    screenshot(page, artifacts, "stats-desktop")
    page.goto(f"{server.url}/worker/notifications")
    table = page.locator("table").inner_text()
    assert "已发送" in table and "••••••••" in table and "24681357" not in table  # codes hidden from staff
    screenshot(page, artifacts, "notifications-desktop")
    phone.goto(f"{server.url}/worker/stats")
    screenshot(phone, artifacts, "stats-phone")


@pytest.mark.parametrize("live_server", ["sqlite", "postgresql"], indirect=True)
def test_public_verify_page(live_server, phone_page, artifacts):
    locker = Appliance(live_server)
    stamp = stamps.make(locker.key, template="residence_proof", number=42, canonical=b'{"name":"x"}',
                        issued_at=datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc))
    key = household(live_server)
    locker.push("PR-261122-AAAAA", "created", household=key, resident_id=RESIDENT_ID, certificate=stamp.serial)
    page = phone_page
    page.goto(f"{live_server.url}/verify")
    page.get_by_label("二维码内容").fill(stamp.text)
    page.get_by_role("button", name="核验", exact=True).click()
    result = page.locator("#result").inner_text()
    assert "真实有效" in result and "张*明" in result and stamp.serial in result
    screenshot(page, artifacts, "verify-valid-phone")
    parts = stamp.text.split(".")
    parts[2] = "43"
    page.get_by_label("二维码内容").fill(".".join(parts))
    page.get_by_role("button", name="核验", exact=True).click()
    assert "内容被篡改" in page.locator("#result").inner_text()
    screenshot(page, artifacts, "verify-tampered-phone")
    # the camera button: a photo of the QR (here the rendered code), read on the server in memory
    from tests.sync.server.worker.test_verify import qr_png
    photo = artifacts / "certificate-qr.png"
    photo.write_bytes(qr_png(stamp.text))
    page.locator("#photo").set_input_files(str(photo))
    page.get_by_role("button", name="识别并核验").click()
    assert "真实有效" in page.locator("#result").inner_text()
    screenshot(page, artifacts, "verify-photo-phone")
