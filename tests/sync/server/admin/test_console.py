"""The admin console's other sections in-process: accounts and roles, devices and
enrolment codes, the quarantine, announcements, the service guide, subsidy records,
certificate templates. Every change reaches the community's kiosks through /changes."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from sync.server import accounts
from sync.server.admin import catalogue
from sync.server.models import EventRow
from tests.support import ROOT
from tests.sync.server.admin.conftest import BOTH, COMMUNITY, OTHER, PASSWORD, Console, add_admin
from tests.sync.server.support import event

TEMPLATE = (ROOT / "assets" / "forms" / "residence_proof.toml").read_bytes()


def pulled(device, kind: str) -> dict[str, dict | None]:
    return {c["key"]: c["data"] for c in device("GET", "/changes?cursor=0").json()["changes"] if c["kind"] == kind}


# -- accounts and roles ---------------------------------------------------------------
def test_create_a_grid_worker_who_then_signs_in(console, server):
    client, engine = server
    form = {"username": "wang", "name": "王芳", "role": "worker", "grid": "一网格", "department": "",
            "password": "worker-pass-1", "password_again": "worker-pass-1"}
    assert console.post("/admin/accounts/new", form, follow_redirects=False).status_code == 303
    with engine.connect() as conn:
        wang = accounts.find_account(conn, "wang").account
    assert (wang.role, wang.community, wang.grid, wang.department) == ("worker", COMMUNITY, "一网格", None)
    assert "王芳" in console.get("/admin/accounts").text
    refused = console.post("/admin/accounts/new", {**form, "username": "wang2", "grid": ""})
    assert refused.status_code == 422 and "网格员需要填写网格" in refused.text
    differ = console.post("/admin/accounts/new", {**form, "username": "wang3", "password_again": "other-pass"})
    assert differ.status_code == 422 and "两次输入的密码不一致" in differ.text


@BOTH
def test_disable_reset_and_role_change(console, server):
    client, engine = server
    with engine.begin() as conn:
        wang = accounts.create_account(conn, username="wang", password="worker-pass-1", name="王芳", role="worker",
                                       community=COMMUNITY, grid="一网格")
    worker = Console(client.__class__(client.app), engine, "wang")
    worker.client.__enter__()
    try:
        worker.sign_in("worker-pass-1")  # lands on /admin: a 403 page for her, but signed in
        assert console.post(f"/admin/accounts/{wang}", {"action": "disable"}, follow_redirects=False).status_code == 303
        assert worker.get("/admin", headers={"Accept": "application/json"}).status_code == 401  # her session ended
        with engine.connect() as conn:
            assert accounts.find_account(conn, "wang").disabled
        console.post(f"/admin/accounts/{wang}", {"action": "enable"})
        console.post(f"/admin/accounts/{wang}", {"action": "password", "password": "new-pass-123",
                                                 "password_again": "new-pass-123"})
        worker.sign_in("new-pass-123")
        console.post(f"/admin/accounts/{wang}", {"action": "save", "name": "王芳", "role": "staff", "grid": "",
                                                 "department": "民政科"})
        with engine.connect() as conn:
            changed = accounts.find_account(conn, "wang").account
        assert (changed.role, changed.department, changed.grid) == ("staff", "民政科", None)
    finally:
        worker.client.__exit__(None, None, None)


def test_an_admin_cannot_lock_themselves_out(console, server):
    client, engine = server
    with engine.connect() as conn:
        me = accounts.find_account(conn, "alice").account.id
    refused = console.post(f"/admin/accounts/{me}", {"action": "disable"})
    assert refused.status_code == 422 and "不能停用自己的账号" in refused.text
    demoted = console.post(f"/admin/accounts/{me}", {"action": "save", "name": "A", "role": "worker", "grid": "g"})
    assert demoted.status_code == 422 and "不能取消自己的管理员角色" in demoted.text


def test_accounts_of_another_community_are_out_of_reach(console, server):
    client, engine = server
    bob = add_admin(engine, "bob", OTHER)
    assert "bob" not in console.get("/admin/accounts").text
    assert console.get(f"/admin/accounts/{bob}").status_code == 404
    assert console.post(f"/admin/accounts/{bob}", {"action": "disable"}).status_code == 404
    with engine.connect() as conn:
        assert not accounts.find_account(conn, "bob").disabled


def test_other_roles_cannot_open_the_console(server):
    client, engine = server
    with engine.begin() as conn:
        accounts.create_account(conn, username="wang", password=PASSWORD, name="王", role="worker",
                                community=COMMUNITY, grid="一网格")
    worker = Console(client, engine, "wang")
    worker.client.cookies.clear()
    from tests.sync.server.admin.conftest import csrf_in
    token = csrf_in(client.get("/login").text)
    client.post("/login", data={"username": "wang", "password": PASSWORD, "csrf": token})
    for path in ("/admin", "/admin/households", "/admin/devices", "/admin/quarantine"):
        assert client.get(path, headers={"Accept": "text/html"}).status_code == 403


def test_posts_without_the_csrf_token_are_refused(console):
    answer = console.client.post("/admin/announcements/new", data={"text": "停水通知"})
    assert answer.status_code == 403
    assert console.get("/admin/announcements").text.count("停水通知") == 0


# -- devices and enrolment codes ---------------------------------------------------------
@BOTH
def test_an_enrolment_code_from_the_console_enrols_a_device(console, client):
    from tests.sync.server.support import Signed, new_key

    page = console.post("/admin/devices/codes", {"device_id": "kiosk-07"})
    assert page.status_code == 200
    import re
    code = re.search(r'id="new-code">([^<]+)<', page.text).group(1)
    key = new_key("kiosk-07")
    device = Signed(client, key)
    assert device.enrol(code).status_code == 201
    assert device.enrol(code).status_code == 403  # once only
    beat = {"software_version": "1.4.0", "free_disk_bytes": 500 * 1024 ** 2, "outbox_pending": 3,
            "peripherals": {"printer": {"state": "degraded", "detail": "纸快用完了", "fix": "请加纸"},
                            "camera": {"state": "ok"}}}
    assert device("POST", "/heartbeat", beat).status_code == 200
    listing = console.get("/admin/devices").text
    assert "kiosk-07" in listing and "在线" in listing and "printer 异常：纸快用完了 请加纸" in listing
    assert "磁盘空间不足" in listing and "1.4.0" in listing
    dashboard = console.get("/admin").text
    assert "1/1" in dashboard
    assert console.post("/admin/devices/kiosk-07/revoke", follow_redirects=False).status_code == 303
    assert device("POST", "/heartbeat", beat).status_code == 403
    assert "已停用" in console.get("/admin/devices").text


def test_enrolment_codes_are_revoked_and_device_ids_checked(console, client):
    from tests.sync.server.support import Signed, new_key
    import re

    bad = console.post("/admin/devices/codes", {"device_id": "Kiosk 7"})
    assert bad.status_code == 422 and "终端编号只能用小写字母" in bad.text
    page = console.post("/admin/devices/codes", {"device_id": "kiosk-08"})
    code = re.search(r'id="new-code">([^<]+)<', page.text).group(1)
    code_hash = re.search(r'name="code_hash" value="([0-9a-f]{64})"', console.get("/admin/devices").text).group(1)
    assert code not in console.get("/admin/devices").text  # shown once only
    console.post("/admin/devices/codes/revoke", {"code_hash": code_hash})
    assert Signed(client, new_key("kiosk-08")).enrol(code).status_code == 403


def test_devices_of_another_community_are_out_of_reach(console, enrol):
    theirs = enrol(community=OTHER)
    assert theirs.key.device_id not in console.get("/admin/devices").text
    console.post(f"/admin/devices/{theirs.key.device_id}/revoke")
    assert theirs("POST", "/heartbeat", {"software_version": "1", "free_disk_bytes": 1}).status_code == 200


# -- the quarantine -----------------------------------------------------------------------
@BOTH
def test_retry_applies_an_event_once_the_case_allows_it_and_dismiss_hides_one(console, enrol, server):
    client, engine = server
    device = enrol(community=COMMUNITY)
    early = event("case-1", "materials_deposited", 1)
    wrong = event("case-2", "approved", 2)
    results = device("POST", "/events", {"events": [early, wrong]}).json()["results"]
    assert [r["status"] for r in results] == ["quarantined", "quarantined"]
    page = console.get("/admin/quarantine").text
    assert "case-1" in page and "transition refused" in page and "case-2" in page
    assert "2</strong>" in console.get("/admin").text  # the overview counts them
    # another appliance creates the case later (this device's own events would have its
    # quarantined ones decided again by themselves): the admin's retry now applies it
    maker = enrol(community=COMMUNITY)
    maker("POST", "/events", {"events": [event("case-1", "created", 1)]})
    retried = console.post(f"/admin/quarantine/{early['id']}/retry", follow_redirects=True)
    assert "事件已处理" in retried.text and "materials_deposited" in retried.text
    with engine.connect() as conn:
        row = conn.execute(select(EventRow.__table__).where(EventRow.__table__.c.id == early["id"])).one()
    assert (row.status, row.case_state) == ("applied", "materials_deposited")
    again = device("POST", "/events", {"events": [early]}).json()["results"][0]
    assert again["status"] == "applied"  # the device hears the new answer
    still = console.post(f"/admin/quarantine/{wrong['id']}/retry", follow_redirects=True)
    assert "仍然无法处理" in still.text
    console.post(f"/admin/quarantine/{wrong['id']}/dismiss")
    assert "case-2" not in console.get("/admin/quarantine").text
    assert device("POST", "/events", {"events": [wrong]}).json()["results"][0]["status"] == "quarantined"


def test_quarantine_of_another_community_is_out_of_reach(console, enrol):
    theirs = enrol(community=OTHER)
    wrong = event("case-9", "approved", 1, payload={"id_number": "110101198503120033"})
    theirs("POST", "/events", {"events": [wrong]})
    assert "case-9" not in console.get("/admin/quarantine").text
    assert "没有待处理的事件" in console.post(f"/admin/quarantine/{wrong['id']}/retry", follow_redirects=True).text


def test_quarantined_payloads_show_masked_id_numbers(console, enrol):
    device = enrol(community=COMMUNITY)
    device("POST", "/events", {"events": [event("case-3", "approved", 1, payload={"id_number": "110101198503120033"})]})
    page = console.get("/admin/quarantine").text
    assert "110101198503120033" not in page and "1101**********0033" in page


# -- announcements, guide, subsidies, templates --------------------------------------------
@BOTH
def test_announcements_reach_the_communitys_kiosks_only(console, enrol):
    mine, theirs = enrol(community=COMMUNITY), enrol(community=OTHER)
    form = {"text": "本周六上午停水", "text_en": "No water on Saturday morning", "starts": "2026-11-20",
            "ends": "2026-11-28", "order": "1"}
    assert console.post("/admin/announcements/new", form, follow_redirects=False).status_code == 303
    got = list(pulled(mine, "announcement").values())
    assert got == [{"text": "本周六上午停水", "text_en": "No water on Saturday morning", "starts": "2026-11-20",
                    "ends": "2026-11-28", "order": 1, "community": COMMUNITY, "id": got[0]["id"]}]
    assert pulled(theirs, "announcement") == {}
    bad = console.post("/admin/announcements/new", {"text": "", "starts": "2026-13-01", "ends": ""})
    assert bad.status_code == 422 and "请填写公告内容" in bad.text and "开始日期" in bad.text
    ident = got[0]["id"]
    console.post(f"/admin/announcements/{ident}", {"action": "delete"})
    assert list(pulled(mine, "announcement").values()) == [None]


def test_guide_items_with_materials(console, enrol):
    mine = enrol(community=COMMUNITY)
    form = {"id": "elderly-subsidy", "name": "高龄补贴申领", "category": "elderly", "keywords": "高龄，补贴, 老人",
            "department": "社会事务办", "place": "社区服务中心2号窗口", "hours": "周一至周五 9:00–17:00",
            "materials": "申请人居民身份证 | 原件和复印件 | 1\n户口簿 | 复印件 | 2 | 户主页和本人页\n一寸照片",
            "dropoff": "on", "size": "M"}
    assert console.post("/admin/guide/new", form, follow_redirects=False).status_code == 303
    data = pulled(mine, "guide_item")[f"{COMMUNITY}/elderly-subsidy"]
    assert data["materials"] == [{"material": "申请人居民身份证", "form": "both", "copies": 1},
                                 {"material": "户口簿", "form": "copy", "copies": 2, "note": "户主页和本人页"},
                                 {"material": "一寸照片", "form": "copy", "copies": 1}]
    assert data["keywords"] == ["高龄", "补贴", "老人"] and data["dropoff"] is True
    from kiosk.store.guide import parse_item  # the kiosk reads what the console writes
    item = parse_item("elderly-subsidy", data)
    assert item.place == "社区服务中心2号窗口" and len(item.materials) == 3
    bad = console.post("/admin/guide/new", {**form, "id": "x2", "materials": "身份证 | 扫描件 | 99"})
    assert bad.status_code == 422 and "扫描件" in bad.text and "份数应为 1 到 20" in bad.text
    assert console.post("/admin/guide/new", form).status_code == 422  # the id exists


def test_subsidy_records_import_and_form(console, enrol):
    mine = enrol(community=COMMUNITY)
    header = "身份证号,姓名,补贴项目,金额（元/月）,状态,年审有效期至,备注\n"
    good = header + "110101194501010027,赵大爷,高龄补贴,100,发放中,2027-03-31,\n"
    bad = good + "110101194501010027,赵大爷,高龄补贴,200,暂停,,\n123,某,高龄补贴,abc,发放中,,\n"
    refused = console.post("/admin/subsidies/import", files={"file": ("s.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422 and "第 3 行" in refused.text and "与第 2 行重复" in refused.text
    assert "第 4 行" in refused.text and "金额写成数字" in refused.text
    assert pulled(mine, "subsidy") == {}
    assert console.post("/admin/subsidies/import", files={"file": ("s.csv", good.encode(), "text/csv")},
                        follow_redirects=False).status_code == 303
    (key, data), = pulled(mine, "subsidy").items()
    assert data["amount"] == 100 and data["status"] == "active" and data["certified_until"] == "2027-03-31"
    ident = data["id"]
    changed = {"id_number": "x", "name": "赵大爷", "program": "x", "amount": "120.5", "status": "suspended",
               "certified_until": "", "note": "外出"}
    assert console.post(f"/admin/subsidies/{ident}", changed, follow_redirects=False).status_code == 303
    data = pulled(mine, "subsidy")[key]
    assert (data["amount"], data["status"], data["id_number"]) == (120.5, "suspended", "110101194501010027")
    exported = console.get("/admin/subsidies/export.csv").content.decode("utf-8-sig")
    assert "暂停" in exported and "120.5" in exported


@BOTH
def test_certificate_templates_are_checked_by_forms_and_versioned(console, enrol):
    mine = enrol(community=COMMUNITY)
    broken = TEMPLATE.replace(b'type = "date"', b'type = "dat"', 1)
    refused = console.post("/admin/templates", files={"file": ("residence_proof.toml", broken, "text/plain")})
    assert refused.status_code == 422 and "模板有误" in refused.text and "residence_proof.toml:" in refused.text
    assert pulled(mine, "certificate_template") == {}
    assert console.post("/admin/templates", files={"file": ("residence_proof.toml", TEMPLATE, "text/plain")},
                        follow_redirects=False).status_code == 303
    data = pulled(mine, "certificate_template")[f"{COMMUNITY}/residence_proof"]
    assert data["version"] == 1 and data["toml"] == TEMPLATE.decode() and data["fields"]
    view = console.get("/admin/templates/residence_proof").text
    assert "第 1 版" in view and "id_number" in view
    same = console.post("/admin/templates", {"template_id": "residence_proof"},
                        files={"file": ("any.toml", TEMPLATE, "text/plain")})
    assert same.status_code == 422 and "完全相同" in same.text
    newer = TEMPLATE + b"\n# version 2\n"
    console.post("/admin/templates", {"template_id": "residence_proof"}, files={"file": ("x.toml", newer, "text/plain")})
    data = pulled(mine, "certificate_template")[f"{COMMUNITY}/residence_proof"]
    assert data["version"] == 2 and data["history"][0]["version"] == 1
    named = console.post("/admin/templates", files={"file": ("Residence Proof.toml", TEMPLATE, "text/plain")})
    assert named.status_code == 422 and "文件名" in named.text


def test_shipped_templates_are_offered_until_published(console, enrol):
    mine = enrol(community=COMMUNITY)
    page = console.get("/admin/templates").text
    assert "随软件提供的模板" in page and "materials_checklist" in page
    assert console.post("/admin/templates/shipped/materials_checklist", follow_redirects=False).status_code == 303
    assert pulled(mine, "certificate_template")[f"{COMMUNITY}/materials_checklist"]["version"] == 1
    assert "/admin/templates/shipped/materials_checklist" not in console.get("/admin/templates").text
    assert console.post("/admin/templates/shipped/nothing_like_it").status_code == 404


def test_every_shipped_template_passes_the_check():
    for path in sorted(Path(ROOT / "assets" / "forms").glob("*.toml")):
        assert catalogue.check_template(path.stem, path.read_bytes())["fields"]
