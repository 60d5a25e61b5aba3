"""Scale-out: two server processes on one PostgreSQL database; appliances sync
through both at once (a round-robin "proxy" adapter), a replay through the other
process is refused, and a revocation made through one is enforced by the other.
``python -m sync.server --workers 2`` serves from two worker processes (refused on
SQLite), and uvicorn's own log lines go through our handler, ID numbers masked."""
from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from appliance.processes import Child
from sync.agent import Agent
from sync.server import db
from sync.server.devices import revoke
from sync.server.models import EventRow
from sync.store import Store, pending
from sync.wire import API
from tests.support import ROOT, require
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


# -- python -m sync.server --workers N: one server, several processes ------------------
class WorkersProcess(ServerProcess):
    """``python -m sync.server --workers N`` (uvicorn's supervisor and N worker processes)."""

    def __init__(self, database_url: str, workers: int, *extra: str) -> None:
        Child.__init__(self, "sync.server", "--port", "0", "--database", database_url, "--log-level", "WARNING",
                       "--workers", str(workers), *extra, header_lines=1)

    def stop(self, timeout: float = 15.0) -> None:
        super().stop(timeout)  # SIGTERM: the supervisor stops its workers and waits for them

    def children(self) -> set[int]:
        assert self.proc is not None
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                found.add(int(stat.parent.name))
        return found


def served_by(url: str) -> str:
    """Which machine and process answered a fresh connection's health check."""
    with requests.Session() as http:  # a new connection each time: the kernel picks the worker
        answer = http.get(f"{url}{API}/health", timeout=10)
        answer.raise_for_status()
        return answer.headers["X-Served-By"]


def test_workers_2_serve_requests_from_two_processes_on_one_postgresql(tmp_path):
    with postgresql_database() as url, WorkersProcess(url, 2) as server:
        seen: set[str] = set()
        deadline = time.monotonic() + 60
        while len(seen) < 2 and time.monotonic() < deadline:
            seen |= {served_by(server.url) for _ in range(10)}
        assert len(seen) == 2, seen  # two processes took connections on the one socket
        pids = {int(name.rsplit(":", 1)[1]) for name in seen}
        assert server.proc.pid not in pids and pids <= server.children()  # the workers, not the supervisor
        # appliances sync through it: every event arrives once, in order
        agents, stores, sent = [], [], {}
        try:
            for n in range(2):
                folder = tmp_path / f"appliance-{n}"
                folder.mkdir()
                key = new_key(f"kiosk-w{n}")
                (folder / "code").write_text(new_code(url, key.device_id))
                store = Store(folder / "appliance.db")
                stores.append(store)
                sent[key.device_id] = append_events(store, 120, case_prefix=f"w{n}")
                agents.append(Agent(store, key, server.url, folder / "appliance.sync.db",
                                    enrolment_code_file=folder / "code", batch_size=10, interval_s=0.01,
                                    backoff_max_s=0.05).start())
            deadline = time.monotonic() + 90
            while any(pending(s) for s in stores) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not any(pending(s) for s in stores)
        finally:
            for agent in agents:
                agent.close()
            for store in stores:
                store.close()
        engine = db.create(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(EventRow.id, EventRow.device_id).order_by(EventRow.server_seq)).all()
        finally:
            engine.dispose()
        for device_id, ids in sent.items():
            assert [r.id for r in rows if r.device_id == device_id] == ids
        # a worker that dies is replaced by the supervisor; the server goes on answering
        victim = pids.pop()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while (victim in server.children() or len(server.children()) < 2) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert victim not in server.children() and len(server.children()) >= 2
        assert served_by(server.url)
    assert not server.running


def test_workers_on_sqlite_are_refused_in_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "sync.server", "--port", "0", "--workers", "2",
                          "--database", f"sqlite:///{tmp_path / 'server.db'}"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [run.stderr.strip()] and "PostgreSQL" in run.stderr
    assert "SQLite" in run.stderr and not (tmp_path / "server.db").exists()  # refused before anything


