"""End to end: the server issues a worker code, the agent pulls the keys into
trusted-keys.json (merged, atomically), and the locker's own check accepts the code
reading that file. The locker daemon is not started: locker.codes.check is called."""
from __future__ import annotations

import json

import pytest

from appliance.keys import TRUSTED_KEYS_FILE, DeviceKey, TrustedKeys
from locker import codes as locker_codes
from locker.errors import Refused
from sync.server.codes import issue_booking_code, issue_worker_code


def locker_check(tmp_path, text: str, locker_id: str = "locker-01"):
    keys = TrustedKeys.load(tmp_path / TRUSTED_KEYS_FILE)
    return locker_codes.check(text, keys, locker_id=locker_id, server_key_id="server", worker_max_minutes=30)


def test_a_worker_code_from_the_server_passes_the_lockers_check_after_a_pull(make_agent, app_client, tmp_path):
    with app_client.app.state.engine.begin() as conn:
        worker = issue_worker_code(conn, "w-zhao", ["locker-01"], minutes=15)
        booking = issue_booking_code(conn, "case-42", "S", "locker-01")
    assert not (tmp_path / TRUSTED_KEYS_FILE).exists()
    agent = make_agent()
    agent.run_once()
    code = locker_check(tmp_path, worker)
    assert (code.kind, code.worker, code.issuer) == ("worker", "w-zhao", "server")
    assert locker_check(tmp_path, booking).case == "case-42"
    # a code signed by any other key under the name "server" is refused
    forged = locker_codes.worker_code(DeviceKey.generate("server"), "w-zhao", ["locker-01"], minutes=15)
    with pytest.raises(Refused) as refused:
        locker_check(tmp_path, forged)
    assert refused.value.reason == "forged"


def test_the_pull_merges_into_the_file_and_keeps_what_the_server_does_not_publish(make_agent, app_client,
                                                                                     tmp_path):
    manual = DeviceKey.generate("kiosk-from-usb")
    stale_server = DeviceKey.generate("server")
    TrustedKeys().with_key(manual.device_id, manual.public_key).with_key(
        "server", stale_server.public_key).save(tmp_path / TRUSTED_KEYS_FILE)
    agent = make_agent()
    agent.run_once()
    keys = TrustedKeys.load(tmp_path / TRUSTED_KEYS_FILE)
    published = app_client.get("/api/v1/keys").json()
    assert set(keys) == {"kiosk-from-usb", "server", agent.key.device_id}
    assert keys["kiosk-from-usb"].public_key == manual.public_key  # kept
    assert keys["server"].public_key != stale_server.public_key  # the server's own wins
    assert json.loads(keys.to_json())["server"] == published["server"]
    assert keys[agent.key.device_id].public_key == agent.key.public_key
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".trusted")) == []  # renamed


def test_a_broken_trusted_keys_file_is_rewritten_from_the_servers_keys(make_agent, tmp_path):
    (tmp_path / TRUSTED_KEYS_FILE).write_text("{not json")
    agent = make_agent()
    agent.run_once()
    keys = TrustedKeys.load(tmp_path / TRUSTED_KEYS_FILE)
    assert {"server", agent.key.device_id} <= set(keys)
