"""Every admin console flow in headless Chromium against a real server process, on a
desktop and on a phone. Screenshots go to test-artifacts/<test>/ to be looked at."""
from __future__ import annotations

import re

import pytest
import requests

from tests.browser import screenshot, sign_in
from tests.support import ROOT
from tests.sync.server.support import Signed, event, new_key

COMMUNITY = "示范社区"
ZHANG, LI, ZHAO = "110101198503120033", "110101198706150021", "110101194501010027"
HEADER = "户号,网格,地址,姓名,身份证号,与户主关系,联系电话,备注\n"
GOOD = HEADER + (f"XF-0001,一网格,幸福里12号楼3单元401室,张晓明,{ZHANG},户主,13800000000,\n"
                 f"XF-0001,,,李娜,{LI},配偶,,\n"
                 f"XF-0002,二网格,幸福里3号楼101室,赵大爷,{ZHAO},户主,010-65000000,独居老人\n")
BAD = GOOD.replace(LI, "110101198706150028").replace("赵大爷,110101194501010027,户主", "赵大爷,110101194501010027,配偶")


@pytest.fixture
def admin(live_server):
    live_server.add_account("alice", "admin-pass-1", "admin", name="李敏", community=COMMUNITY)
    return live_server


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def upload(page, selector: str, name: str, text: str, encoding: str = "utf-8") -> None:
    page.set_input_files(selector, files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode(encoding)}])


@pytest.mark.parametrize("live_server", ["sqlite", "postgresql"], indirect=True)
def test_households_import_fix_edit_export(admin, page, artifacts):
    sign_in(page, admin, "alice", "admin-pass-1")
    assert page.url.endswith("/admin")
    screenshot(page, artifacts, "01-overview")
    page.get_by_role("link", name="一户一档").click()
    assert "还没有档案" in page.locator("main").inner_text()
    page.get_by_role("link", name="导入 CSV").click()
    upload(page, "#file", "一户一档.csv", BAD, "gb18030")  # as Excel saves it in China
    page.get_by_role("button", name="检查并导入").click()
    alert = page.get_by_role("alert").inner_text()
    assert "有 2 处问题，没有导入任何数据" in alert
    problems = page.get_by_role("table", name="导入问题").inner_text()
    assert "第 3 行" in problems and "身份证号" in problems and "第 4 行" in problems and "没有户主" in problems
    screenshot(page, artifacts, "02-import-problems")
    page.goto(f"{admin.url}/admin/households")
    assert "还没有档案" in page.locator("main").inner_text()  # nothing of the bad file
    page.goto(f"{admin.url}/admin/households/import")
    upload(page, "#file", "一户一档.csv", GOOD)
    page.get_by_role("button", name="检查并导入").click()
    page.wait_for_url(f"{admin.url}/admin/households")
    assert "已导入 2 户" in page.get_by_role("status").inner_text()
    text = page.locator("main").inner_text()
    assert "张晓明" in text and "1101**********0033" in text and ZHANG not in text
    screenshot(page, artifacts, "03-households")
    page.get_by_label("搜索").fill("赵大爷")
    page.get_by_role("button", name="搜索").click()
    assert "XF-0002" in page.locator("tbody").inner_text() and "XF-0001" not in page.locator("tbody").inner_text()
    page.get_by_role("link", name="查看/编辑").click()
    page.get_by_label("地址").fill("幸福里3号楼102室")
    page.locator("#member_name_2").fill("钱阿姨")
    page.locator("#member_id_2").fill("110101195001010017")
    page.locator("#member_relation_2").select_option("spouse")
    screenshot(page, artifacts, "04-household-form")
    page.get_by_role("button", name="保存").click()
    assert "已保存户号 XF-0002" in page.get_by_role("status").inner_text()
    assert "幸福里3号楼102室" in page.locator("tbody").inner_text()
    # a mistake in the form is shown above it, nothing saved
    page.get_by_role("link", name="查看/编辑").click()
    page.locator("#member_relation_1").select_option("spouse")
    page.get_by_role("button", name="保存").click()
    assert "每户要有且只有一位户主" in page.get_by_role("alert").inner_text()
    screenshot(page, artifacts, "05-household-form-problem")
    page.goto(f"{admin.url}/admin/households")
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 CSV").click()
    from pathlib import Path
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert exported.splitlines()[0].startswith("户号,网格,地址") and "钱阿姨" in exported and ZHANG in exported


