"""The daemon's start-up (reconcile before serving), its scanner, its receipts, and
that it alone owns its store and buses."""
from __future__ import annotations

import pytest

from drivers.scanner import open_scanner
from locker.daemon import Daemon, store_path
from sync.errors import StoreInUse
from tests.locker.conftest import Client, booking_code, door, is_open, wait_for
from tests.support import SimProcess


def test_start_up_reconciles_with_the_boards_before_serving(config, sim):
    door(sim, 5, "open")  # opened while nobody watched
    sim.request(cmd="fault", spec="offline:1")
    d = Daemon(config)
    try:
        path = d.start()
        api = Client(path, store_path(config))
        names = [e for (e,) in api.sql("SELECT event FROM audit ORDER BY seq")]
        started = names.index("daemon_started")
        assert "forced" in names[:started] and "board_offline" in names[:started]
        assert api.door(5)["seen"] == "open" and api.door(12)["seen"] == "offline"
        assert api("dropoff", case="SF-R1", size="M")["door"] == 3
    finally:
        d.stop()


def test_a_second_daemon_on_the_same_store_is_refused(daemon, config):
    with pytest.raises(StoreInUse):
        Daemon(config)


@pytest.fixture
def scanner_sim():
    with SimProcess("drivers.scanner.sim") as scanner:
        yield scanner


def test_a_code_scanned_at_the_locker_opens_a_door(config, sim, scanner_sim, server_key):
    d = Daemon(config, scanner=open_scanner(scanner_sim.path))
    try:
        api = Client(d.start(), store_path(config))
        scanner_sim.request(cmd="scan", code="garbage that is no code")
        wait_for(lambda: api.events("code_refused"), what="the refusal")
        assert api.sql("SELECT subject FROM audit WHERE event = 'code_refused'") == [("source:scanner",)]
        scanner_sim.request(cmd="scan", code=booking_code(server_key, "SF-SC1", "L"))
        wait_for(lambda: is_open(sim, 8), what="the L door to open")
        door(sim, 8, "close")
        wait_for(lambda: (api.case("SF-SC1") or {}).get("state") == "materials_deposited", what="deposit")
    finally:
        d.stop()


def test_a_receipt_prints_after_a_deposit_and_a_failed_print_is_recorded(config, sim):
    printed = []

    def printer(data: dict) -> None:
        printed.append(data)
        if len(printed) == 2:
            raise OSError("out of paper")

    d = Daemon(config, print_receipt=printer)
    try:
        api = Client(d.start(), store_path(config))
        for case in ("SF-P1", "SF-P2"):
            answer = api("dropoff", case=case, size="M", resident="张晓明", item="高龄补贴申领")
            api.wait_opening(answer["opening"]["id"], "opened")
            door(sim, answer["door"], "close")
            api.wait_opening(answer["opening"]["id"], "closed")
        wait_for(lambda: len(api.events("receipt_printed")) == 1 and len(api.events("receipt_failed")) == 1,
                 what="both receipts handled")
        assert printed[0]["case_number"] == "SF-P1" and printed[0]["door"] == 3 and printed[0]["name"] == "张晓明"
        assert api.events("receipt_failed")[0]["error"] == "OSError: out of paper"
        assert api.case("SF-P2")["state"] == "materials_deposited"
    finally:
        d.stop()


def test_with_sync_on_and_no_server_the_locker_works_and_the_outbox_waits(make_config, sim, tmp_path):
    config = make_config(sync=True, data=tmp_path / "synced")
    d = Daemon(config)
    try:
        assert d.agent is not None
        api = Client(d.start(), store_path(config))
        answer = api("dropoff", case="SF-Y1", size="M")
        api.wait_opening(answer["opening"]["id"], "opened")
        door(sim, answer["door"], "close")
        api.wait_opening(answer["opening"]["id"], "closed")
        assert api.sql("SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0] > 0
    finally:
        d.stop()
