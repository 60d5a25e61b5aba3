"""Sync server: events ingested into PostgreSQL per second (HTTP and in-process) beside a bare psycopg insert; API p99 for 500 appliances syncing every 30 s.

- *pushed over HTTP*: a real server process (uvicorn, one worker) on loopback; the
  agent's own client pushes signed batches of 500 events (each a new case created
  and closed, so every event goes through the lifecycle check), one batch at a time
  as one appliance does. Everything counts: signing, auth and nonce, JSON, ingest.
- *ingest in-process*: :func:`sync.server.ingest.apply_batch` on the same batches,
  without HTTP: what the database work costs.
- *bare psycopg*: the same rows, ``executemany`` into a table of the same columns,
  one transaction per 500, same database, same run: the floor.
- *fleet p99*: 500 enrolled appliances, each doing one full agent round in one
  30 s interval, as ``[sync] interval_s = 30`` does: push (2 events: a certificate
  case created and closed; a worst case, most rounds push nothing), pull from near
  the head of the change feed (an appliance in sync), heartbeat with peripheral
  health. Each appliance's round starts at a random moment of the 30 s (appliances
  are not in step), so the server sees the fleet's real request rate (1,500
  requests in 30 s, 50/s, with the bursts chance makes), not a compressed one. Each appliance's requests go one after the other, as the agent
  sends them; the first request's latency counts from its round's scheduled start,
  so a client or server stall is not hidden.

Needs the local PostgreSQL (TESTING.md); ``BENCH_POSTGRESQL`` overrides the admin
URL. A database is created for the run and dropped after.
"""
from __future__ import annotations

import json
import os
import random
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
from sync.wire import EnrolRequest, Event, Heartbeat, PeripheralHealth

ADMIN = os.environ.get("BENCH_POSTGRESQL", "postgresql://root@127.0.0.1:5432/postgres")
BATCH = 500
BATCHES = 12  # per variant: 6,000 events
FLEET = 500
INTERVAL_S = 30.0  # [sync] interval_s: every appliance does one round in it
THREADS = 24  # appliances in a round at the same moment, at most


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


def _fleet(url: str, keys: list[DeviceKey], cursor: int) -> tuple[list[float], int]:
    """One 30 s interval of the fleet: each appliance's round (push, pull, heartbeat) at
    its jittered start; returns every request's latency (ms) and the errors."""
    rng = random.Random(5)
    clients = [ServerClient(url, key, timeout=30) for key in keys]
    health = {"printer": PeripheralHealth(state="ok", detail="idle", data={"paper": "ok"}),
              "lockboard bus0": PeripheralHealth(state="ok", detail="2 boards answer"),
              "camera": PeripheralHealth(state="ok", detail="640x480")}
    beat = Heartbeat(software_version="bench", free_disk_bytes=10 ** 10, peripherals=health)
    start = time.perf_counter() + 0.2
    rounds = sorted((start + rng.uniform(0, INTERVAL_S), i) for i in range(len(clients)))
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    next_round = iter(rounds)

    def worker() -> None:
        while True:
            with lock:
                item = next(next_round, None)
            if item is None:
                return
            due, index = item
            client = clients[index]
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            steps = (lambda: client.push(_events(10 ** 7 + index * 10, 2)),
                     lambda: client.pull(cursor, 500),
                     lambda: client.heartbeat(beat))
            for step in steps:
                try:
                    step()
                except Exception:  # noqa: BLE001 - counted and reported, a bench keeps going
                    with lock:
                        errors[0] += 1
                finished = time.perf_counter()
                with lock:
                    latencies.append((finished - due) * 1000)
                due = finished  # the next request of the round starts now

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
                latencies, errors = _fleet(server_url, fleet, max(0, head - 5))
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
        Figure(f"API p99, {FLEET} appliances each pushing, pulling and heartbeating every {INTERVAL_S:.0f} s",
               p99, "ms", "<= 150", p99 <= 150 and errors == 0,
               note=f"p50 {percentile(latencies, 50):.1f} ms, {len(latencies)} requests in {INTERVAL_S:.0f} s, "
                    f"{errors} errors"),
    ]