def test_console_on_a_phone(admin, phone_page, artifacts):
    page = phone_page
    sign_in(page, admin, "alice", "admin-pass-1")
    page.goto(f"{admin.url}/admin/households/import")
    upload(page, "#file", "h.csv", GOOD)
    page.get_by_role("button", name="检查并导入").click()
    page.wait_for_url(f"{admin.url}/admin/households")
    for path, name in (("/admin", "01-overview"), ("/admin/households", "02-households"),
                       ("/admin/households/XF-0001", "03-household-form"), ("/admin/households/import", "04-import"),
                       ("/admin/devices", "05-devices"), ("/admin/accounts", "06-accounts"),
                       ("/admin/guide/new", "07-guide-form"), ("/admin/announcements/new", "08-announcement")):
        page.goto(admin.url + path)
        assert no_sideways_scroll(page), f"{path} scrolls sideways on a phone"
        screenshot(page, artifacts, name)
    # the sections bar scrolls on its own; every button is big enough for a thumb
    page.goto(f"{admin.url}/admin/households")
    for button in page.locator("main .button, main button").all():
        if button.is_visible():
            assert button.bounding_box()["height"] >= 44
    page.goto(f"{admin.url}/admin/households?lang=en")
    assert page.get_by_role("heading", name="Household records").is_visible()
    screenshot(page, artifacts, "09-households-en")


def test_accounts_devices_and_quarantine(admin, page, artifacts):
    sign_in(page, admin, "alice", "admin-pass-1")
    # a grid worker's account
    page.goto(f"{admin.url}/admin/accounts/new")
    page.get_by_label("用户名").fill("wang")
    page.get_by_label("姓名").fill("王芳")
    page.get_by_label("角色").select_option("worker")
    page.get_by_label("网格（网格员）").fill("一网格")
    page.get_by_label("初始密码").fill("worker-pass-1")
    page.get_by_label("再输一次").fill("worker-pass-1")
    screenshot(page, artifacts, "01-new-account")
    page.get_by_role("button", name="保存").click()
    assert "已创建账号 wang" in page.get_by_role("status").inner_text()
    screenshot(page, artifacts, "02-accounts")
    page.get_by_role("row", name=re.compile("wang")).get_by_role("link", name="管理").click()
    page.get_by_role("button", name="停用账号").click()
    assert "账号已停用" in page.get_by_role("status").inner_text()
    assert "已停用" in page.get_by_role("row", name=re.compile("wang")).inner_text()

    # an enrolment code, used by a device that then reports its health
    page.goto(f"{admin.url}/admin/devices")
    page.get_by_label("终端编号").fill("kiosk-01")
    page.get_by_role("button", name="生成注册码").click()
    code = page.locator("#new-code").inner_text().strip()
    screenshot(page, artifacts, "03-enrolment-code")
    device = Signed(requests.Session(), new_key("kiosk-01"), base_url=admin.url)
    assert device.enrol(code).status_code == 201
    device("POST", "/heartbeat", {"software_version": "1.4.0", "free_disk_bytes": 20 * 1024 ** 3,
                                  "peripherals": {"printer": {"state": "down", "detail": "缺纸", "fix": "请加纸"},
                                                  "camera": {"state": "ok"}, "idcard": {"state": "ok"}}})
    page.goto(f"{admin.url}/admin/devices")
    row = page.get_by_role("row", name=re.compile("kiosk-01")).first.inner_text()
    assert "在线" in row and "printer 故障：缺纸 请加纸" in row and "1.4.0" in row
    screenshot(page, artifacts, "04-devices")

    # an event the lifecycle refused, retried once its case exists
    early = event("case-1", "materials_deposited", 1)
    assert device("POST", "/events", {"events": [early]}).json()["results"][0]["status"] == "quarantined"
    page.goto(f"{admin.url}/admin/quarantine")
    assert "transition refused" in page.locator("main").inner_text()
    screenshot(page, artifacts, "05-quarantine")
    # another appliance creates the case (this device's own later events would have its
    # quarantined ones decided again without the admin)
    maker = Signed(requests.Session(), new_key("kiosk-09"), base_url=admin.url)
    maker_code = admin.run_cli("enrol-code", "--community", COMMUNITY, "--device-id", "kiosk-09").stdout.strip()
    assert maker.enrol(maker_code).status_code == 201
    maker("POST", "/events", {"events": [event("case-1", "created", 1)]})
    page.get_by_role("button", name="重试").click()
    assert "事件已处理" in page.get_by_role("status").inner_text()
    assert "没有待处理的事件" in page.locator("main").inner_text()
    page.get_by_role("link", name="概览").click()
    screenshot(page, artifacts, "06-overview")


