"""The agent uploads attachments queued in the store, in chunks, resuming where the
server stands: through 30 % failed requests in-process, and across a real server
process killed mid-upload and started again."""
from __future__ import annotations

import hashlib
import os
import threading

from requests.adapters import HTTPAdapter
from sqlalchemy import select

from sync.agent import Agent
from sync.agent.attachments import ensure, get_attachment, pending_attachments, queue_attachment
from sync.server import db
from sync.server.attachments import uploads
from sync.server.attachments.models import Attachment
from sync.store import Store, append_event
from tests.sync.agent.adapters import ASGIAdapter, FailingAdapter
from tests.sync.agent.test_real_server import wait_for
from tests.sync.server.support import ServerProcess, Signed, event, new_code, new_key


def queue_scan(store: Store, case_id: str, data: bytes, name: str = "scan.pdf") -> str:
    ensure(store)  # as a daemon does, opening its store with the queue's migrations
    with store.atomic() as db_:
        append_event(db_, aggregate_type="case", aggregate_id=case_id, event_type="created", payload={})
        return queue_attachment(db_, case_id=case_id, content_type="application/pdf", data=data, name=name)


def server_bytes(engine, attachment_id: str) -> bytes:
    with engine.connect() as conn:
        complete = conn.execute(select(Attachment.completed_at).where(Attachment.id == attachment_id)).scalar_one()
        assert complete is not None
        return b"".join(uploads.read(conn, attachment_id))


def chunk_puts(calls: list[str]) -> list[int]:
    return [int(c.rsplit("/", 1)[1]) for c in calls if c.startswith("PUT ") and "/chunks/" in c]


def test_queued_scans_go_up_in_chunks_and_leave_the_appliance(make_agent, store, app_client):
    scans = {f"case-{n}": os.urandom(100_000 + n) for n in range(3)}
    ids = {case: queue_scan(store, case, data) for case, data in scans.items()}
    adapter = ASGIAdapter(app_client)
    agent = make_agent(adapter=adapter, chunk_bytes=32 * 1024)
    done = agent.run_once()
    assert (done.pushed, done.uploaded, done.attachments_held) == (3, 3, [])
    for case, data in scans.items():
        assert server_bytes(app_client.app.state.engine, ids[case]) == data
        queued = get_attachment(store, ids[case])
        assert queued.uploaded_at is not None and queued.sha256 == hashlib.sha256(data).hexdigest()
    with store.reader() as db_:
        assert db_.execute("SELECT count(*) FROM attachments_out WHERE data IS NOT NULL").fetchone()[0] == 0
    assert len(chunk_puts(adapter.calls)) == sum(-(-len(d) // (32 * 1024)) for d in scans.values())
    assert agent.run_once().uploaded == 0


def test_with_30_percent_of_requests_failing_an_upload_resumes_instead_of_starting_over(make_agent, store,
                                                                                        app_client):
    data = os.urandom(600_000)
    attachment_id = queue_scan(store, "case-big", data)
    inner = ASGIAdapter(app_client)
    flaky = FailingAdapter(inner, rate=0.3, seed=7)
    agent = make_agent(adapter=flaky, chunk_bytes=20_000)
    for _ in range(500):
        agent.step()
        if not pending_attachments(store) and agent.failures == 0:
            break
    assert pending_attachments(store) == []
    assert server_bytes(app_client.app.state.engine, attachment_id) == data
    assert all(flaky.failed[mode] > 0 for mode in FailingAdapter.MODES), flaky.failed
    sent = chunk_puts(inner.calls)
    chunks = len(range(0, len(data), 20_000))
    assert set(sent) == set(range(0, len(data), 20_000))
    # only chunks whose answer was lost go twice: never the whole file again
    assert len(sent) - chunks <= flaky.failed["lost"] and sent.count(0) <= 2


def test_a_scan_damaged_on_disk_or_refused_is_held_back_and_the_others_go(make_agent, store, app_client, tmp_path):
    elsewhere = Signed(app_client, new_key("kiosk-far"))
    assert elsewhere.enrol(new_code(str(app_client.app.state.engine.url), "kiosk-far", "另一社区")).status_code == 201
    assert elsewhere("POST", "/events", {"events": [event("case-far", "created", 1)]}).status_code == 200
    damaged = queue_scan(store, "case-1", os.urandom(5000))
    with store.atomic() as db_:  # a bad sector: the bytes no longer match the digest taken when queued
        db_.execute("UPDATE attachments_out SET data = ? WHERE id = ?", [os.urandom(5000), damaged])
    refused = queue_scan(store, "case-far", b"%PDF- not ours")
    good = queue_scan(store, "case-2", os.urandom(5000))
    agent = make_agent()
    done = agent.run_once()
    assert done.uploaded == 1 and sorted(done.attachments_held) == sorted([damaged, refused])
    assert server_bytes(app_client.app.state.engine, good)
    assert "scan the document again" in get_attachment(store, damaged).last_error
    assert "another community" in get_attachment(store, refused).last_error
    assert {a.id for a in pending_attachments(store)} == {damaged, refused}
    assert agent.run_once().attachments_held == []  # not tried again and again


class KillAfter(HTTPAdapter):
    """Records every request; once the ``n``-th chunk PUT was answered, calls ``then`` (once)."""

    def __init__(self, n: int, then) -> None:
        super().__init__()
        self.n, self.then, self.calls = n, then, []
        self.lock = threading.Lock()

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        with self.lock:
            self.calls.append(f"{request.method} {request.path_url}")
            if self.then is not None and len(chunk_puts(self.calls)) == self.n:
                self.then, then = None, self.then
                then()
        return response


def test_a_server_killed_mid_upload_and_started_again_gets_the_rest(database_url, tmp_path):
    engine = db.create(database_url)
    store = Store(tmp_path / "appliance.db")
    server = ServerProcess(database_url).start()
    killed = threading.Event()

    def kill() -> None:
        server.kill()  # SIGKILL: whatever the server was doing is gone
        killed.set()

    agent = None
    try:
        key = new_key("kiosk-scan")
        (tmp_path / "code").write_text(new_code(database_url, key.device_id))
        data = os.urandom(1_000_000)
        attachment_id = queue_scan(store, "case-scan", data)
        adapter = KillAfter(6, kill)
        agent = Agent(store, key, server.url, tmp_path / "appliance.sync.db", enrolment_code_file=tmp_path / "code",
                      adapter=adapter, chunk_bytes=50_000, interval_s=0.01, backoff_max_s=0.05, timeout_s=10)
        agent.start()
        wait_for(killed.is_set, 60, "the server to be killed mid-upload")
        failures = agent.failures
        wait_for(lambda: agent.failures >= failures + 2, 30, "the agent to notice")
        with engine.connect() as conn:
            held = conn.execute(select(Attachment.received).where(Attachment.id == attachment_id)).scalar_one()
        assert held == 6 * 50_000  # what was committed before the kill survived it
        server.stop()
        server = ServerProcess(database_url, port=server.port).start()
        wait_for(lambda: not pending_attachments(store), 60, "the upload to finish")
        agent.stop()
        assert server_bytes(engine, attachment_id) == data
        sent = chunk_puts(adapter.calls)
        assert sent.count(0) == 1 and sent[6] == 300_000  # resumed at the first byte it lacked
        assert sorted(set(sent)) == list(range(0, 1_000_000, 50_000))
    finally:
        if agent is not None:
            agent.close()
        server.stop()
        store.close()
        engine.dispose()
