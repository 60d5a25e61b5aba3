"""Scale-out: two server processes on one PostgreSQL database; appliances sync
through both at once (a round-robin "proxy" adapter), a replay through the other
process is refused, and a revocation made through one is enforced by the other."""
from __future__ import annotations

import itertools
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from sync.agent import Agent
from sync.server import db
from sync.server.devices import revoke
from sync.server.models import EventRow
from sync.store import Store, pending
from sync.wire import API
from tests.sync.agent.conftest import append_events
from tests.sync.server.support import (Signed, ServerProcess, new_code, new_key, postgresql_database,
                                       signature_headers)


class RoundRobin(HTTPAdapter):
    """Sends each request to the next server in turn, as a reverse proxy would."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__()
        self.targets = itertools.cycle([urlsplit(u).netloc for u in urls])
        self.lock = threading.Lock()

    def send(self, request, **kwargs):
        with self.lock:
            netloc = next(self.targets)
        request.url = urlunsplit(urlsplit(request.url)._replace(netloc=netloc))
        return super().send(request, **kwargs)


@pytest.fixture
def two_servers():
    with postgresql_database() as url, ServerProcess(url) as a, ServerProcess(url) as b:
        yield url, a, b


def test_appliances_sync_through_two_server_processes_at_once(two_servers, tmp_path):
    url, a, b = two_servers
    agents, stores, ids = [], [], {}
    try:
        for n in range(4):
            folder = tmp_path / f"appliance-{n}"
            folder.mkdir()
            key = new_key(f"kiosk-{n}")
            (folder / "code").write_text(new_code(url, key.device_id))
            store = Store(folder / "appliance.db")
            stores.append(store)
            ids[key.device_id] = append_events(store, 400, case_prefix=f"k{n}")
            agents.append(Agent(store, key, a.url, folder / "appliance.sync.db", enrolment_code_file=folder / "code",
                                adapter=RoundRobin([a.url, b.url]), batch_size=25, interval_s=0.01,
                                backoff_max_s=0.05))
        for agent in agents:
            agent.start()
        deadline = time.monotonic() + 90
        while any(pending(s) for s in stores) and time.monotonic() < deadline:
            time.sleep(0.05)
        for agent in agents:
            agent.stop()
        assert not any(pending(s) for s in stores)
        assert all(agent.failures == 0 for agent in agents)
        engine = db.create(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(EventRow.id, EventRow.device_id, EventRow.device_seq, EventRow.status)
                                    .order_by(EventRow.server_seq)).all()
        finally:
            engine.dispose()
        for device_id, sent in ids.items():
            mine = [r for r in rows if r.device_id == device_id]
            assert [r.id for r in mine] == sent  # exactly once, in order
            assert {r.status for r in mine} == {"applied"}
    finally:
        for agent in agents:
            agent.close()
        for store in stores:
            store.close()


def test_state_is_shared_replays_and_revocations_cross_processes(two_servers):
    url, a, b = two_servers
    with requests.Session() as http:
        device = Signed(http, new_key("kiosk-x"), base_url=a.url)
        assert device.enrol(new_code(url, "kiosk-x")).status_code == 201
        headers = signature_headers(device.key, "GET", f"{API}/changes", b"")
        assert http.get(f"{a.url}{API}/changes", headers=headers, timeout=10).status_code == 200
        replay = http.get(f"{b.url}{API}/changes", headers=headers, timeout=10)
        assert replay.status_code == 401 and "replay" in replay.json()["detail"]
        engine = db.create(url)
        try:
            with engine.begin() as conn:
                revoke(conn, "kiosk-x")
        finally:
            engine.dispose()
        for server in (a, b):
            assert Signed(http, device.key, base_url=server.url)("GET", "/changes").status_code == 403
