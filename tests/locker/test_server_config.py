"""The server's configuration reaching a running locker, every part real: the daemon as
its own process on the lock-board simulator (a pty), its sync agent pulling from
``python -m sync.server``, the admin's records published with ``python -m sync.server
config set``. A ``[locker]`` key published for the locker is taken up without a person:
the daemon waits while a resident's door stands open, then runs itself again (same
process) and the new value rules. A record the box cannot load is never applied,
logged once, and reported in the heartbeat the admin's devices page shows."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from appliance.processes import Child
from locker.daemon import socket_path, store_path
from sync.server import db
from sync.server.admin.fleet import problems
from sync.server.models import Device
from tests.locker.conftest import LOCKER, Client, door, wait_for
from tests.support import ROOT
from tests.sync.server.support import COMMUNITY, ServerProcess, new_code


def publish(database_url: str, tmp_path: Path, fragment: str) -> None:
    """What the admin does on 终端配置 for this locker, from the command line."""
    path = tmp_path / "fragment.toml"
    path.write_text(fragment, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sync.server", "config", "set", "--community", COMMUNITY,
                           "--device-id", LOCKER, "--file", str(path), "--database", database_url],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr


def health(database_url: str) -> dict:
    engine = db.create(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(Device.health).where(Device.device_id == LOCKER)).scalar_one_or_none() or {}
    finally:
        engine.dispose()


def serving(api: Client) -> bool:
    try:
        return api("state")["ok"]
    except OSError:
        return False


def test_a_published_locker_key_is_applied_by_a_restart_once_no_door_is_open(make_config, sim, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'server.db'}"
    with ServerProcess(database_url) as server:
        config = make_config(data=tmp_path / "locker", sync=True)
        (config.data_dir / "enrolment-code").write_text(new_code(database_url, LOCKER))
        source = Path(config.source)
        source.write_text(source.read_text(encoding="utf-8").replace(
            "[sync]\nenabled = true", f'[sync]\nenabled = true\nserver_url = "{server.url}"\ninterval_s = 1'),
            encoding="utf-8")
        log = tmp_path / "locker.log"
        daemon = Child("locker", "--config", str(source), "serve", header_lines=1, log=log).start(timeout=30)
        api = Client(socket_path(config), store_path(config))
        try:
            wait_for(lambda: health(database_url), 30, "the locker's first heartbeat")
            started = lambda: len(api.events("daemon_started"))  # noqa: E731
            assert started() == 1

            # a resident's drop-off: the door stands open while the admin publishes
            opening = api("dropoff", case="CFG-1", size="M")
            assert opening["ok"], opening
            api.wait_opening(opening["opening"]["id"], "opened")
            publish(database_url, tmp_path, "[locker]\nwrong_tries = 2\n")
            wait_for(lambda: "restart waits: door" in log.read_text(encoding="utf-8"), 30, "the restart to wait")
            assert "the server's configuration changed locker.wrong_tries" in log.read_text(encoding="utf-8")
            assert started() == 1 and serving(api)

            door(sim, opening["door"], "close")  # the resident is done: now it may restart
            wait_for(lambda: started() == 2, 30, "the daemon to run again")
            assert daemon.running  # the same process ran itself again
            wait_for(lambda: serving(api), 30, "the API again")
            assert api.sql("SELECT state FROM openings WHERE id = ?", opening["opening"]["id"]) == [("closed",)]
            text = log.read_text(encoding="utf-8")
            assert "restarting the locker daemon to apply the server's configuration: locker.wrong_tries" in text
            assert f"with the server's device:{LOCKER}" in text

            # the published value rules: the second wrong code makes the keypad back off (the file says 5)
            assert [api("pickup", code=code).get("error") for code in ("11111111", "22222222", "33333333")] == [
                "wrong_short_code", "wrong_short_code", "backing_off"]

            # a lock bus on a port this box does not have: the server cannot know, the box refuses it
            publish(database_url, tmp_path, '[[lockboard]]\nname = "bus0"\nurl = "serial:///dev/ttyUSB-nowhere"\n\n'
                                            '[[lockboard.board]]\naddress = 0\n')
            peripheral = wait_for(lambda: (health(database_url).get("peripherals") or {}).get("config", {})
                                  .get("state") == "degraded" and health(database_url)["peripherals"]["config"],
                                  30, "the heartbeat to report the refused record")
            assert "lockboard[0].url = 'serial:///dev/ttyUSB-nowhere': no such serial port on this box" in \
                peripheral["detail"]
            assert any("config degraded: server config device:" in en for _zh, en in problems(health(database_url)))
            assert peripheral["data"]["keys"] == {"locker.wrong_tries": f"device:{LOCKER}"}  # the last good one
            for _ in range(3):  # more rounds and checks: still no restart, still one log line
                beats = health(database_url)
                wait_for(lambda: health(database_url) != beats, 15, "another heartbeat")
            assert started() == 2
            lines = [line for line in log.read_text(encoding="utf-8").splitlines() if "not applied" in line]
            assert len(lines) == 1 and "lockboard[0].url = 'serial:///dev/ttyUSB-nowhere'" in lines[0]
        finally:
            daemon.stop(timeout=30)
