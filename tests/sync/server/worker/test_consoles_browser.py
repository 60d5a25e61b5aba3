"""Alarms, materials and the department's cases in headless Chromium against a real
server process: a locker pushes a case, a scanned page and a forced-door alarm through
the signed sync API over HTTP; the grid worker sees the alarm on her phone with what
to do, the image on the case page (drawn through the access-checked route; another
grid's worker gets 404 for it), and marks the alarm handled. Department staff move
from their video console to their cases, ring a call-back and close it, and find
another department's case "not found". Screenshots in test-artifacts/<test>/."""
from __future__ import annotations

import uuid

import pytest
import requests

from sync.server import db
from sync.server.content import put
from sync.server.video import departments
from sync.server.worker.cases import set_locker_grid
from tests.browser import screenshot, sign_in
from tests.sync.server.support import COMMUNITY, Signed, event, new_key
from tests.sync.server.worker.conftest import GRID, RESIDENT_ID, upload
from tests.sync.server.worker.test_materials import scan_png

DOOR = "bus0/1/7"


class Appliance:
    """An enrolled locker talking to the live server over HTTP, signed like the agent."""

    def __init__(self, server, grid: str = GRID, name: str = "幸福里 1 号柜") -> None:
        self.key = new_key(f"locker-{uuid.uuid4().hex[:6]}")
        code = server.run_cli("enrol-code", "--community", COMMUNITY, "--device-id", self.key.device_id).stdout.strip()
        self.signed = Signed(requests.Session(), self.key, base_url=server.url)
        assert self.signed.enrol(code).status_code == 201
        self.seq = 0
        with _engine(server) as engine, engine.begin() as conn:
            set_locker_grid(conn, self.key.device_id, COMMUNITY, grid, name)

    def push(self, aggregate_id: str, event_type: str, aggregate_type: str = "case", **payload) -> str:
        self.seq += 1
        if aggregate_type != "case":
            payload = {"locker": self.key.device_id, **payload}
        pushed = event(aggregate_id, event_type, self.seq, aggregate_type=aggregate_type, payload=payload)
        answer = self.signed("POST", "/events", {"events": [pushed]})
        assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "applied", answer.text
        return pushed["id"]


@pytest.fixture
def appliances():
    """``appliances(server, …)`` -> an Appliance; their HTTP sessions closed afterwards."""
    made = []

    def make(server, **options) -> Appliance:
        made.append(Appliance(server, **options))
        return made[-1]
    yield make
    for appliance in made:
        appliance.signed.client.close()


class _engine:
    def __init__(self, server) -> None:
        self.engine = db.create(server.database_url)

    def __enter__(self):
        return self.engine

    def __exit__(self, *exc) -> None:
        self.engine.dispose()


def test_a_forced_door_and_a_scanned_page_reach_the_workers_phone(live_server, phone_page, browser, artifacts,
                                                                  appliances):
    server = live_server
    with _engine(server) as engine, engine.begin() as conn:
        put(conn, "household", "hh-0012", {"grid": GRID, "members": [
            {"name": "张晓明", "id_number": RESIDENT_ID, "phone": "13800138000"}]}, COMMUNITY)
    locker = appliances(server)
    case_id = f"DO-{uuid.uuid4().hex[:6].upper()}"
    locker.push(case_id, "created", household="hh-0012", resident_id=RESIDENT_ID, item="高龄补贴申请",
                department="民政科")
    locker.push(DOOR, "reserved", "door", door=7, case=case_id, purpose="dropoff")
    locker.push(DOOR, "occupied", "door", door=7, case=case_id, opening=12)
    locker.push(case_id, "materials_deposited", door=7, opening=12)
    png = scan_png()
    image_id = upload(locker.signed, case_id, png, "image/png", "户口本首页.png", chunk=4096)
    locker.push(DOOR, "forced", "door", door=7, alarm=True)  # the door opened with no command

    server.add_account("w-li", "worker-pass-1", "worker", name="李网格", community=COMMUNITY, grid=GRID)
    server.add_account("w-zhao", "worker-pass-2", "worker", name="赵网格", community=COMMUNITY, grid="二网格")
    page = phone_page
    sign_in(page, server, "w-li", "worker-pass-1")
    page.goto(f"{server.url}/worker")
    alarms = page.locator("#alarms")
    text = alarms.inner_text()
    assert "柜门被异常打开" in text and "幸福里 1 号柜" in text and "门 7" in text and case_id in text
    assert "没有人扫码开门" in text  # what to do, in plain Chinese
    assert page.locator(".wait-list").first.is_visible()  # what waits in the locker is still listed below
    screenshot(page, artifacts, "01-alarm-on-her-lockers")

    alarms.get_by_role("link", name=case_id).click()
    page.wait_for_url(f"**/worker/cases/{case_id}")
    image = page.locator("#materials img")
    image.scroll_into_view_if_needed()
    page.wait_for_function("() => { const i = document.querySelector('#materials img');"
                           " return i && i.complete && i.naturalWidth === 180; }")
    assert "户口本首页.png" in page.locator("#materials").inner_text()
    assert "图片（PNG）" in page.locator("#materials").inner_text()
    timeline = page.locator(".timeline").inner_text()
    assert "告警：柜门被异常打开" in timeline and "待处理" in timeline
    screenshot(page, artifacts, "02-case-with-its-scan-and-the-alarm")

    url = f"{server.url}/worker/cases/{case_id}/materials/{image_id}"
    mine = page.request.get(url)
    assert mine.status == 200 and mine.body() == png and "no-store" in mine.headers["cache-control"]
    other = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        stranger = other.new_page()
        sign_in(stranger, server, "w-zhao", "worker-pass-2")
        refused = stranger.request.get(url)
        assert refused.status == 404 and refused.body() != png
        stranger.goto(f"{server.url}/worker")
        assert stranger.locator("#alarms").count() == 0  # not her grid's locker
    finally:
        other.close()
    assert requests.get(url, timeout=10).status_code == 401  # nobody signed in

    page.goto(f"{server.url}/worker")
    page.get_by_label("处理说明（可不填）").fill("已到现场，门已关好，材料齐全")
    page.get_by_role("button", name="已处理").click()
    assert "已标记为处理完毕" in page.get_by_role("status").inner_text()
    assert page.locator("#alarms").count() == 0
    screenshot(page, artifacts, "03-alarm-handled")
    page.goto(f"{server.url}/worker/cases/{case_id}")
    assert "已处理（网格员 w-li" in page.locator(".timeline").inner_text()


