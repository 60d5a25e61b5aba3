"""The residents' pages in headless Chromium on a phone (390×844, touch) against a real
server process: scan a sticker, sign in with the SMS code from the log Notifier, search
the guide, apply with a photo and read the booking QR off the screen with zbarimg,
follow progress to the pickup code and rate, report a problem, switch to English, large
text; another resident's case is 404. Screenshots in test-artifacts/<test>/."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from appliance.keys import TrustedKeys
from locker import codes as locker_codes
from sync.server import db, keys
from sync.server.models import Case
from tests.browser import screenshot
from tests.sync.server.phone.conftest import ITEM, JPEG, LI, ZHANG
from tests.sync.server.phone.support import (MAX_PAGE_BYTES, Weigh, low_contrast, no_sideways_scroll, phone_sign_in,
                                             read_qr, reading_order_problems, seed, unlabelled_fields)
from tests.sync.server.support import COMMUNITY, Signed, event, new_code, new_key

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


def test_scan_sign_in_search_apply_and_read_the_booking_qr(server, phone_page, artifacts):
    page = phone_page
    weigh = Weigh(page)
    page.goto(f"{server.url}/phone/d/{LOCKER}")
    assert "幸福里 1 号柜" in page.locator("main").inner_text()
    assert unlabelled_fields(page) == [] and no_sideways_scroll(page)
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    screenshot(page, artifacts, "01-start")
    phone_sign_in(page, server.url, server.sms_log, ZHANG["phone"], artifacts)
    assert "138****8000" in page.locator("main").inner_text()
    page.get_by_role("link", name="办事指南").first.click()
    page.get_by_label("搜索事项").fill("补贴")
    page.get_by_role("button", name="搜索").click()
    items = page.locator("main .items").inner_text()
    assert "高龄补贴申请" in items and "居住证明" not in items
    screenshot(page, artifacts, "03-guide-search")
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    page.get_by_role("link", name="高龄补贴申请").click()
    text = page.locator("main").inner_text()
    assert "身份证复印件" in text and "社区服务中心一楼 3 号窗口" in text and "周一至周五" in text
    screenshot(page, artifacts, "04-item")
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    page.get_by_role("link", name="在线申请并预约投递").click()
    assert "张晓明" in page.locator("main").inner_text() and ZHANG["id_number"] not in page.content()
    assert "1101**********0033" in page.locator("main").inner_text()
    page.set_input_files("#photo_0", files=[{"name": "id.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    page.get_by_label("备注（选填）").fill("周六上午去投递")
    assert unlabelled_fields(page) == []
    screenshot(page, artifacts, "05-apply")
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    page.get_by_role("button", name="提交并获取预约码").click()
    page.get_by_role("heading", name="预约投递二维码").wait_for()
    assert page.get_by_role("status").inner_text().startswith("申请已提交")
    short = page.locator(".short-code").inner_text()
    assert len(short) == 9 and short[4] == "-"
    screenshot(page, artifacts, "06-booking")
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    text = read_qr(page, ".ticket .qr-box", artifacts / "booking-qr.png")
    case_id = page.url.rsplit("/", 1)[1]
    engine = db.create(server.database_url)
    try:
        with engine.connect() as conn:
            server_key = keys.load(conn)
            assert conn.execute(select(Case.state).where(Case.id == case_id)).scalar_one() == "created"
    finally:
        engine.dispose()
    code = locker_codes.check(text, TrustedKeys().with_key("server", server_key.public_key), locker_id=LOCKER,
                              server_key_id="server", worker_max_minutes=30)
    assert code.kind == "booking" and code.case == case_id
    page.reload()
    assert page.locator(".short-code").count() == 0  # shown once
    page.goto(f"{server.url}/phone/cases/{case_id}?lang=en")
    assert "Booking QR for the locker" in page.locator("main").inner_text()
    screenshot(page, artifacts, "07-booking-en")
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    page.goto(f"{server.url}/phone/cases?lang=zh")
    screenshot(page, artifacts, "08-my-cases")
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    url, heaviest = weigh.heaviest()
    assert heaviest < MAX_PAGE_BYTES, (url, heaviest)


def test_progress_pickup_rating_report_large_text_and_privacy(server, phone_page, browser, artifacts):
    # a kiosk case of Zhang's, through to the result in a locker (the locker's events)
    locker = Signed(requests, new_key("locker-fxl-02"), base_url=server.url)
    assert locker.enrol(new_code(server.database_url, locker.key.device_id, COMMUNITY)).status_code == 201
    steps = [("created", {"resident_id": ZHANG["id_number"], "item": "居住证明", "item_id": f"{COMMUNITY}/juzhu"}),
             ("materials_deposited", {"door": 3}), ("collected", {}), ("in_review", {}), ("approved", {}),
             ("result_deposited", {"door": 5}),
             ("pickup_code_issued", {"door": 5, "code": "LKR1.P.eyJ4IjoxfQ.c2ln", "short": "40178263",
                                     "expires_at": 1900000000})]
    answer = locker("POST", "/events", {"events": [event("KIOSK-0042", kind, n + 1, payload=payload)
                                                   for n, (kind, payload) in enumerate(steps)]})
    assert answer.status_code == 200 and {r["status"] for r in answer.json()["results"]} == {"applied"}
    page = phone_page
    page.goto(f"{server.url}/phone/d/{LOCKER}")
    phone_sign_in(page, server.url, server.sms_log, ZHANG["phone"])
    page.get_by_role("link", name="我的进度").first.click()
    assert "居住证明" in page.locator("main").inner_text()
    page.get_by_role("link", name="居住证明").click()
    main = page.locator("main").inner_text()
    assert "40178263" in main, main  # the pickup short code, to type at the locker without the QR
    assert "结果已放入云柜" in main and "审核通过" in main
    assert read_qr(page, ".pickup .qr-box", artifacts / "pickup-qr.png") == "LKR1.P.eyJ4IjoxfQ.c2ln"
    screenshot(page, artifacts, "01-pickup")
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    answer = locker("POST", "/events", {"events": [event("KIOSK-0042", "picked_up", 9, payload={"door": 5})]})
    assert answer.json()["results"][0]["status"] == "applied"
    page.reload()
    assert "40178263" not in page.locator("main").inner_text()
    page.get_by_text("4 星").click()
    page.get_by_label("留言（选填）").fill("不用排队，很方便")
    screenshot(page, artifacts, "02-rate")
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    page.get_by_role("button", name="提交评价").click()
    assert "感谢您的评价" in page.get_by_role("status").inner_text()
    assert "4 / 5" in page.locator("main").inner_text()

    page.get_by_role("link", name="报事").first.click()
    page.get_by_label("发生了什么").fill("3单元楼道灯坏了，晚上很黑")
    page.get_by_label("地点").fill("12号楼3单元")
    page.set_input_files("#photo", files=[{"name": "light.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    screenshot(page, artifacts, "03-report")
    assert low_contrast(page) == [] and reading_order_problems(page) == []
    page.get_by_role("button", name="提交给网格员").click()
    page.get_by_role("heading", name="下一步").wait_for()
    assert "网格员" in page.locator(".next-step").inner_text() and "12号楼3单元" in page.locator("main").inner_text()
    report_id = page.url.rsplit("/", 1)[1]
    screenshot(page, artifacts, "04-report-sent")
    assert low_contrast(page) == [] and reading_order_problems(page) == []

    page.add_style_tag(content="html { font-size: 200% !important; }")  # the phone's largest text
    assert no_sideways_scroll(page)
    page.goto(f"{server.url}/phone")
    page.add_style_tag(content="html { font-size: 200% !important; }")
    assert no_sideways_scroll(page)
    screenshot(page, artifacts, "05-large-text")
    assert low_contrast(page) == [] and reading_order_problems(page) == []

    # another resident (Li, same household) cannot open Zhang's report by its number
    other = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
    try:
        li = other.new_page()
        li.goto(f"{server.url}/phone/d/{LOCKER}")
        phone_sign_in(li, server.url, server.sms_log, LI["phone"])
        answer = li.goto(f"{server.url}/phone/cases/{report_id}")
        assert answer.status == 404 and "没有找到这个事项" in li.locator("main").inner_text()
        assert li.goto(f"{server.url}/phone/cases/KIOSK-0042").status == 404
        screenshot(li, artifacts, "06-not-hers")
    finally:
        other.close()

    # the grid worker of the household's grid finds the report in her console
    from tests.browser import sign_in
    server.add_account("w-li", "worker-pass-1", "worker", name="李网格", community=COMMUNITY, grid="一网格")
    worker = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    try:
        console = worker.new_page()
        sign_in(console, server, "w-li", "worker-pass-1")
        console.goto(f"{server.url}/worker/reports")
        assert "3单元楼道灯坏了" in console.locator("main").inner_text()
        screenshot(console, artifacts, "07-worker-reports")
        console.get_by_role("link", name="12号楼3单元").click()
        assert report_id in console.locator("main").inner_text()
        screenshot(console, artifacts, "08-worker-case")
    finally:
        worker.close()


def test_the_sticker_printed_from_the_admin_console_opens_the_pages(server, page, phone_page, artifacts):
    from tests.browser import sign_in
    server.add_account("alice", "admin-pass-1", "admin", name="李敏", community=COMMUNITY)
    sign_in(page, server, "alice", "admin-pass-1")
    page.goto(f"{server.url}/admin/devices")
    page.get_by_role("link", name="二维码贴纸").first.click()
    assert "扫码办事" in page.locator("main").inner_text()
    page.emulate_media(media="print")
    screenshot(page, artifacts, "01-sticker-print")
    url = read_qr(page, ".sticker-qr", artifacts / "sticker-qr.png")
    assert url.endswith(f"/phone/d/{LOCKER}")
    phone_page.goto(server.url + url[url.index("/phone/d/"):])
    assert "幸福里 1 号柜" in phone_page.locator("main").inner_text()
    page.emulate_media(media="screen")
    page.goto(f"{server.url}/admin/phones?household={COMMUNITY}/XF-0001")
    page.get_by_label("成员").select_option(label=f"李秀英 · 1101**********002X")
    page.get_by_label("手机号码").fill(LI["phone"])
    page.get_by_role("button", name="关联", exact=True).click()
    assert "139****9000" in page.locator("main").inner_text()
    screenshot(page, artifacts, "02-phone-links")
