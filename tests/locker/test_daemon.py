"""The daemon's start-up (reconcile before serving), an unlock in flight on a board
that does not answer (at start-up, or after the command), its scanner (and its
back-off, as the screen sees it), its receipts, and that it alone owns its store
and buses."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from drivers.scanner import open_scanner
from locker import codes
from locker.daemon import Daemon, store_path
from sync.errors import StoreInUse
from tests.locker.conftest import LOCKER, Client, booking_code, door, is_open, unlocks, wait_for
from tests.locker.test_safety import event
from tests.support import ROOT, SimProcess


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


def test_an_unlock_in_flight_on_a_board_offline_at_start_up_is_reconciled_when_it_answers(spawn, sim, tmp_path,
                                                                                            monkeypatch):
    monkeypatch.setenv("LOCKER_CRASH_ARMED", str(tmp_path / "armed"))
    api = spawn(crash_at="unlocked")
    (tmp_path / "armed").touch()
    with pytest.raises((ConnectionError, OSError)):
        api("dropoff", case="SF-R2", size="M")
    api.proc.proc.wait(20)  # killed right after the unlock frame left
    assert is_open(sim, 3)  # the frame reached the board
    door(sim, 3, "close")  # the resident put her paper in and left while the daemon was down
    sim.request(cmd="fault", spec="offline:0")  # and at the restart door 3's board does not answer
    api.proc.stop()
    api = spawn()
    ((state, unwatched),) = api.sql("SELECT state, unwatched FROM openings")
    assert (state, unwatched) == ("commanded", "start-up")  # kept to reconcile, in the store
    names = [e for (e,) in api.sql("SELECT event FROM audit ORDER BY seq")]
    restarted = len(names) - 1 - names[::-1].index("daemon_started")
    assert names.index("opening_unwatched") < restarted  # found at the reconcile, before serving anyone
    assert api.door(3)["seen"] == "offline" and api.door(3)["use"] == "reserved"
    assert api.events("jammed") == [] and api.events("not_opened") == []
    sim.request(cmd="clear", name="offline")
    # judged as at a restart (nobody saw whether it opened), not as a jam on a live unlock
    verdict = event(api, "not_opened", door=3)
    assert verdict["note"] == "found closed after a restart, never seen open"
    wait_for(lambda: api.door(3)["use"] == "check", what="door 3 to wait for a worker to look")
    assert api.door(3)["reason"] == "unlock outcome unknown across a restart"
    assert api.events("jammed") == [] and api.case("SF-R2")["state"] == "created"
    time.sleep(0.5)  # a follow-up unlock would go out right after the verdict
    assert unlocks(sim) == 1  # no other door was opened for a resident long gone
    assert api.sql("SELECT count(*) FROM openings") == [(1,)]


def test_an_unlock_whose_board_drops_off_before_the_door_is_seen_open_is_judged_as_unwatched(make_config, sim,
                                                                                               tmp_path):
    config = make_config(jam=3, data=tmp_path / "unwatched")
    d = Daemon(config)
    try:
        api = Client(d.start(), store_path(config))
        sim.request(cmd="fault", spec="late:0/3@4")  # a slow latch: the reply shows the door still shut
        answer = api("dropoff", case="SF-R3", size="M")
        opening = answer["opening"]
        assert answer["door"] == 3 and opening["reply"] == "closed" and opening["state"] == "commanded", answer
        sim.request(cmd="fault", spec="offline:0")  # the board drops off the bus before the door is seen open
        assert event(api, "opening_unwatched", door=3)["why"] == "offline"
        wait_for(lambda: is_open(sim, 3), 20, "the latch to pop open")
        door(sim, 3, "close")  # the resident put her paper in and left, unseen
        assert api.opening(opening["id"])["state"] == "commanded"
        sim.request(cmd="clear", name="offline")
        verdict = event(api, "not_opened", door=3)
        assert verdict["note"] == "found closed after its board was offline, never seen open"
        assert verdict["unwatched"] == "offline"
        wait_for(lambda: api.door(3)["use"] == "check", what="door 3 to wait for a worker to look")
        assert api.door(3)["reason"] == "unlock outcome unknown: its board was offline"
        assert api.events("jammed") == [] and api.case("SF-R3")["state"] == "created"
        time.sleep(0.5)
        assert unlocks(sim) == 1  # not jammed: no other door opened, door 3 not out of service
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


def forged(text: str) -> str:
    prefix, kind, payload, sig = text.split(".")
    body = codes._unb64(payload).replace(b'"SF-B2"', b'"SF-XX"')
    return ".".join([prefix, kind, codes._b64(body), sig])


def test_five_bad_codes_at_the_scanner_back_it_off_and_the_screen_is_told(config, sim, scanner_sim, server_key):
    d = Daemon(config, scanner=open_scanner(scanner_sim.path))
    try:
        api = Client(d.start(), store_path(config))
        start = api("state")["seq"]
        bad = [("garbage that is no code", "unreadable"),
               (forged(booking_code(server_key, "SF-B2")), "forged"),
               (booking_code(server_key, "SF-B3", locker="another-locker"), "other_locker"),
               (booking_code(server_key, "SF-B4", days=1, now=time.time() - 3 * 86400), "expired"),
               ("12345678", "wrong_short_code")]
        for i, (code, reason) in enumerate(bad, 1):
            scanner_sim.request(cmd="scan", code=code)
            wait_for(lambda: len(api.events("code_refused")) == i, what=f"refusal {i} ({reason})")
            assert api.events("code_refused")[-1]["reason"] == reason
            shown = api("state")["scanner"]["refusal"]
            assert shown["reason"] == reason and shown["source"] == "scanner", shown
        assert api("state")["scanner"]["backing_off"] > 0  # the fifth wrong try in a minute
        # the sixth, a good code, is refused as backing off: no door opens
        scanner_sim.request(cmd="scan", code=booking_code(server_key, "SF-B6", "M", locker=LOCKER))
        wait_for(lambda: len(api.events("code_refused")) == 6, what="the sixth refusal")
        sixth = api.events("code_refused")[-1]
        assert sixth["reason"] == "backing_off" and 0 < sixth["backing_off"] <= 60
        assert sixth["message"] == "尝试次数过多，请稍后再试 · Too many wrong tries; please wait"
        assert unlocks(sim) == 0 and api.case("SF-B6") is None
        scanner = api("state")["scanner"]
        assert scanner["refusal"]["reason"] == "backing_off"
        assert (scanner["refusal"]["zh"], scanner["refusal"]["en"]) == ("尝试次数过多，请稍后再试",
                                                                        "Too many wrong tries; please wait")
        assert 0 < scanner["backing_off"] <= 60
        # the events stream carries the refusals and the same screen state
        stream = api("events", after=start, timeout=0)
        assert [e["detail"]["reason"] for e in stream["events"] if e["event"] == "code_refused"] == \
            [r for _, r in bad] + ["backing_off"]
        assert stream["scanner"]["refusal"]["reason"] == "backing_off" and stream["scanner"]["backing_off"] > 0
        # the kiosk's keypad is another source: it is not backing off
        assert api("pickup", code="87654321")["error"] == "wrong_short_code"
        # and the status screen shows it
        screen = subprocess.run([sys.executable, "-m", "locker", "--config", config.source, "screen", "--once",
                                 "--width", "80"], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert screen.returncode == 0, screen.stderr
        assert "x 尝试次数过多，请稍后再试 · Too many wrong tries; please wait" in screen.stdout
        assert "秒后再扫码 · Scanning again in" in screen.stdout, screen.stdout
    finally:
        d.stop()
