"""Uploads through two server processes on one PostgreSQL database at once: chunks
of one file alternate between the processes (a round-robin proxy), so nothing of an
upload may live in a process's memory."""
from __future__ import annotations

import os

from sync.agent import Agent
from sync.agent.attachments import pending_attachments
from sync.server import db
from sync.store import Store
from tests.sync.agent.test_attachments import queue_scan, server_bytes
from tests.sync.agent.test_real_server import wait_for
from tests.sync.server.support import new_code, new_key
from tests.sync.server.test_scale_out import RoundRobin, two_servers  # noqa: F401 - the fixture


def test_one_files_chunks_alternate_between_two_server_processes(two_servers, tmp_path):  # noqa: F811
    url, a, b = two_servers
    agents, stores, sent = [], [], {}
    try:
        for n in range(2):
            folder = tmp_path / f"appliance-{n}"
            folder.mkdir()
            key = new_key(f"kiosk-scan-{n}")
            (folder / "code").write_text(new_code(url, key.device_id))
            store = Store(folder / "appliance.db")
            stores.append(store)
            for m in range(2):
                data = os.urandom(300_000 + m)
                sent[queue_scan(store, f"case-{n}-{m}", data)] = data
            agents.append(Agent(store, key, a.url, folder / "appliance.sync.db", enrolment_code_file=folder / "code",
                                adapter=RoundRobin([a.url, b.url]), chunk_bytes=16_384, interval_s=0.01,
                                backoff_max_s=0.05))
        for agent in agents:
            agent.start()
        wait_for(lambda: not any(pending_attachments(s) for s in stores), 90, "every upload to finish")
        for agent in agents:
            agent.stop()
        assert not any(pending_attachments(s) for s in stores)
        assert all(agent.failures == 0 for agent in agents)
        engine = db.create(url)
        try:
            for attachment_id, data in sent.items():
                assert server_bytes(engine, attachment_id) == data
        finally:
            engine.dispose()
    finally:
        for agent in agents:
            agent.close()
        for store in stores:
            store.close()
