"""The admin console in headless Chromium: its nav reaches the lockers' grids and the
residents' notifications; a device in no grid is flagged on /admin/devices and the
grids page (a worker would miss what waits in its locker) until a grid is assigned;
a guide item's photos switch (``"photos": false``) and door size are set from the form.
Screenshots in test-artifacts/<test>/."""
from __future__ import annotations

import requests

from tests.browser import screenshot, sign_in
from tests.sync.server.support import Signed, new_key

COMMUNITY = "示范社区"


def test_nav_unassigned_lockers_and_the_guide_items_photos_and_size(live_server, page, artifacts):
    live_server.add_account("alice", "admin-pass-1", "admin", name="李敏", community=COMMUNITY)
    device = Signed(requests.Session(), new_key("locker-09"), base_url=live_server.url)
    code = live_server.run_cli("enrol-code", "--community", COMMUNITY, "--device-id", "locker-09").stdout.strip()
    assert device.enrol(code).status_code == 201
    sign_in(page, live_server, "alice", "admin-pass-1")

    page.goto(f"{live_server.url}/admin")
    nav = page.locator("nav.sections")
    nav.get_by_role("link", name="居民通知").click()
    assert page.url.endswith("/worker/notifications")
    page.goto(f"{live_server.url}/admin/devices")
    assert "1 台终端还没有分配网格" in page.locator("#unassigned").inner_text()
    assert "未分配网格" in page.locator("tbody").first.inner_text()
    screenshot(page, artifacts, "01-devices-unassigned")
    page.locator("#unassigned").get_by_role("link", name="去分配网格").click()
    assert "/worker/grids?device=locker-09" in page.url
    assert "locker-09" in page.locator("#unassigned").inner_text()
    assert page.get_by_label("云柜编号").input_value() == "locker-09"
    page.get_by_label("网格", exact=True).fill("一网格")
    page.get_by_label("名称（居民看到的位置）").fill("幸福里 9 号柜")
    screenshot(page, artifacts, "02-grids-assign")
    page.get_by_role("button", name="保存").click()
    assert page.locator("#unassigned").count() == 0 and "幸福里 9 号柜" in page.locator("tbody").first.inner_text()
    page.goto(f"{live_server.url}/admin")
    page.locator("nav.sections").get_by_role("link", name="云柜网格").click()
    assert page.url.endswith("/worker/grids")
    page.goto(f"{live_server.url}/admin/devices")
    assert page.locator("#unassigned").count() == 0 and "未分配网格" not in page.locator("tbody").first.inner_text()

    page.goto(f"{live_server.url}/admin/guide/new")
    photos = page.get_by_label("居民申请时可上传材料照片")
    assert photos.is_checked()  # photos allowed unless the admin says otherwise
    page.get_by_label("事项编号").fill("hukou-move")
    page.get_by_label("事项名称", exact=True).fill("户口迁移")
    page.get_by_label("所需材料（每行一项）").fill("户口簿 | 原件 | 1")
    photos.uncheck()
    page.get_by_label("所需柜门大小").select_option("L")
    screenshot(page, artifacts, "03-guide-form")
    page.get_by_role("button", name="保存").click()
    assert "已保存事项 hukou-move" in page.get_by_role("status").inner_text()
    page.goto(f"{live_server.url}/admin/guide/hukou-move")
    assert not page.get_by_label("居民申请时可上传材料照片").is_checked()
    assert page.get_by_label("所需柜门大小").input_value() == "L"
    # what the appliances pull says so
    from sqlalchemy import select

    from sync.server import db
    from sync.server.models import GuideItem
    engine = db.create(live_server.database_url)
    try:
        with engine.connect() as conn:
            data = conn.execute(select(GuideItem.data).where(GuideItem.key == f"{COMMUNITY}/hukou-move")).scalar_one()
    finally:
        engine.dispose()
    assert data["photos"] is False and data["size"] == "L"
