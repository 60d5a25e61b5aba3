"""What an admin does in the console reaches a kiosk at its next sync: a real server
process, the console in Chromium, a real sync agent, and the kiosk's own readers of
what the agent pulled (kiosk/store)."""
from __future__ import annotations

from datetime import date

import pytest

from kiosk.store.announcements import current_announcements
from kiosk.store.content import SyncedContent
from kiosk.store.guide import Guide
from sync.agent import Agent
from sync.store import Store
from tests.browser import screenshot, sign_in
from tests.sync.server.support import new_key

COMMUNITY = "示范社区"
HOUSEHOLDS = ("户号,网格,地址,姓名,身份证号,与户主关系,联系电话,备注\n"
              "XF-0001,一网格,幸福里12号楼3单元401室,张晓明,110101198503120033,户主,13800000000,\n")


@pytest.mark.parametrize("live_server", ["postgresql"], indirect=True)
def test_a_kiosk_gets_what_the_admin_publishes_at_its_next_sync(live_server, page, artifacts, tmp_path):
    live_server.add_account("alice", "admin-pass-1", "admin", name="李敏", community=COMMUNITY)
    live_server.add_account("bob", "admin-pass-1", "admin", name="Bob", community="幸福社区")
    sign_in(page, live_server, "alice", "admin-pass-1")
    page.goto(f"{live_server.url}/admin/devices")
    page.get_by_label("终端编号").fill("kiosk-09")
    page.get_by_role("button", name="生成注册码").click()
    (tmp_path / "enrolment-code").write_text(page.locator("#new-code").inner_text().strip())

    store = Store(tmp_path / "appliance.db")
    state_path = tmp_path / "appliance.sync.db"
    agent = Agent(store, new_key("kiosk-09"), live_server.url, state_path, data_dir=tmp_path,
                  enrolment_code_file=tmp_path / "enrolment-code", timeout_s=20)
    try:
        agent.run_once()  # enrols with the console's code, pulls, sends its heartbeat
        assert not (tmp_path / "enrolment-code").exists()
        page.goto(f"{live_server.url}/admin/devices")
        row = page.get_by_role("row", name="kiosk-09").first.inner_text()
        assert "在线" in row

        page.goto(f"{live_server.url}/admin/announcements/new")
        page.get_by_label("公告内容（中文）").fill("社区服务中心周日休息")
        page.get_by_role("button", name="发布").click()
        page.goto(f"{live_server.url}/admin/guide/new")
        page.get_by_label("事项编号").fill("residence-proof")
        page.get_by_label("事项名称", exact=True).fill("居住证明")
        page.get_by_label("所需材料（每行一项）").fill("居民身份证 | 原件\n租房合同 | 复印件 | 1")
        page.get_by_role("button", name="保存").click()
        page.goto(f"{live_server.url}/admin/households/import")
        page.set_input_files("#file", files=[{"name": "h.csv", "mimeType": "text/csv",
                                              "buffer": HOUSEHOLDS.encode()}])
        page.get_by_role("button", name="检查并导入").click()
        page.wait_for_url(f"{live_server.url}/admin/households")
        # another community's admin publishes too: this kiosk must not get it
        other = page.context.browser.new_context()
        try:
            bob = other.new_page()
            sign_in(bob, live_server, "bob", "admin-pass-1")
            bob.goto(f"{live_server.url}/admin/announcements/new")
            bob.get_by_label("公告内容（中文）").fill("幸福社区的公告")
            bob.get_by_role("button", name="发布").click()
        finally:
            other.close()

        agent.run_once()  # the kiosk's next sync
    finally:
        agent.close()
        store.close()

    content = SyncedContent(state_path)
    shown = current_announcements(content, COMMUNITY, date.today())
    assert [a.zh for a in shown] == ["社区服务中心周日休息"]
    guide = Guide.from_synced(state_path)
    item = guide.item("residence-proof")
    assert item.name == "居住证明" and [m.material for m in item.materials] == ["居民身份证", "租房合同"]
    (record,) = content.records("household").values()
    assert record["members"][0]["name"] == "张晓明" and record["grid"] == "一网格"
    page.goto(f"{live_server.url}/admin")
    screenshot(page, artifacts, "overview-after-sync")
