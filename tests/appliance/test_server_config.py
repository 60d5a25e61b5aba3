"""The configuration a program runs with: the box's file, then the community's
``config`` record, then the device's, as the sync agents keep them in their own files
(written here by the agent's own code, sync.agent.state). A record that would not
load on this box is never applied: the last good version applies, one log line names
the key and value, and the heartbeat's report says so. Nothing the server sends stops
a program from starting."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest

from appliance import config as config_module
from appliance import server_config
from sync.agent import state
from sync.wire import Change
from tests.support import ROOT

FILE = textwrap.dedent("""\
    [appliance]
    id = "kiosk-7"
    community = "示范社区"
    data_dir = "{data}"

    [[lockboard]]
    name = "bus0"
    url = "sim://lockboard"

    [[lockboard.board]]
    address = 0

    [kiosk]
    idle_seconds = 60
    countdown_seconds = 10

    [locker]
    wrong_tries = 5
    """)


@pytest.fixture
def box(tmp_path):
    data = tmp_path / "var"
    data.mkdir()
    path = tmp_path / "appliance.toml"
    path.write_text(FILE.format(data=data), encoding="utf-8")
    return path


def publish(box, seq: int, key: str, settings: dict | None, *, file: str = "appliance.sync.db") -> None:
    """A record as an agent stores what it pulled (``settings`` None: deleted at the server)."""
    data = None if settings is None else {"scope": key.split(":")[0], "settings": settings, "toml": "",
                                          "updated_by": "alice", "updated_at": "2026-11-22T09:00:00+00:00"}
    store = state.open_state(str(box.parent / "var" / file))
    try:
        state.apply_changes(store, [Change(seq=seq, kind="config", key=key, data=data,
                                           changed_at=datetime.now(timezone.utc))], seq)
    finally:
        store.close()


def test_without_records_the_file_is_what_runs(box):
    cfg = server_config.load(box)
    assert cfg == config_module.load(box)
    effective = server_config.of(cfg)
    assert effective.running.applied == () and effective.report() is None


def test_the_device_record_goes_over_the_community_record_over_the_file(box):
    publish(box, 3, "community:示范社区", {"kiosk": {"idle_seconds": 90, "countdown_seconds": 20},
                                         "locker": {"pickup_days": 10}})
    publish(box, 5, "device:kiosk-7", {"kiosk": {"idle_seconds": 120}})
    publish(box, 6, "device:kiosk-8", {"kiosk": {"idle_seconds": 300}})  # another box of the community
    cfg = server_config.load(box)
    assert (cfg.kiosk.idle_seconds, cfg.kiosk.countdown_seconds, cfg.locker.pickup_days) == (120, 20, 10)
    assert cfg.locker.wrong_tries == 5 and cfg.appliance.id == "kiosk-7" and cfg.source == str(box)
    running = server_config.of(cfg).running
    assert [r.label for r in running.applied] == ["community:示范社区 (seq 3)", "device:kiosk-7 (seq 5)"]
    assert running.origin == {"kiosk.idle_seconds": "device:kiosk-7", "kiosk.countdown_seconds": "community:示范社区",
                              "locker.pickup_days": "community:示范社区"}
    report = server_config.of(cfg).report()
    assert report["state"] == "ok" and "3 key(s)" in report["detail"] and not report["data"]["restart_pending"]

    shown = subprocess.run([sys.executable, "-m", "appliance", "--config", str(box), "check-config"],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "from the server, community:示范社区 (seq 3): kiosk.countdown_seconds, locker.pickup_days" in shown.stdout
    assert "from the server, device:kiosk-7 (seq 5): kiosk.idle_seconds" in shown.stdout
    as_json = json.loads(subprocess.run([sys.executable, "-m", "appliance", "--config", str(box), "check-config",
                                         "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60).stdout)
    assert as_json["kiosk"]["idle_seconds"] == 120 and as_json["server"]["keys"]["kiosk.idle_seconds"] == "device:kiosk-7"


def test_the_newest_record_in_either_agents_file_wins(box):
    publish(box, 4, "device:kiosk-7", {"kiosk": {"idle_seconds": 90}}, file="appliance.sync.db")
    publish(box, 9, "device:kiosk-7", {"kiosk": {"idle_seconds": 150}}, file="locker.sync.db")
    assert server_config.load(box).kiosk.idle_seconds == 150


def test_a_record_this_box_cannot_load_is_never_applied_and_the_last_good_one_is(box, caplog):
    publish(box, 5, "device:kiosk-7", {"kiosk": {"idle_seconds": 120}})
    first = server_config.load(box)
    assert first.kiosk.idle_seconds == 120  # remembered as the last good version
    effective = server_config.of(first)
    effective.announce()

    # a newer server's key this release does not know
    publish(box, 8, "device:kiosk-7", {"kiosk": {"idle_seconds": 200, "night_mode": True}})
    with caplog.at_level(logging.WARNING, logger="appliance.config"):
        assert effective.changed() is None  # nothing to restart for
        effective.report()  # asked again by the heartbeat: logged once all the same
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == ("server config device:kiosk-7 (seq 8) not applied: kiosk.night_mode = True: unknown key; see the "
                    "configuration reference in README.md (a typo?); its last good version, seq 5, applies instead")
    report = effective.report()
    assert report["state"] == "degraded" and "kiosk.night_mode = True" in report["detail"]
    assert report["data"]["refused"][0] | {"message": ""} == {
        "record": "device:kiosk-7", "seq": 8, "key": "kiosk.night_mode", "value": "True", "message": "",
        "instead": 5}

    # a program starting now runs on the file and the last good version; so does every later one
    again = server_config.load(box)
    assert again.kiosk.idle_seconds == 120
    assert [r.seq for r in server_config.of(again).running.applied] == [5]
    assert server_config.load(box).kiosk.idle_seconds == 120


def test_a_device_url_that_does_not_exist_here_is_refused(box):
    publish(box, 5, "device:kiosk-7", {"lockboard": [{"name": "bus0", "url": "serial:///dev/ttyUSB-nowhere",
                                                      "board": [{"address": 0}]}]})
    cfg = server_config.load(box, check_devices=False)  # even where the file's own ports are not checked
    assert cfg.lockboard[0].url == "sim://lockboard"
    (refusal,) = server_config.of(cfg).running.refused
    assert (refusal.key, refusal.value, refusal.instead) == ("lockboard[0].url", "serial:///dev/ttyUSB-nowhere", None)
    assert "no such serial port on this box" in refusal.line() and "the file's values apply" in refusal.line()


@pytest.mark.parametrize("key,settings,words", [
    ("device:kiosk-7", {"sync": {"server_url": "http://evil.example"}}, "sync.server_url"),
    ("device:kiosk-7", {"sync": {"enabled": False}}, "sync.enabled"),
    ("device:kiosk-7", {"locker": {"admins": ["mallory"]}}, "locker.admins"),
    ("community:示范社区", {"scanner": {"url": "sim://scanner"}}, "scanner.url"),
    ("device:kiosk-7", {"kiosk": 5}, "kiosk = 5"),
    ("device:kiosk-7", "[kiosk]\nidle_seconds = 90", "not a configuration record"),
])
def test_what_the_server_may_not_set_is_refused_on_the_box_too(box, key, settings, words):
    publish(box, 5, key, settings)
    cfg = server_config.load(box)
    assert cfg == config_module.load(box)
    (refusal,) = server_config.of(cfg).running.refused
    assert words in refusal.line()


def test_secret_values_never_reach_the_log(box):
    publish(box, 5, "device:kiosk-7", {"kiosk": {"admin_pin": "12"}})
    (refusal,) = server_config.of(server_config.load(box)).running.refused
    assert "'12'" not in refusal.line() and "kiosk.admin_pin = '…'" in refusal.line()


def test_a_broken_agent_file_never_stops_a_start(box):
    publish(box, 5, "device:kiosk-7", {"kiosk": {"idle_seconds": 120}})
    assert server_config.load(box).kiosk.idle_seconds == 120
    (box.parent / "var" / "appliance.sync.db-wal").unlink(missing_ok=True)
    (box.parent / "var" / "appliance.sync.db").write_bytes(b"not a database at all" * 100)
    cfg = server_config.load(box)  # the file and the last good records
    assert cfg.kiosk.idle_seconds == 120
    (box.parent / "var" / server_config.REMEMBERED_FILE).write_text("{broken", encoding="utf-8")
    assert server_config.load(box) == config_module.load(box)


def test_a_change_pulled_while_running_is_named_and_a_deleted_record_goes_back_to_the_file(box):
    publish(box, 3, "community:示范社区", {"kiosk": {"idle_seconds": 90}})
    effective = server_config.of(server_config.load(box))
    assert effective.changed() is None
    publish(box, 4, "device:kiosk-7", {"locker": {"wrong_tries": 2}, "kiosk": {"countdown_seconds": 10}})
    changed = effective.changed()
    assert server_config.differences(effective.config, changed.config) == ["locker.wrong_tries"]
    assert effective.report()["data"]["restart_pending"] is True
    publish(box, 5, "device:kiosk-7", None)  # removed at the server
    assert effective.changed() is None
    publish(box, 6, "community:示范社区", None)
    changed = effective.changed()
    assert server_config.differences(effective.config, changed.config) == ["kiosk.idle_seconds"]
    assert changed.config == config_module.load(box) and changed.applied == ()
