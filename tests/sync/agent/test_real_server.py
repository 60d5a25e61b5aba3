"""The agent against a real server process (uvicorn, SQLite or PostgreSQL) that is
killed and restarted mid-batch while 30 % of requests fail at random."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select
from requests.adapters import HTTPAdapter

from sync.agent import Agent
from sync.server import db
from sync.server.models import EventRow
from sync.store import Store, pending
from tests.support import ROOT
from tests.sync.agent.adapters import FailingAdapter
from tests.sync.agent.conftest import append_events
from tests.sync.server.support import ServerProcess, new_code, new_key


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_killed_and_restarted_server_with_30_percent_failures_loses_and_repeats_nothing(database_url, tmp_path):
    engine = db.create(database_url)
    store = Store(tmp_path / "appliance.db")
    server = ServerProcess(database_url).start()
    agent = None
    try:
        key = new_key("kiosk-chaos")
        (tmp_path / "code").write_text(new_code(database_url, key.device_id))
        flaky = FailingAdapter(HTTPAdapter(), rate=0.3, seed=23)
        agent = Agent(store, key, server.url, tmp_path / "appliance.sync.db", enrolment_code_file=tmp_path / "code",
                      adapter=flaky, batch_size=50, interval_s=0.01, backoff_max_s=0.05, timeout_s=10)
        ids = append_events(store, 2000)

        def arrived() -> int:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(EventRow)).scalar_one()

        agent.start()
        wait_for(lambda: arrived() >= 400, 60, "the first events to arrive")
        server.kill()  # SIGKILL while the agent is pushing
        server.stop()
        failures = agent.failures
        wait_for(lambda: agent.failures >= failures + 2, 30, "the agent to notice")
        assert 0 < arrived() < 2000
        server = ServerProcess(database_url, port=server.port).start()
        wait_for(lambda: not pending(store), 120, "the outbox to drain")
        agent.stop()
        with engine.connect() as conn:
            rows = conn.execute(select(EventRow.id, EventRow.device_seq).order_by(EventRow.server_seq)).all()
        assert len(rows) == 2000 and sorted(r.id for r in rows) == sorted(ids)  # each exactly once
        assert [r.device_seq for r in rows] == list(range(1, 2001))  # in order
        assert all(flaky.failed[mode] > 0 for mode in FailingAdapter.MODES), flaky.failed
    finally:
        if agent is not None:
            agent.close()
        server.stop()
        store.close()
        engine.dispose()


def test_python_m_sync_agent_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'server.db'}"
    data = tmp_path / "data"
    data.mkdir()
    with ServerProcess(url) as server:
        config = tmp_path / "appliance.toml"
        config.write_text(f'[appliance]\nid = "kiosk-cli"\ndata_dir = "{data}"\n'
                          f'[sync]\nserver_url = "{server.url}"\n')
        (data / "enrolment-code").write_text(new_code(url, "kiosk-cli"))
        with Store(data / "appliance.db") as store:
            append_events(store, 7)
        run = subprocess.run([sys.executable, "-m", "sync.agent", "--config", str(config), "--once"],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert run.returncode == 0, run.stderr
        # the changes: the server's own key (created at its first start), this device's key
        assert run.stdout.strip() == "pushed 7 event(s) (0 quarantined), pulled 2 change(s)"
        assert set(json.loads((data / "trusted-keys.json").read_text())) == {"server", "kiosk-cli"}
        assert (data / "appliance.sync.db").exists()
        again = subprocess.run([sys.executable, "-m", "sync.agent", "--config", str(config), "--once"],
                               capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert again.returncode == 0 and again.stdout.startswith("pushed 0 event(s)")
