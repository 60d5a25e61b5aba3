"""Delivery as processes: two server processes on one PostgreSQL database each run
the delivery loop and still send every notification exactly once; ``python -m
sync.server notify --once`` through a real HTTP gateway that fails, then recovers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from sync.server import db, migrations
from sync.server.notify import outbox
from tests.support import ROOT
from tests.sync.server.support import ServerProcess, postgresql_database


def enqueue_many(url: str, count: int) -> None:
    engine = db.create(url)
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            for n in range(count):
                outbox.enqueue(conn, dedupe=f"p-{n}", kind="contact", phone="13800138000", text=f"message {n}")
    finally:
        engine.dispose()


def counts(url: str) -> dict[str, int]:
    engine = db.create(url)
    try:
        with engine.connect() as conn:
            return outbox.counts(conn)
    finally:
        engine.dispose()


def test_two_server_processes_deliver_each_notification_once(tmp_path, monkeypatch):
    log = tmp_path / "sms.jsonl"
    monkeypatch.setenv("SYNC_NOTIFY_LOG_FILE", str(log))
    monkeypatch.setenv("SYNC_NOTIFY_INTERVAL_S", "0.05")
    with postgresql_database() as url:
        first, second = ServerProcess(url).start(), ServerProcess(url).start()
        try:
            enqueue_many(url, 200)
            deadline = time.monotonic() + 30
            while counts(url).get("sent", 0) < 200 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            first.stop()
            second.stop()
        assert counts(url) == {"sent": 200}
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["text"] for line in lines) == sorted(f"message {n}" for n in range(200))


def test_notify_once_as_a_process_through_a_failing_gateway(tmp_path, gateway):
    url = f"sqlite:///{tmp_path / 'server.db'}"
    enqueue_many(url, 3)
    env = {**os.environ, "SYNC_NOTIFY_ADAPTER": "http", "SYNC_NOTIFY_HTTP_URL": gateway.url + "/sms",
           "SYNC_NOTIFY_BACKOFF_S": "0", "SYNC_NOTIFY_MAX_ATTEMPTS": "3"}

    def once():
        done = subprocess.run([sys.executable, "-m", "sync.server", "notify", "--once", "--database", url],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    # backoff 0: a failed one is due again at once, so one pass retries until each is sent or given up
    gateway.fail_next = 7  # attempts 1 and 2 of all three fail, then the first one's third: it gives up
    assert once() == "sent 2, to retry 6, failed 1"
    assert counts(url) == {"sent": 2, "failed": 1}
    assert len(gateway.received) == 9
    assert once() == "sent 0, to retry 0, failed 0"  # nothing is sent twice, nothing failed is retried
    assert len(gateway.received) == 9

    bad = subprocess.run([sys.executable, "-m", "sync.server", "notify", "--once", "--database", url],
                         capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**env, "SYNC_NOTIFY_HTTP_URL": "sms.example"})
    assert bad.returncode == 2 and "SYNC_NOTIFY_HTTP_URL" in bad.stderr
