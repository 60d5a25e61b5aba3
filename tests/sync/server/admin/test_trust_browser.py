"""The revocation, lockers' keys and configuration pages in headless Chromium against a
real server process: a certificate revoked on the admin page is 已作废 on the public
verify page; a worker key and a configuration fragment are published, a broken
fragment is refused with its line. Screenshots go to test-artifacts/<test>/."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import requests

from appliance.keys import DeviceKey
from forms import stamp as stamps
from tests.browser import screenshot, sign_in
from tests.sync.server.support import Signed, new_code, new_key

COMMUNITY = "示范社区"


@pytest.fixture
def admin(live_server):
    live_server.add_account("alice", "admin-pass-1", "admin", name="李敏", community=COMMUNITY)
    return live_server


def enrolled_kiosk(server, device_id: str = "kiosk-01") -> Signed:
    device = Signed(requests.Session(), new_key(device_id), base_url=server.url)
    assert device.enrol(new_code(server.database_url, device_id, COMMUNITY)).status_code == 201
    device.client.close()
    return device


def check_on_verify_page(page, server, text: str) -> str:
    page.goto(f"{server.url}/verify")
    page.get_by_label("二维码内容").fill(text)
    page.get_by_role("button", name="核验", exact=True).click()
    page.wait_for_load_state()
    return page.locator("main").inner_text()


@pytest.mark.parametrize("live_server", ["postgresql"], indirect=True)
def test_revoke_a_certificate_and_the_verify_page_says_so(admin, page, artifacts):
    kiosk = enrolled_kiosk(admin)
    stamp = stamps.make(kiosk.key, template="residence_proof", number=42, canonical=b'{"name":"x"}',
                        issued_at=datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc))
    assert "真实有效" in check_on_verify_page(page, admin, stamp.text)
    sign_in(page, admin, "alice", "admin-pass-1")
    page.get_by_role("link", name="证明作废").click()
    assert "本社区还没有作废的证明" in page.locator("main").inner_text()
    page.get_by_label("证明编号或二维码内容").fill("kiosk-01-42")  # not the printed form
    page.get_by_label("作废原因").fill("信息有误，已重新开具")
    page.get_by_role("button", name="作废", exact=True).click()
    assert "终端编号-六位数字" in page.get_by_role("alert").inner_text()
    screenshot(page, artifacts, "01-revocation-refused")
    page.get_by_label("证明编号或二维码内容").fill(stamp.serial)
    page.get_by_role("button", name="作废", exact=True).click()
    page.wait_for_url(f"{admin.url}/admin/revocations")
    assert f"证明 {stamp.serial} 已作废" in page.get_by_role("status").inner_text()
    listed = page.get_by_role("table", name="已作废的证明").inner_text()
    assert stamp.serial in listed and "信息有误，已重新开具" in listed
    screenshot(page, artifacts, "02-revoked")
    text = check_on_verify_page(page, admin, stamp.text)
    assert "已作废" in text and "真实有效" not in text
    screenshot(page, artifacts, "03-verify-revoked")


def test_publish_a_lockers_key_and_configuration(admin, page, artifacts):
    enrolled_kiosk(admin, "locker-01")
    sign_in(page, admin, "alice", "admin-pass-1")
    page.get_by_role("link", name="云柜密钥").click()
    assert "server" in page.locator("main").inner_text()  # the server's own key, with its fingerprint
    issuer = DeviceKey.generate("street-office")
    page.get_by_label("公钥").fill(json.dumps(issuer.trusted_entry()))
    page.get_by_label("备注（可不填）").fill("街道办发码工具")
    page.get_by_role("button", name="检查并发布").click()
    page.wait_for_url(f"{admin.url}/admin/keys")
    row = page.get_by_role("table", name="本社区发布的密钥").inner_text()
    assert "street-office" in row and issuer.fingerprint in row and "有效" in row
    screenshot(page, artifacts, "01-keys")

    page.get_by_role("link", name="终端配置").click()
    page.get_by_label("配置片段（TOML）").fill("[kiosk]\nidle_seconds = 2\n")
    page.get_by_role("button", name="检查并发布").click()
    alert = page.get_by_role("alert").inner_text()
    assert "第 2 行 kiosk.idle_seconds = 2" in alert
    screenshot(page, artifacts, "02-config-refused")
    page.get_by_label("配置片段（TOML）").fill("[kiosk]\nidle_seconds = 90\n")
    page.get_by_role("button", name="检查并发布").click()
    page.wait_for_url(f"{admin.url}/admin/config")
    page.get_by_label("发给").select_option("locker-01")
    page.get_by_label("配置片段（TOML）").fill('[locker]\npickup_days = 10\n')
    page.get_by_role("button", name="检查并发布").click()
    page.wait_for_url(f"{admin.url}/admin/config")
    table = page.get_by_role("table", name="已发布的配置").inner_text()
    assert "全社区" in table and "idle_seconds = 90" in table and "locker-01" in table and "pickup_days = 10" in table
    screenshot(page, artifacts, "03-config")
