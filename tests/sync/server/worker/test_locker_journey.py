"""One case from the resident's drop-off to her rating, every part real: the locker
daemon on the lock-board simulator (a pty) with its sync agent pushing to
``python -m sync.server``, the grid worker's review in the console over HTTP (signed
in through the login form), the SMS with the locker's pickup code read from the log
adapter's file and typed at the locker, the rating link opened and used."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import requests
from sqlalchemy import select

from appliance.config import load
from appliance.keys import TrustedKeys
from locker import codes
from locker.daemon import Daemon, store_path
from sync.server import db, keys
from sync.server.accounts import create_account
from sync.server.content import put
from sync.server.models import Case, EventRow
from sync.server.worker.cases import set_locker_grid
from sync.server.worker.models import Rating
from sync.store import pending
from tests.locker.conftest import LOCKER, Client, door, is_open, wait_for
from tests.locker.conftest import make_config, running_sim, server_key, sim  # noqa: F401 (fixtures)
from tests.sync.server.support import COMMUNITY, ServerProcess, Signed, event, new_code, new_key
from tests.sync.server.worker.conftest import GRID, PHONE, RESIDENT_ID


def sms(path: Path, kind: str, timeout: float = 30.0) -> list[dict]:
    def found():
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [m for m in map(json.loads, lines) if m["kind"] == kind]
    return wait_for(found, timeout, f"an SMS {kind}")


def console(server_url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{server_url}/login", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{server_url}/login", data={"username": username, "password": password, "csrf": csrf,
                                                        "next": ""}, timeout=30)
    assert answer.url.endswith("/worker"), answer.text[:300]
    return session


def test_drop_off_review_pickup_and_rating(make_config, sim, tmp_path, monkeypatch):
    log = tmp_path / "sms.jsonl"
    monkeypatch.setenv("SYNC_NOTIFY_LOG_FILE", str(log))
    monkeypatch.setenv("SYNC_NOTIFY_INTERVAL_S", "0.2")
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with ServerProcess(url) as server:
        engine = db.create(url)
        try:
            with engine.begin() as conn:
                signer = keys.load(conn)
                create_account(conn, username="wang", password="worker-pass-1", name="王芳", role="worker",
                               community=COMMUNITY, grid=GRID)
                set_locker_grid(conn, LOCKER, COMMUNITY, GRID, "幸福里 1 号柜")
                put(conn, "household", f"{COMMUNITY}/XF-0012", {"grid": GRID, "members": [
                    {"name": "张晓明", "id_number": RESIDENT_ID, "phone": PHONE}]}, COMMUNITY)
            kiosk = Signed(requests, new_key("kiosk-journey"), base_url=server.url)
            assert kiosk.enrol(new_code(url, kiosk.key.device_id)).status_code == 201
            made = kiosk("POST", "/events", {"events": [event("J-1", "created", 1, payload={
                "household": f"{COMMUNITY}/XF-0012", "resident_id": RESIDENT_ID, "item": "居住证明",
                "department": "户籍科"})]})
            assert made.json()["results"][0]["status"] == "applied"

            config = make_config(data=tmp_path / "locker", sync=True)
            (config.data_dir / "enrolment-code").write_text(new_code(url, LOCKER))
            TrustedKeys().with_key("server", signer.public_key).save(config.data_dir / "trusted-keys.json")
            source = Path(config.source)
            source.write_text(source.read_text(encoding="utf-8").replace(
                "[sync]\nenabled = true", f'[sync]\nenabled = true\nserver_url = "{server.url}"\ninterval_s = 1'),
                encoding="utf-8")
            daemon = Daemon(load(source))
            api = Client(daemon.start(), store_path(load(source)))
            try:
                def through(answer: dict, state: str) -> int:
                    assert answer["ok"], answer
                    api.wait_opening(answer["opening"]["id"], "opened")
                    door(sim, answer["door"], "close")
                    api.wait_opening(answer["opening"]["id"], "closed")
                    wait_for(lambda: (api.case("J-1") or {}).get("state") == state, what=state)
                    wait_for(lambda: not pending(daemon.store), 30, f"{state} to reach the server")
                    return answer["door"]

                def worker_code() -> str:  # what her phone shows (the console signs with this key)
                    return codes.worker_code(signer, "wang", [LOCKER], minutes=10)

                deposited = through(api("dropoff", case="J-1", size="M"), "materials_deposited")
                wang = console(server.url, "wang", "worker-pass-1")
                assert "J-1" in wang.get(f"{server.url}/worker", timeout=30).text
                through(api("collect", code=worker_code()), "collected")
                for action in ("review", "approve"):
                    page = wang.get(f"{server.url}/worker/cases/J-1", timeout=30)
                    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
                    done = wang.post(f"{server.url}/worker/cases/J-1/act", data={"action": action, "csrf": csrf},
                                     timeout=30)
                    assert done.status_code == 200 and "案件已更新" in done.text
                back = through(api("return", code=worker_code(), case="J-1", size="M"), "result_deposited")

                (ready,) = sms(log, "pickup_ready")
                assert ready["phone"] == PHONE and "幸福里 1 号柜" in ready["text"] and f"{back} 号门" in ready["text"]
                typed = re.search(r"取件码 (\d{8})", ready["text"]).group(1)
                assert typed == api.outbox("pickup_code_issued")[-1]["short"]
                assert through(api("pickup", code=typed), "picked_up") == back
                assert not is_open(sim, deposited)
            finally:
                daemon.stop()

            (rate,) = sms(log, "rate_service")
            path = re.search(r"/rate/[A-Za-z0-9_-]+", rate["text"]).group(0)
            thanks = requests.post(server.url + path, data={"score": "5", "comment": "很方便"}, timeout=30)
            assert "感谢您的评价" in thanks.text
            deadline = time.monotonic() + 10
            with engine.connect() as conn:
                while True:
                    state = conn.execute(select(Case.state).where(Case.id == "J-1")).scalar_one()
                    if state == "evaluated" or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                rating = conn.execute(select(Rating.score, Rating.source).where(Rating.case_id == "J-1")).one()
                quarantined = conn.execute(select(EventRow.event_type, EventRow.reason).where(
                    EventRow.status == "quarantined")).all()
        finally:
            engine.dispose()
    assert state == "evaluated" and tuple(rating) == (5, "link")
    assert quarantined == []
