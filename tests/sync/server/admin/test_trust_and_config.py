"""Change kinds the admin console now writes: certificate revocations (the verify page
says 已作废), worker keys (a locker accepts and then refuses a worker code signed with
one, through the agent's trusted-keys file) and appliance configuration records
(checked by the appliance's own schema); each reaches the right appliances in the
change feed; the command line does the same."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from appliance.keys import TRUSTED_KEYS_FILE, DeviceKey, TrustedKeys
from forms import stamp as stamps
from locker import codes
from locker.errors import Refused
from sync.agent import Agent
from tests.support import ROOT
from tests.sync.agent.adapters import ASGIAdapter
from tests.sync.server.admin.conftest import BOTH, COMMUNITY, OTHER, Console, add_admin
from tests.sync.server.support import Signed, new_code, new_key


def enrolled(server, database_url, device_id: str, community: str = COMMUNITY) -> Signed:
    client, _ = server
    device = Signed(client, new_key(device_id))
    assert device.enrol(new_code(database_url, device_id, community)).status_code == 201
    return device


def certificate(device: Signed, number: int = 42) -> stamps.Stamp:
    return stamps.make(device.key, template="residence_proof", number=number, canonical=b'{"name":"x"}',
                       issued_at=datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc))


def verdict(client, text: str) -> str:
    page = client.post("/verify", data={"code": text}).text
    return next(word for word in ("真实有效", "内容被篡改或二维码无效", "已作废", "无法核验") if word in page)


def changes(device: Signed, kind: str) -> list[dict]:
    answer = device("GET", "/changes?cursor=0&limit=1000")
    assert answer.status_code == 200, answer.text
    return [c for c in answer.json()["changes"] if c["kind"] == kind]


def other_console(server) -> Console:
    client, engine = server
    add_admin(engine, "bob", OTHER)
    from fastapi.testclient import TestClient

    return Console(TestClient(client.app), engine, "bob").sign_in()


# -- revocations ------------------------------------------------------------------------
@BOTH
def test_a_revoked_certificate_is_revoked_on_the_verify_page_and_in_the_feed(server, console, database_url):
    client, _ = server
    kiosk = enrolled(server, database_url, "kiosk-rv")
    elsewhere = enrolled(server, database_url, "kiosk-far", OTHER)
    first, second = certificate(kiosk, 1), certificate(kiosk, 2)
    assert verdict(client, first.text) == "真实有效"
    answer = console.post("/admin/revocations", {"code": first.text, "reason": "开错了 issued in error"},
                          follow_redirects=False)
    assert answer.status_code == 303
    assert verdict(client, first.text) == "已作废" and verdict(client, second.text) == "真实有效"
    page = console.get("/admin/revocations").text
    assert first.serial in page and "开错了 issued in error" in page
    # the serial alone works too; every appliance hears of both (a certificate is shown anywhere)
    assert console.post("/admin/revocations", {"code": second.serial, "reason": "信息有误"},
                        follow_redirects=False).status_code == 303
    published = {c["key"]: c["data"] for c in changes(elsewhere, "revocation")}
    assert set(published) == {first.serial, second.serial}
    assert published[first.serial]["device"] == "kiosk-rv" and published[first.serial]["revoked_by"] == "alice"
    # a mistake is taken back: valid again, and the feed says the record is gone
    assert console.post(f"/admin/revocations/{second.serial}/withdraw", follow_redirects=False).status_code == 303
    assert verdict(client, second.text) == "真实有效"
    assert changes(kiosk, "revocation")[-1] == {**changes(kiosk, "revocation")[-1], "key": second.serial,
                                                 "data": None}


def test_revocations_are_refused_with_the_reason_and_nothing_changes(server, console, database_url):
    client, _ = server
    mine = certificate(enrolled(server, database_url, "kiosk-mine"))
    theirs = certificate(enrolled(server, database_url, "kiosk-theirs", OTHER))
    for form, said in (({"code": "kiosk-mine-42", "reason": "x y"}, "终端编号-六位数字"),
                       ({"code": mine.serial, "reason": ""}, "请写明作废原因"),
                       ({"code": theirs.text, "reason": "not ours"}, "不是本社区的终端开具的"),
                       ({"code": mine.text[:-5], "reason": "cut short"}, "二维码内容不完整"),
                       ({"code": "nobody-000001", "reason": "unknown device"}, "不是本社区的终端开具的")):
        answer = console.post("/admin/revocations", form)
        assert answer.status_code == 422 and said in answer.text, (form, answer.text[-800:])
    assert verdict(client, mine.text) == "真实有效" and verdict(client, theirs.text) == "真实有效"
    # another community's admin can neither revoke ours nor withdraw our revocation
    bob = other_console(server)
    assert bob.post("/admin/revocations", {"code": mine.serial, "reason": "mischief"}).status_code == 422
    console.post("/admin/revocations", {"code": mine.serial, "reason": "开错了"})
    bob.post(f"/admin/revocations/{mine.serial}/withdraw")
    assert verdict(client, mine.text) == "已作废"
    assert mine.serial not in bob.get("/admin/revocations").text


# -- worker keys ------------------------------------------------------------------------
@BOTH
def test_a_worker_key_reaches_the_communitys_lockers_and_its_revocation_too(server, console, database_url, tmp_path):
    client, _ = server
    issuer = DeviceKey.generate("street-office")  # e.g. python -m locker sign server-key --key-id street-office
    entry = json.dumps(issuer.trusted_entry())
    answer = console.post("/admin/keys", {"key_id": "", "public_key": entry, "note": "街道办发码工具"},
                          follow_redirects=False)
    assert answer.status_code == 303
    page = console.get("/admin/keys").text
    assert "street-office" in page and issuer.fingerprint in page and "有效" in page
    # only this community's appliances hear of it
    far = enrolled(server, database_url, "kiosk-far2", OTHER)
    assert changes(far, "worker_key") == []
    # a locker of the community, set to take worker codes from that issuer, syncs
    locker_key = new_key("locker-wk")
    (tmp_path / "code").write_text(new_code(database_url, locker_key.device_id, COMMUNITY))
    from sync.store import Store

    with Store(tmp_path / "locker.db") as store, \
            Agent(store, locker_key, "http://testserver", tmp_path / "locker.sync.db", data_dir=tmp_path,
                  enrolment_code_file=tmp_path / "code", adapter=ASGIAdapter(client)) as agent:
        agent.run_once()
        code = codes.worker_code(issuer, "w-li", ["locker-wk"], minutes=10)

        def check():
            keys = TrustedKeys.load(tmp_path / TRUSTED_KEYS_FILE)
            return codes.check(code, keys, locker_id="locker-wk", server_key_id="street-office",
                               worker_max_minutes=30)
        assert check().worker == "w-li"
        assert console.post("/admin/keys/street-office/revoke", follow_redirects=False).status_code == 303
        agent.run_once()
        with pytest.raises(Refused) as refused:
            check()
        assert refused.value.reason == "revoked"
    assert "已作废" in console.get("/admin/keys").text
    # a revoked id is never published again, not even with a new key
    again = console.post("/admin/keys", {"key_id": "street-office",
                                         "public_key": DeviceKey.generate("kk").trusted_entry()["kk"]["public_key"]})
    assert again.status_code == 422 and "已作废，不能再次发布" in again.text


def test_worker_keys_that_would_shadow_a_device_the_server_or_another_community_are_refused(
        server, console, database_url):
    enrolled(server, database_url, "kiosk-shadow")
    fresh = DeviceKey.generate("kk").trusted_entry()["kk"]["public_key"]
    for key_id, public_key, said in (("kiosk-shadow", fresh, "已注册终端或服务器自己的密钥"),
                                     ("server", fresh, "已注册终端或服务器自己的密钥"),
                                     ("Bad Id", fresh, "小写字母"),
                                     ("office-2", "not base64!", "32 字节"),
                                     ("office-2", "{not json", "不是一条信任密钥记录")):
        answer = console.post("/admin/keys", {"key_id": key_id, "public_key": public_key})
        assert answer.status_code == 422 and said in answer.text, (key_id, answer.text[-600:])
    assert console.post("/admin/keys", {"key_id": "office-3", "public_key": fresh},
                        follow_redirects=False).status_code == 303
    bob = other_console(server)
    taken = bob.post("/admin/keys", {"key_id": "office-3", "public_key": fresh})
    assert taken.status_code == 422 and "已被其他社区使用" in taken.text
    bob.post("/admin/keys/office-3/revoke")
    assert "有效" in console.get("/admin/keys").text  # still trusted: bob's revoke did nothing
    # no device may enrol under a worker key's id (its device key would stand in for it)
    for admin in (console, bob):
        code = admin.post("/admin/devices/codes", {"device_id": "office-3"})
        assert code.status_code == 422 and "云柜密钥使用" in code.text
    refused = cli(database_url, "enrol-code", "--community", COMMUNITY, "--device-id", "office-3")
    assert refused.returncode == 2 and "worker key id" in refused.stderr


# -- appliance configuration ----------------------------------------------------------------
@BOTH
def test_configuration_checked_by_the_appliance_schema_reaches_its_community_or_one_device(
        server, console, database_url):
    kiosk = enrolled(server, database_url, "kiosk-cfg")
    other = enrolled(server, database_url, "kiosk-cfg2")
    far = enrolled(server, database_url, "kiosk-cfg-far", OTHER)
    assert console.post("/admin/config", {"toml": "[kiosk]\nidle_seconds = 90\n\n[locker]\npickup_days = 10\n"},
                        follow_redirects=False).status_code == 303
    assert console.post("/admin/config", {"device_id": "kiosk-cfg",
                                          "toml": '[printer]\nurl = "cups://front-desk"\n[kiosk]\nidle_seconds = 45\n'},
                        follow_redirects=False).status_code == 303
    records = {c["key"]: c["data"] for c in changes(kiosk, "config")}
    assert records["community:示范社区"]["settings"] == {"kiosk": {"idle_seconds": 90}, "locker": {"pickup_days": 10}}
    assert records["device:kiosk-cfg"]["settings"]["printer"] == {"url": "cups://front-desk"}
    assert records["device:kiosk-cfg"]["updated_by"] == "alice"
    assert {c["key"] for c in changes(other, "config")} == {"community:示范社区", "device:kiosk-cfg"}
    assert changes(far, "config") == []  # another community hears nothing
    page = console.get("/admin/config").text
    assert "idle_seconds = 90" in page and "kiosk-cfg" in page
    # removing the device's record publishes its deletion
    assert console.post("/admin/config/remove", {"device_id": "kiosk-cfg"}, follow_redirects=False).status_code == 303
    assert changes(kiosk, "config")[-1]["key"] == "device:kiosk-cfg" and changes(kiosk, "config")[-1]["data"] is None


@pytest.mark.parametrize("form, said", [
    ({"toml": "[kiosk]\nidle_seconds = 2\n"}, "第 2 行 kiosk.idle_seconds = 2"),
    ({"toml": '[kiosk]\nidle_seconds = "90"\n'}, "should be a valid integer"),
    ({"toml": "[kiosk]\nidle_secs = 90\n"}, "unknown key"),
    ({"toml": "[kiosk\n"}, "不是有效的 TOML"),
    ({"toml": "[nowhere]\na = 1\n"}, "没有 [nowhere] 这一节"),
    ({"toml": '[sync]\nserver_url = "https://elsewhere.example"\n'}, "只能在终端本机的配置文件里设置"),
    ({"toml": '[appliance]\nid = "kiosk-x"\n'}, "只能在终端本机的配置文件里设置"),
    ({"toml": '[printer]\nurl = "cups://front-desk"\n'}, "只能按终端设置"),
    ({"toml": '[printer]\nurl = "ftp://x"\n', "device_id": "kiosk-bad"}, "not a cups:// URL"),
    ({"toml": "[kiosk]\nidle_seconds = 90\n", "device_id": "kiosk-nope"}, "本社区没有注册的终端 kiosk-nope"),
    ({"toml": "[[lockboard]]\nname = \"bus0\"\nurl = \"sim://lockboard\"\n[[lockboard.board]]\naddress = 99\n",
      "device_id": "kiosk-bad"}, "kerong boards have addresses 0–15"),
])
def test_configuration_that_would_stop_an_appliance_is_refused_with_its_line(server, console, database_url,
                                                                              form, said):
    enrolled(server, database_url, "kiosk-bad")
    answer = console.post("/admin/config", form)
    assert answer.status_code == 422 and said in answer.text, answer.text[-1500:]
    assert "还没有发布配置" in console.get("/admin/config").text  # nothing stored


def test_a_community_setting_that_breaks_a_devices_fragment_is_refused(server, console, database_url):
    enrolled(server, database_url, "kiosk-mix")
    assert console.post("/admin/config", {"device_id": "kiosk-mix",
                                          "toml": '[[lockboard]]\nname = "bus0"\nurl = "sim://lockboard"\n'
                                                  '[[lockboard.board]]\naddress = 3\n'},
                        follow_redirects=False).status_code == 303
    assert console.post("/admin/config", {"toml": "[kiosk]\nidle_seconds = 90\n"},
                        follow_redirects=False).status_code == 303  # merged with it, still loads


# -- the command line ----------------------------------------------------------------------
def cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sync.server", *args, "--database", database_url],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_the_command_line_revokes_publishes_configuration_and_worker_keys(server, database_url, tmp_path):
    client, _ = server
    kiosk = enrolled(server, database_url, "kiosk-cli")
    stamp = certificate(kiosk, 7)
    assert cli(database_url, "revoke-certificate", "--serial", stamp.serial).returncode == 2  # no reason
    done = cli(database_url, "revoke-certificate", "--serial", stamp.serial, "--reason", "issued in error")
    assert done.returncode == 0 and "revoked" in done.stdout
    assert verdict(client, stamp.text) == "已作废"
    assert cli(database_url, "revoke-certificate", "--serial", stamp.serial, "--withdraw").returncode == 0
    assert verdict(client, stamp.text) == "真实有效"
    bad = cli(database_url, "revoke-certificate", "--serial", "ghost-000001", "--reason", "nobody")
    assert bad.returncode == 2 and "not issued by a device of this community" in bad.stderr

    fragment = tmp_path / "kiosk.toml"
    fragment.write_text("[kiosk]\nidle_seconds = 2\n", encoding="utf-8")
    refused = cli(database_url, "config", "set", "--community", COMMUNITY, "--file", str(fragment))
    assert refused.returncode == 2 and "line 2: kiosk.idle_seconds = 2" in refused.stderr
    fragment.write_text("[kiosk]\nidle_seconds = 120\n", encoding="utf-8")
    assert cli(database_url, "config", "set", "--community", COMMUNITY, "--device-id", "kiosk-cli",
               "--file", str(fragment)).returncode == 0
    listed = cli(database_url, "config", "list", "--community", COMMUNITY)
    assert "device:kiosk-cli" in listed.stdout and "idle_seconds = 120" in listed.stdout
    assert changes(kiosk, "config")[0]["data"]["settings"] == {"kiosk": {"idle_seconds": 120}}

    entry = json.dumps(DeviceKey.generate("office-cli").trusted_entry())
    assert cli(database_url, "worker-key", "add", "--community", COMMUNITY, "--public-key", entry).returncode == 0
    assert "office-cli\t示范社区" in cli(database_url, "worker-key", "list").stdout
    assert cli(database_url, "worker-key", "revoke", "--key-id", "office-cli").returncode == 0
    assert changes(kiosk, "worker_key")[-1]["data"]["revoked"] is True
    assert cli(database_url, "worker-key", "revoke", "--key-id", "office-cli").returncode == 1  # already
