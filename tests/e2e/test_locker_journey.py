"""A case's paper through the locker with every part its own process: the lock-board
simulator and the scanner simulator on ptys, the locker daemon, and this test as the
resident, the grid worker and the kiosk (over the daemon's socket)."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import load
from appliance.keys import DeviceKey, TrustedKeys
from locker import audit, codes
from locker.daemon import socket_path, store_path
from tests.locker.conftest import CONFIG, DOORS, LOCKER, Client, DaemonProcess, door, is_open, wait_for
from tests.locker.conftest import make_config, running_sim, server_key, sim  # noqa: F401 (fixtures)
from tests.support import SimProcess


@pytest.fixture
def processes(tmp_path):
    with SimProcess("drivers.lockboard.sim", "--protocol", "kerong", "--boards", "2", "--doors", str(DOORS)) as bus, \
            SimProcess("drivers.scanner.sim") as scanner:
        server = DeviceKey.generate("server")
        data = tmp_path / "data"
        data.mkdir()
        TrustedKeys().with_key("server", server.public_key).save(data / "trusted-keys.json")
        text = CONFIG.format(locker=LOCKER, data=data, port=bus.path, doors=DOORS, oos="8", prompt=60, alarm=120,
                             sync="false").replace('[scanner]\nenabled = false', f'[scanner]\nenabled = true\nurl = "{scanner.path}"')
        path = tmp_path / "appliance.toml"
        path.write_text(text, encoding="utf-8")
        config = load(path)
        with DaemonProcess(str(path)) as daemon:
            assert daemon.header[0] == str(socket_path(config))
            yield bus, scanner, server, Client(socket_path(config), store_path(config))


def test_drop_off_collect_return_and_pick_up_with_the_scanner(processes):
    bus, scanner, server, kiosk = processes

    def through(code: str, case: str, state: str) -> int:
        scanner.request(cmd="scan", code=code)
        number = wait_for(lambda: next((n for n in range(1, 2 * DOORS + 1) if is_open(bus, n)), None),
                          what="a door to open")
        door(bus, number, "close")
        wait_for(lambda: (kiosk.case(case) or {}).get("state") == state, what=f"{case} {state}")
        return number

    deposited = through(codes.booking_code(server, "SF-E2E", "M", locker=LOCKER), "SF-E2E", "materials_deposited")
    assert through(codes.worker_code(server, "w-li", [LOCKER], minutes=10), "SF-E2E", "collected") == deposited

    answer = kiosk("return", code=codes.worker_code(server, "w-li", [LOCKER], minutes=10), case="SF-E2E", size="M")
    kiosk.wait_opening(answer["opening"]["id"], "opened")
    door(bus, answer["door"], "close")
    kiosk.wait_opening(answer["opening"]["id"], "closed")
    issued = kiosk.outbox("pickup_code_issued")[0]

    assert through(issued["code"], "SF-E2E", "picked_up") == answer["door"]
    scanner.request(cmd="scan", code=issued["code"])  # again: refused, nothing opens
    wait_for(lambda: any(e["reason"] == "replayed" for e in kiosk.events("code_refused")), what="the refusal")
    assert bus.request(cmd="state")["received"]["unlock"] == 4
    assert audit.verify(kiosk.store) > 10


def test_every_event_the_locker_pushes_reaches_a_real_server_and_none_is_quarantined(make_config, sim, tmp_path):
    """The locker daemon with its sync agent (a thread) pushing to ``python -m sync.server``
    on PostgreSQL, through jams, a forced door, a door left open, a board offline, the
    maintainer's ops, an expired pickup taken back and returned again, and the pickup."""
    import requests
    from sqlalchemy import select

    from locker.daemon import Daemon
    from sync.server import db, keys
    from sync.server.models import Case, EventRow
    from sync.store import pending
    from tests.sync.server.support import ServerProcess, Signed, event, new_code, new_key, postgresql_database

    with postgresql_database() as url, ServerProcess(url) as server:
        engine = db.create(url)
        try:
            with engine.begin() as conn:
                server_key = keys.load(conn)
            kiosk = Signed(requests, new_key("kiosk-e2e"), base_url=server.url)  # the kiosk's own pushes
            assert kiosk.enrol(new_code(url, kiosk.key.device_id)).status_code == 201
            seq = iter(range(1, 100))

            def kiosk_says(case: str, state: str) -> None:
                answer = kiosk("POST", "/events", {"events": [event(case, state, next(seq))]})
                assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "applied", answer.text

            config = make_config(prompt=1, alarm=2, data=tmp_path / "synced", sync=True)
            (config.data_dir / "enrolment-code").write_text(new_code(url, LOCKER))
            TrustedKeys().with_key("server", server_key.public_key).save(config.data_dir / "trusted-keys.json")
            source = Path(config.source)
            source.write_text(source.read_text(encoding="utf-8").replace(
                "[sync]\nenabled = true", f'[sync]\nenabled = true\nserver_url = "{server.url}"\ninterval_s = 1'),
                encoding="utf-8")
            config = load(source)
            daemon = Daemon(config)
            api = Client(daemon.start(), store_path(config))
            try:
                def worker() -> str:
                    return codes.worker_code(server_key, "w-li", [LOCKER], minutes=10)

                def through(answer: dict, state: str) -> int:
                    assert answer["ok"], answer
                    api.wait_opening(answer["opening"]["id"], "opened")
                    door(sim, answer["door"], "close")
                    api.wait_opening(answer["opening"]["id"], "closed")
                    return answer["door"]

                kiosk_says("E2E-1", "created")
                sim.request(cmd="fault", spec="jammed:0/3")  # the first M door jams: the case gets door 4
                api("dropoff", case="E2E-1", size="M")
                number = wait_for(lambda: is_open(sim, 4) and 4, what="the other door")
                door(sim, number, "close")
                wait_for(lambda: (api.case("E2E-1") or {}).get("state") == "materials_deposited", what="deposit")
                sim.request(cmd="clear", name="jammed")
                door(sim, 6, "open")  # forced, left open: alarm, then the worker's event
                wait_for(lambda: len(api.outbox("door_left_open")) == 1, what="door left open")
                door(sim, 6, "close")
                sim.request(cmd="fault", spec="offline:1")
                wait_for(lambda: api.outbox("board_offline"), what="board offline")
                sim.request(cmd="clear", name="offline")
                wait_for(lambda: api.outbox("board_online"), what="board online")

                through(api("collect", code=worker()), "collected")
                wait_for(lambda: not pending(daemon.store), 30, "the collection to reach the server")
                kiosk_says("E2E-1", "in_review")  # the worker's review, recorded at the server
                kiosk_says("E2E-1", "approved")
                back = through(api("return", code=worker(), case="E2E-1", size="M"), "result_deposited")
                real = daemon.locker.clock
                daemon.locker.clock = lambda: real() + 8 * 86400
                try:
                    assert api("sweep")["expired"] == 1  # not picked up in time: back to the worker
                finally:
                    daemon.locker.clock = real
                through(api("collect", code=worker()), "retrieved")
                again = through(api("return", code=worker(), case="E2E-1", size="M"), "result_deposited")
                short = api.outbox("pickup_code_issued")[-1]["short"]

                sim.request(cmd="fault", spec=f"jammed:0/{again}")
                api("pickup", code=short)
                wait_for(lambda: api.door(again)["use"] == "out_of_service", what="the jammed pickup door")
                sim.request(cmd="clear", name="jammed")
                assert api("move", case="E2E-1", door=9, by="w-li")["ok"]
                assert api("door", door=again, use="in_service", reason="fixed")["ok"]
                assert api("door", door=10, use="out_of_service", reason="hinge")["ok"]
                through(api("open", door=11, by="tech"), "a maintainer's look")
                through(api("pickup", code=short), "picked_up")
                assert back and api.case("E2E-1")["state"] == "picked_up"

                wait_for(lambda: not pending(daemon.store), 60, "the locker's outbox to drain")
            finally:
                daemon.stop()
            with engine.connect() as conn:
                rows = conn.execute(select(EventRow.event_type, EventRow.status, EventRow.reason)
                                    .where(EventRow.device_id == LOCKER).order_by(EventRow.server_seq)).all()
                state = conn.execute(select(Case.state).where(Case.id == "E2E-1")).scalar_one()
        finally:
            engine.dispose()
    types = {r.event_type for r in rows}
    assert [r for r in rows if r.status != "applied"] == []
    for expected in ("jammed", "out_of_service", "materials_deposited", "forced", "door_left_open", "board_offline",
                     "board_online", "collected", "result_deposited", "pickup_code_issued", "pickup_expired",
                     "retrieved", "case_moved", "door_emptied", "door_in_service", "door_out_of_service",
                     "picked_up", "unlock_commanded", "door_opened", "door_closed", "maintenance_open"):
        assert expected in types, expected
    assert [r.reason for r in rows if r.event_type == "created"] == ["already created"]  # the kiosk made it
    assert state == "picked_up"