@pytest.mark.parametrize("workers", [1, 2])
def test_uvicorns_own_log_lines_go_through_our_handler_with_id_numbers_masked(tmp_path, workers):
    """uvicorn's access and error lines reach the root handler (journald under systemd),
    which masks ID numbers: a resident's ID in a URL never reaches the log in clear."""
    number = "110101198503120033"
    log = tmp_path / "server.log"
    with ExitStack() as stack:
        url = (stack.enter_context(postgresql_database()) if workers > 1
               else f"sqlite:///{tmp_path / 'server.db'}")
        with log.open("w") as errors:
            proc = subprocess.Popen([sys.executable, "-m", "sync.server", "--port", "0", "--database", url,
                                     "--workers", str(workers), "--access-log", "--log-level", "INFO"],
                                    stdout=subprocess.PIPE, stderr=errors, text=True, cwd=ROOT,
                                    start_new_session=True)
            try:
                base = proc.stdout.readline().split()[2]
                deadline = time.monotonic() + 60
                while True:
                    try:
                        requests.get(f"{base}{API}/health", timeout=5).raise_for_status()
                        break
                    except requests.RequestException:
                        assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
                        time.sleep(0.1)
                assert requests.get(f"{base}/verify", params={"c": number}, timeout=10).status_code == 200
            finally:
                proc.terminate()
                proc.wait(30)
                proc.stdout.close()
    text = log.read_text()
    assert number not in text
    access = [line for line in text.splitlines() if "uvicorn.access" in line and "/verify" in line]
    assert access and "c=1101**********0033" in access[0], text
    assert any("uvicorn.error" in line for line in text.splitlines())  # "Started server process", as ours


# -- the shipped nginx example in front of two server processes ------------------------
NGINX_EXAMPLE = ROOT / "systemd" / "nginx-kiosk-server.conf"


def nginx_conf_for_test(folder: Path, port: int, upstreams: list[str]) -> Path:
    """systemd/nginx-kiosk-server.conf as shipped, with only the addresses changed: the
    upstream's servers are ours, TLS is left out (a plain listen on loopback)."""
    text = NGINX_EXAMPLE.read_text(encoding="utf-8")
    example_servers = re.findall(r"^\s*server (10\.0\.0\.\d+:8000)", text, re.M)
    assert len(example_servers) == 2 == len(upstreams)
    for example, ours in zip(example_servers, upstreams):
        text = text.replace(f"server {example} ", f"server {ours} ")
    head, tls = text.split("server {\n    listen 80;", 1)[0], text[text.index("server {\n    listen 443"):]
    tls = re.sub(r"^[ \t]*(listen|ssl_certificate\w*)\b.*\n", "", tls, flags=re.M)
    text = head + tls.replace("server {\n", f"server {{\n    listen 127.0.0.1:{port};\n", 1)
    conf = folder / "nginx.conf"
    conf.write_text(f"user root;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
                    f"events {{}}\nhttp {{\n    access_log {folder}/access.log;\n{text}\n}}\n")
    return conf


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_servers_behind_the_shipped_nginx_example_sync_signed_requests(tmp_path):
    """Device signatures cover the exact path and body: they survive the example proxy,
    which spreads requests over both processes and passes WebSocket upgrades on."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    require("nginx", os.path.exists(nginx), "nginx not installed (scripts/debian-packages: nginx-light)")
    with postgresql_database() as url, ServerProcess(url) as a, ServerProcess(url) as b:
        port = free_port()
        conf = nginx_conf_for_test(tmp_path, port, [urlsplit(a.url).netloc, urlsplit(b.url).netloc])
        check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        proxy = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                                 stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{base}{API}/health", timeout=5).raise_for_status()
                    break
                except requests.RequestException:
                    assert time.monotonic() < deadline and proxy.poll() is None, proxy.stderr.read()
                    time.sleep(0.1)
            seen = {served_by(base) for _ in range(6)}
            assert len(seen) == 2  # least_conn over both upstreams
            folder = tmp_path / "appliance"
            folder.mkdir()
            key = new_key("kiosk-nginx")
            (folder / "code").write_text(new_code(url, key.device_id))
            with Store(folder / "appliance.db") as store:
                sent = append_events(store, 60, case_prefix="ngx")
                with Agent(store, key, base, folder / "appliance.sync.db", enrolment_code_file=folder / "code",
                           batch_size=7) as agent:
                    done = agent.run_once()
                assert done.pushed == 60 and not done.held_back and not pending(store)
            engine = db.create(url)
            try:
                with engine.connect() as conn:
                    arrived = conn.execute(select(EventRow.id).where(EventRow.device_id == key.device_id)
                                           .order_by(EventRow.server_seq)).scalars().all()
            finally:
                engine.dispose()
            assert arrived == sent  # once each, in order
            # an escaped path and a query reach the server as signed (no 401 on the way; httpx
            # sends %2D as written, where requests would unescape it before sending)
            with httpx.Client(base_url=base, timeout=10) as http:
                device = Signed(http, key)
                assert device("GET", "/changes?cursor=0&limit=5").status_code == 200
                assert device("GET", "/attachments/0b1e4c9a%2D0000-4000-8000-000000000000").status_code == 404
            # the WebSocket upgrade goes through: the socket itself refuses a missing token
            # (403); a proxy dropping the Upgrade header would make it a plain GET (404)
            upgrade = requests.get(f"{base}/video/ws/kiosk", timeout=10, headers={
                "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
            assert upgrade.status_code == 403, upgrade.status_code
        finally:
            proxy.terminate()
            proxy.wait(15)
            proxy.stderr.close()
