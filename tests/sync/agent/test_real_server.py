"""The agent against a real server process (uvicorn, SQLite or PostgreSQL) that is
killed and restarted mid-batch while 30 % of requests fail at random."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
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
        # the changes: the server's own key (created at its first start), this device's key,
        # and the state of each of the 4 cases the 7 events touched (kind "case")
        assert run.stdout.strip() == "pushed 7 event(s) (0 quarantined), pulled 6 change(s)"
        assert set(json.loads((data / "trusted-keys.json").read_text())) == {"server", "kiosk-cli"}
        assert (data / "appliance.sync.db").exists()
        again = subprocess.run([sys.executable, "-m", "sync.agent", "--config", str(config), "--once"],
                               capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert again.returncode == 0 and again.stdout.startswith("pushed 0 event(s)")


class KillOnPush(HTTPAdapter):
    """Kills the server right after it applied the ``n``-th push, before the agent reads
    the answer: the batch is in the database, the agent never learns it (mid-batch)."""

    def __init__(self, n: int, kill) -> None:
        super().__init__()
        self.n, self.kill, self.pushes = n, kill, 0

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        if request.method == "POST" and request.path_url.endswith("/events"):
            self.pushes += 1
            if self.pushes == self.n:
                self.kill()
                response.close()
                raise requests.ConnectionError("the server died before its answer arrived", request=request)
        return response


def test_a_server_killed_after_applying_a_batch_before_answering_gets_it_again_once(database_url, tmp_path):
    engine = db.create(database_url)
    store = Store(tmp_path / "appliance.db")
    server = ServerProcess(database_url).start()
    killed = []

    def kill() -> None:
        server.kill()
        killed.append(arrived())

    def arrived() -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(EventRow)).scalar_one()

    agent = None
    try:
        key = new_key("kiosk-midbatch")
        (tmp_path / "code").write_text(new_code(database_url, key.device_id))
        flaky = FailingAdapter(KillOnPush(8, kill), rate=0.3, seed=41)
        agent = Agent(store, key, server.url, tmp_path / "appliance.sync.db", enrolment_code_file=tmp_path / "code",
                      adapter=flaky, batch_size=50, interval_s=0.01, backoff_max_s=0.05, timeout_s=10)
        ids = append_events(store, 1000)
        agent.start()
        wait_for(lambda: bool(killed), 60, "the server to be killed after a push")
        assert killed[0] % 50 == 0 and 0 < killed[0] < 1000  # whole batches: the last one applied, unanswered
        assert len(pending(store, 2000)) == 1000 - killed[0] + 50  # the agent still holds the unanswered batch
        server.stop()
        server = ServerProcess(database_url, port=server.port).start()
        wait_for(lambda: not pending(store), 120, "the outbox to drain")
        agent.stop()
        with engine.connect() as conn:
            rows = conn.execute(select(EventRow.id, EventRow.device_seq).order_by(EventRow.server_seq)).all()
        assert [r.id for r in rows] == ids  # each exactly once, in order
    finally:
        if agent is not None:
            agent.close()
        server.stop()
        store.close()
        engine.dispose()


def test_ten_thousand_events_queued_while_the_server_was_down_drain_in_one_round(database_url, tmp_path):
    engine = db.create(database_url)
    store = Store(tmp_path / "appliance.db")
    server = ServerProcess(database_url).start()
    agent = None
    try:
        key = new_key("kiosk-away")
        (tmp_path / "code").write_text(new_code(database_url, key.device_id))
        agent = Agent(store, key, server.url, tmp_path / "appliance.sync.db", enrolment_code_file=tmp_path / "code",
                      batch_size=500, timeout_s=30)
        agent.run_once()  # enrolled
        server.stop()  # away (for days, as far as the agent can tell)
        ids = append_events(store, 10_000)
        for _ in range(3):
            agent.step()
        assert agent.failures == 3 and "ConnectionError" in agent.last_error
        server = ServerProcess(database_url, port=server.port).start()
        done = agent.run_once()
        assert done.pushed == 10_000 and pending(store) == []
        with engine.connect() as conn:
            rows = conn.execute(select(EventRow.id).order_by(EventRow.server_seq)).all()
        assert [r.id for r in rows] == ids
    finally:
        if agent is not None:
            agent.close()
        server.stop()
        store.close()
        engine.dispose()


def test_the_heartbeat_carries_every_peripherals_health_free_disk_and_version(tmp_path):
    """What the admin console's fleet page reads (devices.health), from a real server."""
    from drivers.health import Health
    from sync.agent.agent import software_version
    from sync.server.models import Device
    from sync.wire import PeripheralHealth

    found = [
        Health("printer", "cups://kiosk", "degraded", "paper low", "load A4 paper",
               data={"printer_state": "idle", "reasons": ["media-low-warning"], "paper": "low"}),
        Health("lockboard bus0", "serial:///dev/ttyUSB0", "ok", "2 boards, 24 doors answer",
               data={"boards": 2, "doors_open": [7]}),
        Health("idcard", "serial:///dev/ttyUSB1", "down", "no answer from the SAM", "check the reader's cable"),
        Health("camera", "camera://0", "ok", "640x480 at 15 fps", data={"width": 640, "height": 480}),
    ]
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with ServerProcess(url) as server, Store(tmp_path / "appliance.db") as store:
        key = new_key("kiosk-health")
        (tmp_path / "code").write_text(new_code(url, key.device_id))
        append_events(store, 3)
        with Agent(store, key, server.url, tmp_path / "appliance.sync.db", enrolment_code_file=tmp_path / "code",
                   health=lambda: {h.device: PeripheralHealth.from_health(h) for h in found}) as agent:
            agent.run_once()
        engine = db.create(url)
        try:
            with engine.connect() as conn:
                health = conn.execute(select(Device.health).where(Device.device_id == "kiosk-health")).scalar_one()
        finally:
            engine.dispose()
    assert set(health["peripherals"]) == {"printer", "lockboard bus0", "idcard", "camera"}
    assert health["peripherals"]["printer"]["data"]["paper"] == "low"
    assert health["peripherals"]["printer"]["state"] == "degraded"
    assert health["peripherals"]["idcard"] == {"state": "down", "detail": "no answer from the SAM",
                                              "fix": "check the reader's cable", "data": {}}
    assert health["peripherals"]["lockboard bus0"]["data"] == {"boards": 2, "doors_open": [7]}
    assert health["free_disk_bytes"] > 0 and health["software_version"] == software_version()
    assert health["outbox_pending"] == 0


def test_a_health_probe_that_fails_is_reported_and_the_heartbeat_still_goes(make_agent, app_client):
    from sync.server.models import Device

    def broken():
        raise OSError("the CUPS socket vanished")

    agent = make_agent(health=broken)
    assert agent.run_once().heartbeat
    with app_client.app.state.engine.connect() as conn:
        health = conn.execute(select(Device.health).where(Device.device_id == agent.key.device_id)).scalar_one()
    assert health["peripherals"]["health probe"]["state"] == "down"
    assert "CUPS socket vanished" in health["peripherals"]["health probe"]["detail"]
