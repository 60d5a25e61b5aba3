"""A resident's report (报事) through the grid worker's console in headless Chromium on
a phone viewport, against a real server process: made on the resident's phone, it is on
the worker's home list and behind the console's "居民报事" link; she starts handling it,
then resolves it with a note the Notifier sends the resident by SMS (the log Notifier's
file), and the resident's page says it is dealt with. Screenshots in test-artifacts/."""
from __future__ import annotations

import json
import time

import pytest

from tests.browser import screenshot, sign_in
from tests.sync.server.phone.conftest import ZHANG
from tests.sync.server.phone.support import phone_sign_in, seed
from tests.sync.server.support import COMMUNITY

LOCKER = "locker-fxl-01"


@pytest.fixture
def server(request, monkeypatch, tmp_path):
    log = tmp_path / "sms.jsonl"
    monkeypatch.setenv("SYNC_NOTIFY_LOG_FILE", str(log))
    monkeypatch.setenv("SYNC_NOTIFY_INTERVAL_S", "0.1")
    live = request.getfixturevalue("live_server")
    seed(live.database_url, live.url)
    live.sms_log = log
    return live


def sms_to(log, phone: str, containing: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                sent = json.loads(line)
                if containing in json.dumps(sent, ensure_ascii=False) and phone in json.dumps(sent):
                    return line
        time.sleep(0.1)
    raise AssertionError(f"no SMS to {phone} saying {containing!r} in {log}")


def test_a_report_is_on_the_workers_home_list_and_goes_from_started_to_resolved(server, phone_page, browser,
                                                                                  artifacts):
    page = phone_page
    page.goto(f"{server.url}/phone/d/{LOCKER}")
    phone_sign_in(page, server.url, server.sms_log, ZHANG["phone"])
    page.goto(f"{server.url}/phone/report")
    page.get_by_label("发生了什么").fill("5号楼门口的路灯不亮了")
    page.get_by_label("地点").fill("5号楼门口")
    page.get_by_role("button", name="提交给网格员").click()
    page.get_by_role("heading", name="下一步").wait_for()
    report_id = page.url.rsplit("/", 1)[1]

    server.add_account("w-li", "worker-pass-1", "worker", name="李网格", community=COMMUNITY, grid="一网格")
    worker = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                 locale="zh-CN")
    try:
        console = worker.new_page()
        sign_in(console, server, "w-li", "worker-pass-1")
        console.goto(f"{server.url}/worker")
        reports = console.locator("#reports")
        assert "5号楼门口" in reports.inner_text() and "待处理" in reports.inner_text()
        assert console.get_by_role("link", name="居民报事").count() == 1  # the console's nav
        screenshot(console, artifacts, "01-worker-home")
        console.get_by_role("link", name="居民报事").click()
        assert console.url.endswith("/worker/reports") and "5号楼门口的路灯不亮了" in console.locator("main").inner_text()

        console.goto(f"{server.url}/worker/cases/{report_id}")
        assert "5号楼门口的路灯不亮了" in console.locator("#report-text").inner_text()
        assert console.get_by_role("button", name="审核通过").count() == 0  # not an application's actions
        screenshot(console, artifacts, "02-report-case")
        console.get_by_role("button", name="开始处理").click()
        assert console.locator("#state").inner_text() == "处理中" and "案件已更新：处理中" in console.locator("main").inner_text()
        # resolving needs a note for the resident
        console.get_by_label("处理结果（以短信发给居民）").fill("已更换灯泡，今晚起正常照明")
        screenshot(console, artifacts, "03-being-handled")
        console.get_by_role("button", name="处理完毕，回复居民").click()
        assert console.locator("#state").inner_text() == "已处理"
        main = console.locator("main").inner_text()
        assert "已更换灯泡" in main and "开始处理" not in main.split("经过")[0]
        screenshot(console, artifacts, "04-resolved")
        sms_to(server.sms_log, ZHANG["phone"], "已更换灯泡，今晚起正常照明")
        console.goto(f"{server.url}/worker")
        assert console.locator("#reports").count() == 0 and "没有待处理的居民报事" in console.locator("main").inner_text()
    finally:
        worker.close()

    page.goto(f"{server.url}/phone/cases/{report_id}")
    assert "已处理完毕" in page.locator("main").inner_text() and "网格员处理中" in page.locator("main").inner_text()
    screenshot(page, artifacts, "05-resident-sees-it-done")