@pytest.mark.parametrize("live_server", ["postgresql"], indirect=True)
def test_department_staff_work_their_cases(live_server, page, artifacts, appliances):
    server = live_server
    with _engine(server) as engine, engine.begin() as conn:
        departments.add(conn, "civil_affairs", "民政", "Civil affairs", recording=True)
        departments.add(conn, "social_security", "社保", "Social security")
        put(conn, "guide_item", "elderly-subsidy", {"name": "高龄补贴申请", "department": "民政"})
    locker = appliances(server)
    ours = f"DO-{uuid.uuid4().hex[:6].upper()}"
    locker.push(ours, "created", item_id="elderly-subsidy", item="高龄补贴申请", resident_name="张晓明")
    locker.push(ours, "materials_deposited", door=3)
    theirs = f"DO-{uuid.uuid4().hex[:6].upper()}"
    locker.push(theirs, "created", department="social_security", item="社保卡补办")
    placed = locker.signed("POST", "/video/calls", {"department": "civil_affairs", "context": {"topic": "低保"}})
    assert placed.status_code == 201, placed.text
    called = locker.signed("POST", f"/video/calls/{placed.json()['call_id']}/callback", {"phone": "13912345678"})
    assert called.status_code == 201, called.text
    callback = called.json()["case_id"]

    server.add_account("staff-civil", "staff-pass-1", "staff", name="民政窗口", department="civil_affairs")
    sign_in(page, server, "staff-civil", "staff-pass-1")
    assert page.url.endswith("/staff")  # her video console …
    screenshot(page, artifacts, "00-video-console")
    page.get_by_role("link", name="本科室案件").click()  # … links to the department's cases
    page.wait_for_url("**/staff/cases")
    listing = page.locator("main").inner_text()
    assert ours in listing and callback in listing and theirs not in listing and "回电请求" in listing
    assert page.get_by_role("link", name="通话录像").count() == 1  # the console's nav, as on /staff
    screenshot(page, artifacts, "01-our-cases")

    page.get_by_role("link", name=callback).click()
    assert page.locator("#callback-phone").inner_text() == "13912345678"
    screenshot(page, artifacts, "02-a-call-back-to-make")
    page.get_by_label("回电结果（会记入案件经过）").fill("已回电：下周一带户口本到民政窗口办理低保")
    page.get_by_role("button", name="已回电，办结").click()
    assert page.locator("#state").inner_text() == "已办结"
    timeline = page.locator(".timeline").inner_text()
    assert "下周一带户口本" in timeline and "科室工作人员 staff-civil" in timeline and "视频咨询" in timeline
    assert page.locator("#callback-phone").count() == 0
    screenshot(page, artifacts, "03-call-back-closed")

    page.goto(f"{server.url}/staff/cases/{ours}")
    assert "高龄补贴申请" in page.locator("main").inner_text() and page.get_by_role("button").filter(
        has_text="已回电").count() == 0  # the grid worker's case: read only
    page.goto(f"{server.url}/staff/cases/{theirs}")  # another department's, by typing its number
    assert "找不到这个案件" in page.locator("main").inner_text() and "社保卡补办" not in page.content()
    screenshot(page, artifacts, "04-another-departments-case-not-found")

    page.goto(f"{server.url}/staff/stats")
    stats = page.locator("main").inner_text()
    assert "科室：民政" in stats and "社保" not in stats
    screenshot(page, artifacts, "05-our-statistics")
