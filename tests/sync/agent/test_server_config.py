"""``python -m sync.agent`` on its own and the server's configuration: a ``[sync]`` key
published for the box (``python -m sync.server config set``) is pulled, and the agent
runs itself again between two rounds (the same process) with the new value; its
heartbeat says which record applies."""
from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from appliance.processes import Child
from sync.server import db
from sync.server.models import Device
from tests.locker.conftest import wait_for
from tests.support import ROOT
from tests.sync.server.support import COMMUNITY, ServerProcess, new_code


def config_health(database_url: str, device_id: str) -> dict:
    engine = db.create(database_url)
    try:
        with engine.connect() as conn:
            health = conn.execute(select(Device.health).where(Device.device_id == device_id)).scalar_one_or_none()
    finally:
        engine.dispose()
    return ((health or {}).get("peripherals") or {}).get("config") or {}


def test_the_standalone_agent_runs_again_with_a_published_sync_key(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'server.db'}"
    with ServerProcess(database_url) as server:
        data = tmp_path / "data"
        data.mkdir()
        (data / "enrolment-code").write_text(new_code(database_url, "kiosk-solo"))
        config = tmp_path / "appliance.toml"
        config.write_text(f'[appliance]\nid = "kiosk-solo"\ncommunity = "{COMMUNITY}"\ndata_dir = "{data}"\n'
                          f'[sync]\nserver_url = "{server.url}"\ninterval_s = 1\n[printer]\nenabled = false\n',
                          encoding="utf-8")
        log = tmp_path / "agent.log"
        agent = Child("sync.agent", "--config", str(config), header_lines=0, log=log).start()
        try:
            wait_for(lambda: (data / "appliance.sync.db").exists() and not (data / "enrolment-code").exists(), 30,
                     "the agent to enrol")
            fragment = tmp_path / "sync.toml"
            fragment.write_text("[sync]\nbatch_size = 100\n", encoding="utf-8")
            done = subprocess.run([sys.executable, "-m", "sync.server", "config", "set", "--community", COMMUNITY,
                                   "--device-id", "kiosk-solo", "--file", str(fragment), "--database", database_url],
                                  capture_output=True, text=True, cwd=ROOT, timeout=60)
            assert done.returncode == 0, done.stderr
            wait_for(lambda: "with the server's device:kiosk-solo" in log.read_text(encoding="utf-8"), 30,
                     "the agent to run again with the record")
            assert "running again: -m sync.agent --config" in log.read_text(encoding="utf-8")
            assert "the server's configuration changed sync.batch_size" in log.read_text(encoding="utf-8")
            assert agent.running
            report = wait_for(lambda: config_health(database_url, "kiosk-solo"), 30, "the config in a heartbeat")
            assert report["state"] == "ok" and report["data"]["keys"] == {"sync.batch_size": "device:kiosk-solo"}
        finally:
            agent.stop(timeout=30)
