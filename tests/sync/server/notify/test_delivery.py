"""Stored notifications and the delivery loop, on SQLite and PostgreSQL, through a
real local HTTP gateway that fails and then recovers."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from sync.server import db, migrations
from sync.server.notify import outbox
from sync.server.notify.adapters import HttpGateway, LogNotifier
from sync.server.notify.delivery import deliver_due, drain
from sync.server.notify.models import Notification
from sync.server.notify.settings import NotifySettings

ROWS = Notification.__table__


@pytest.fixture
def engine(database_url):
    engine = db.create(database_url)
    migrations.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def row(engine, notification_id):
    with engine.connect() as conn:
        return conn.execute(select(ROWS).where(ROWS.c.id == notification_id)).one()


def enqueue(engine, dedupe="e-1", phone="13800138000", when=None, text="取件码 12345678"):
    with engine.begin() as conn:
        return outbox.enqueue(conn, dedupe=dedupe, kind="pickup_ready", phone=phone, text=text, case_id="c-1",
                              community="示范社区", when=when)


def test_a_failing_gateway_is_retried_with_backoff_until_it_recovers(engine, gateway):
    clock = Clock()
    settings = NotifySettings(backoff_s=30, max_attempts=5)
    notifier = HttpGateway(gateway.url + "/send", body='{"to": "$phone", "text": "$text"}',
                           headers={"Content-Type": "application/json"})
    ident = enqueue(engine, when=clock())
    gateway.fail_next = 2

    assert drain(engine, notifier, settings, clock=clock).retrying == 1
    first = row(engine, ident)
    assert (first.state, first.attempts) == ("pending", 1)
    assert "503" in first.last_error
    assert drain(engine, notifier, settings, clock=clock).tried == 0  # not due before its backoff
    clock.advance(29)
    assert drain(engine, notifier, settings, clock=clock).tried == 0
    clock.advance(1)
    assert drain(engine, notifier, settings, clock=clock).retrying == 1  # second failure: waits 60 s
    clock.advance(59)
    assert drain(engine, notifier, settings, clock=clock).tried == 0
    clock.advance(1)
    assert drain(engine, notifier, settings, clock=clock).sent == 1  # recovered

    done = row(engine, ident)
    assert (done.state, done.attempts, done.last_error) == ("sent", 3, None)
    assert len(gateway.received) == 3
    assert gateway.received[-1].json() == {"to": "13800138000", "text": "取件码 12345678"}
    clock.advance(3600)
    assert drain(engine, notifier, settings, clock=clock).tried == 0  # never sent twice


def test_it_gives_up_after_max_attempts_and_says_why(engine, gateway):
    clock = Clock()
    gateway.fail_next = 99
    ident = enqueue(engine, when=clock())
    settings = NotifySettings(backoff_s=1, max_attempts=3)
    notifier = HttpGateway(gateway.url, body="$text")
    for _ in range(5):
        drain(engine, notifier, settings, clock=clock)
        clock.advance(10)
    failed = row(engine, ident)
    assert (failed.state, failed.attempts) == ("failed", 3)
    assert "answered 503" in failed.last_error
    assert len(gateway.received) == 3


def test_enqueue_is_idempotent_and_a_missing_phone_fails_at_once(engine):
    first = enqueue(engine, dedupe="same")
    assert enqueue(engine, dedupe="same") is None
    no_phone = enqueue(engine, dedupe="nobody", phone="")
    with engine.connect() as conn:
        assert outbox.counts(conn) == {"pending": 1, "failed": 1}
    assert first is not None
    assert "household record" in row(engine, no_phone).last_error


def test_a_claimed_row_is_not_sent_again_until_its_lease_ends(engine, tmp_path):
    clock = Clock()
    ident = enqueue(engine, when=clock())
    (claimed,) = outbox.claim(engine, when=clock())  # a process that then dies mid-send
    assert claimed.message.id == ident and claimed.attempts == 1
    notifier = LogNotifier(tmp_path / "sms.jsonl")
    assert deliver_due(engine, notifier, NotifySettings(), clock=clock).tried == 0
    clock.advance(outbox.LEASE.total_seconds())
    assert deliver_due(engine, notifier, NotifySettings(), clock=clock).sent == 1
    assert row(engine, ident).attempts == 2


def test_two_delivering_processes_never_send_one_notification_twice(engine, database_url, gateway):
    for n in range(60):
        enqueue(engine, dedupe=f"e-{n}", text=f"message {n}")
    second = db.create(database_url)  # another process's engine and pool
    try:
        notifier = HttpGateway(gateway.url, body="$text", headers={"Content-Type": "text/plain"})
        settings = NotifySettings()
        results = []

        def deliver(engine_):
            results.append(drain(engine_, notifier, settings))
        threads = [threading.Thread(target=deliver, args=(e,)) for e in (engine, second, engine, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        second.dispose()
    bodies = sorted(r.body.decode() for r in gateway.received)
    assert bodies == sorted(f"message {n}" for n in range(60))  # each exactly once
    assert sum(r.sent for r in results) == 60
    with engine.connect() as conn:
        assert outbox.counts(conn) == {"sent": 60}
