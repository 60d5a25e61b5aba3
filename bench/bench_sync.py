"""Sync server: events ingested into PostgreSQL per second (HTTP and in-process) beside a bare psycopg insert; heartbeat p99 for 500 appliances.

- *pushed over HTTP*: a real server process (uvicorn, one worker) on loopback; the
  agent's own client pushes signed batches of 500 events (each a new case created
  and closed, so every event goes through the lifecycle check), one batch at a time
  as one appliance does. Everything counts: signing, auth and nonce, JSON, ingest.
- *ingest in-process*: :func:`sync.server.ingest.apply_batch` on the same batches,
  without HTTP: what the database work costs.
- *bare psycopg*: the same rows, ``executemany`` into a table of the same columns,
  one transaction per 500, same database, same run: the floor.
- *heartbeat p99*: 500 enrolled appliances each send a heartbeat and a pull; the
  pulls start near the head of the change feed, as an appliance in sync does; the
  requests are paced at 75 requests/s, 1.5 times what a fleet of 500 syncing every
  30 s sends (heartbeat, pull and a push each round: 50/s), from 8 client threads;
  latency counts from each request's scheduled time, so a stall is not hidden.

Needs the local PostgreSQL (TESTING.md); ``BENCH_POSTGRESQL`` overrides the admin
URL. A database is created for the run and dropped after.
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from appliance.keys import DeviceKey, encode_public_key
from appliance.processes import Child
from bench.figures import Figure, percentile
from sync.agent.client import ServerClient
from sync.server import db, migrations
from sync.server.devices import create_code, enrol
from sync.server.ingest import Device, apply_batch
from sync.wire import EnrolRequest, Event, Heartbeat

ADMIN = os.environ.get("BENCH_POSTGRESQL", "postgresql://root@127.0.0.1:5432/postgres")
BATCH = 500
BATCHES = 12  # per variant: 6,000 events
FLEET = 500
RATE = 75.0  # requests/s for the heartbeat figure
THREADS = 8


@contextmanager
def _database() -> Iterator[str]:
    name = f"kiosk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _events(start_seq: int, count: int) -> list[Event]:
    events = []
    for i in range(count):
        seq = start_seq + i
        case = f"bench-{uuid.uuid4().hex[:12]}" if i % 2 == 0 else events[-1].aggregate_id
        events.append(Event(id=uuid.uuid4(), seq=seq, aggregate_type="case", aggregate_id=case,
                            event_type="created" if i % 2 == 0 else "closed",
                            payload={"template": "residence-proof", "serial": f"2026-{seq:06d}", "pages": 1},
                            created_at="2026-11-22T04:00:00.000+00:00"))
    return events


def _enrol(engine, device_id: str) -> DeviceKey:
    key = DeviceKey.generate(device_id)
    with engine.begin() as conn:
        code = create_code(conn, "示范社区", device_id)
        enrol(conn, EnrolRequest(code=code, device_id=device_id, public_key=encode_public_key(key.public_key)))
    return key


def _bare(url: str, batches: list[list[Event]]) -> float:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bare_events (LIKE events INCLUDING DEFAULTS)")
        conn.commit()
        started = time.perf_counter()
        for batch in batches:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO bare_events (server_seq, id, device_id, device_seq, aggregate_type, aggregate_id, "
                    "event_type, payload, created_at, received_at, digest, status, reason, case_state) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now(), %s, 'applied', NULL, %s)",
                    [(e.seq, str(e.id), "bench-bare", e.seq, e.aggregate_type, e.aggregate_id, e.event_type,
                      json.dumps(e.payload), e.created_at, e.digest(), e.event_type) for e in batch])
            conn.commit()
        return sum(map(len, batches)) / (time.perf_counter() - started)


def _heartbeats(url: str, keys: list[DeviceKey], cursor: int) -> tuple[list[float], int]:
    clients = [ServerClient(url, key, timeout=30) for key in keys]
    beat = Heartbeat(software_version="bench", free_disk_bytes=10 ** 10)
    jobs = [(c, kind) for c in clients for kind in ("heartbeat", "pull")]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    next_job = iter(enumerate(jobs))
    start = time.perf_counter() + 0.2

    def worker() -> None:
        while True:
            with lock:
                item = next(next_job, None)
            if item is None:
                return
            index, (client, kind) = item
            due = start + index / RATE
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                client.heartbeat(beat) if kind == "heartbeat" else client.pull(cursor, 100)
            except Exception:  # noqa: BLE001 - counted and reported, a bench keeps going
                with lock:
                    errors[0] += 1
            with lock:
                latencies.append((time.perf_counter() - due) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return latencies, errors[0]


def run() -> list[Figure]:
    with _database() as url:
        engine = db.create(url)
        try:
            migrations.upgrade(engine)
            http_key = _enrol(engine, "bench-http")
            local = Device("bench-local", "示范社区")
            _enrol(engine, "bench-local")
            fleet = [_enrol(engine, f"bench-fleet-{i:03d}") for i in range(FLEET)]
            plan = {name: [_events(1 + i * BATCH, BATCH) for i in range(BATCHES)] for name in ("http", "local", "bare")}

            server = Child("sync.server", "--port", "0", "--database", url, "--log-level", "WARNING",
                           header_lines=1).start()
            try:
                server_url = server.header[0].split()[-1]
                client = ServerClient(server_url, http_key)
                client.push(_events(10 ** 6, 10))  # warm: connections, imports
                started = time.perf_counter()
                for batch in plan["http"]:
                    client.push(batch)
                http_rate = BATCH * BATCHES / (time.perf_counter() - started)
                client.close()
                with engine.connect() as conn:  # appliances in sync pull from near the head
                    head = conn.exec_driver_sql("SELECT max(seq) FROM changes").scalar_one()
                latencies, errors = _heartbeats(server_url, fleet, max(0, head - 5))
            finally:
                server.stop()

            started = time.perf_counter()
            for batch in plan["local"]:
                apply_batch(engine, local, batch)
            local_rate = BATCH * BATCHES / (time.perf_counter() - started)
            bare_rate = _bare(url, plan["bare"])
        finally:
            engine.dispose()
    p99 = percentile(latencies, 99)
    return [
        Figure("events pushed over HTTP into PostgreSQL", http_rate, "events/s", ">= 2000", http_rate >= 2000,
               bare_rate, note=f"batches of {BATCH}, signed, lifecycle-checked; baseline bare psycopg executemany"),
        Figure("events ingested in-process (apply_batch)", local_rate, "events/s", baseline=bare_rate),
        Figure(f"heartbeat+pull p99, {FLEET} appliances at {RATE:.0f} req/s", p99, "ms", "<= 150", p99 <= 150,
               note=f"p50 {percentile(latencies, 50):.1f} ms, {len(latencies)} requests, {errors} errors"),
    ]