def test_announcements_guide_subsidies_and_templates(admin, page, artifacts):
    sign_in(page, admin, "alice", "admin-pass-1")
    device = Signed(requests.Session(), new_key("kiosk-02"), base_url=admin.url)
    code = admin.run_cli("enrol-code", "--community", COMMUNITY, "--device-id", "kiosk-02").stdout.strip()
    assert device.enrol(code).status_code == 201

    page.goto(f"{admin.url}/admin/announcements/new")
    page.get_by_label("公告内容（中文）").fill("本周六上午 8:00–12:00 停水，请提前储水。")
    page.get_by_label("英文内容（可不填）").fill("No water on Saturday 8:00–12:00.")
    page.get_by_label("结束日期").fill("2099-12-31")
    page.get_by_role("button", name="发布").click()
    assert "公告已发布" in page.get_by_role("status").inner_text()
    assert "显示中" in page.locator("tbody").inner_text()
    screenshot(page, artifacts, "01-announcements")

    page.goto(f"{admin.url}/admin/guide/new")
    page.get_by_label("事项编号").fill("elderly-subsidy")
    page.get_by_label("事项名称", exact=True).fill("高龄补贴申领")
    page.get_by_label("办理地点", exact=True).fill("社区服务中心一楼2号窗口")
    page.get_by_label("办理时间", exact=True).fill("周一至周五 9:00–17:00")
    page.get_by_label("所需材料（每行一项）").fill("居民身份证 | 原件和复印件 | 1\n户口簿 | 复印件 | 2")
    page.get_by_role("button", name="保存").click()
    assert "已保存事项 elderly-subsidy" in page.get_by_role("status").inner_text()
    screenshot(page, artifacts, "02-guide")

    page.goto(f"{admin.url}/admin/subsidies/new")
    page.get_by_label("身份证号").fill(ZHAO)
    page.get_by_label("姓名").fill("赵大爷")
    page.get_by_label("金额（元/月）").fill("100")
    page.get_by_label("年审有效期至").fill("2027-03-31")
    page.get_by_role("button", name="保存").click()
    assert "补贴记录已保存" in page.get_by_role("status").inner_text()
    assert "1101**********0027" in page.locator("tbody").inner_text()
    screenshot(page, artifacts, "03-subsidies")

    template = (ROOT / "assets" / "forms" / "residence_proof.toml").read_bytes()
    page.goto(f"{admin.url}/admin/templates")
    page.set_input_files("#file", files=[{"name": "residence_proof.toml", "mimeType": "text/plain",
                                          "buffer": template.replace(b'type = "date"', b'type = "dat"', 1)}])
    page.get_by_role("button", name="检查并发布").click()
    assert "模板有误" in page.get_by_role("alert").inner_text()
    screenshot(page, artifacts, "04-template-refused")
    page.set_input_files("#file", files=[{"name": "residence_proof.toml", "mimeType": "text/plain",
                                          "buffer": template}])
    page.get_by_role("button", name="检查并发布").click()
    assert "已发布 residence_proof 第 1 版" in page.get_by_role("status").inner_text()
    screenshot(page, artifacts, "05-template")

    kinds = {c["kind"] for c in device("GET", "/changes?cursor=0").json()["changes"]}
    assert {"announcement", "guide_item", "subsidy", "certificate_template"} <= kinds
