"""The appliance's clock jumping during the journey (issue #9's fault drills), every
part a real process: the kiosk and the locker daemon run under libfaketime
(``LD_PRELOAD``; their wall clock read from a file at every call, their monotonic
clock left alone), and the file moves their clock mid-run, as a wrong RTC, a bad
NTP answer or an admin's ``date -s`` would: five hours ahead, a day behind (before
the last event), eight days ahead (past the pickup code's seven days), and back.

What must hold (README, *Operations → The appliance's clock*):

- nothing is lost or applied twice at the server, and each outbox's events reach it
  in the outbox's order, whatever their times say (the server orders by arrival;
  a signed request off the server's clock is refused once, with the server's time,
  and the agent signs with that offset from then on);
- the server keeps each event's time as the appliance said it (five hours ahead, a
  day behind);
- codes are checked by the appliance's clock: a worker's QR (valid 30 minutes from
  the server's now) is refused as ``expired`` five hours ahead and ``not_yet_valid`` a
  day behind; the pickup code she types is refused as ``pickup_expired`` past its seven
  days, the locker's sweep sends the case back to the worker's list (``expired``, also
  at the server), and it stays refused, still as expired, when the clock goes back.
"""
from __future__ import annotations

import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.flows.doors import DoorRefused
from tests.e2e.system import DEVICE, Journey, System, wait_until
from tests.support import require, require_program


def faketime_library() -> str:
    """libfaketime's multi-threaded build, as the Debian package installs it."""
    require_program("dpkg (to find libfaketime)", "dpkg")
    listed = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True)
    found = [line for line in listed.stdout.splitlines() if line.endswith("/libfaketimeMT.so.1")]
    require("libfaketime", listed.returncode == 0 and bool(found) and Path(found[0]).exists(),
            "apt-get install libfaketime faketime (scripts/debian-packages)")
    return found[0]


def monotonic_sleep(folder: Path) -> str:
    """tests/e2e/monotonic_sleep.c built: Python 3.11's time.sleep() under libfaketime
    0.9.10 with the monotonic clock left alone fails with EINVAL without it."""
    gcc = require_program("gcc (build-essential)", "gcc")
    library = folder / "monotonic_sleep.so"
    subprocess.run([gcc, "-shared", "-fPIC", "-O2", "-Wall", "-o", str(library),
                    str(Path(__file__).with_name("monotonic_sleep.c")), "-ldl"], check=True, capture_output=True)
    return str(library)


class ApplianceClock:
    """The kiosk's and the locker daemon's wall clock: ``+0`` (true) until :meth:`jump`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / "faketime"
        self.offset = timedelta(0)
        self.jump("+0", timedelta(0))

    def env(self) -> dict[str, str]:
        return {"LD_PRELOAD": f"{monotonic_sleep(self.folder)} {faketime_library()}",
                "FAKETIME_TIMESTAMP_FILE": str(self.file),
                "FAKETIME_NO_CACHE": "1",  # read the file at every call: the jump is seen at once
                "FAKETIME_DONT_FAKE_MONOTONIC": "1"}  # timeouts and watchdogs run on, as on a real box

    def jump(self, spec: str, offset: timedelta) -> None:
        temp = self.file.with_suffix(".tmp")
        temp.write_text(spec + "\n")
        temp.replace(self.file)  # never half a spec
        self.offset = offset


@pytest.fixture
def clocked(tmp_path_factory):
    root = tmp_path_factory.mktemp("clock", numbered=True)
    clock = ApplianceClock(root)
    system = System(root, appliance_env=clock.env()).start()
    yield system, clock
    system.stop()


def appliance_now(system: System) -> datetime:
    return datetime.fromtimestamp(system.kiosk_call("ping")["now"], timezone.utc)


def worker_refusal(journey: Journey, door: int) -> str:
    """Her QR (fresh from the console) at the locker: the reason it is refused."""
    with pytest.raises(DoorRefused) as refused:
        journey.system.doors().request("collect", code=journey._console().worker_code(DEVICE), door=door)
    return refused.value.reason


def server_times(system: System, case_id: str) -> dict[str, datetime]:
    rows = system.query("SELECT event_type, created_at FROM events WHERE aggregate_id = ? AND status = 'applied'",
                        (case_id,))
    return {kind: datetime.fromisoformat(at).astimezone(timezone.utc) for kind, at in rows}


def close_to(moment: datetime, offset: timedelta, slack: timedelta = timedelta(minutes=10)) -> bool:
    return abs(moment - (datetime.now(timezone.utc) + offset)) < slack


@pytest.mark.timeout(600)
def test_the_appliances_clock_jumping_loses_nothing_and_codes_expire_by_the_rules(clocked):
    system, clock = clocked
    assert close_to(appliance_now(system), timedelta(0), timedelta(minutes=1))

    first = Journey(system)  # the whole case, on a clock that jumps about
    first.drop_off()

    clock.jump("+5h", timedelta(hours=5))  # hours ahead
    assert close_to(appliance_now(system), timedelta(hours=5), timedelta(minutes=1))  # libfaketime took
    ahead = Journey(system)
    ahead.drop_off()  # the kiosk and the locker work on: their events carry the time five hours ahead
    assert worker_refusal(first, first.door) == "expired"  # 30 minutes from the server's now: long gone here

    clock.jump("-1d", timedelta(days=-1))  # back, to before the last event
    behind = Journey(system)
    behind.drop_off()
    assert worker_refusal(first, first.door) == "not_yet_valid"  # issued a day ahead of this clock

    clock.jump("+0", timedelta(0))
    for journey in (ahead, behind):
        wait_until(lambda: system.case_state(journey.case_id) == "materials_deposited", 60,
                   f"{journey.case_id} deposited at the server")
    assert close_to(server_times(system, ahead.case_id)["created"], timedelta(hours=5))  # as the appliance said
    assert close_to(server_times(system, behind.case_id)["materials_deposited"], timedelta(days=-1))

    first._through_locker("collect", "collect_at_locker", door=first.door)  # the clock right: her QR works
    first.review_in_console()
    first.return_result()
    first.notified()
    deadline = next(c for c in system.doors().state()["cases"] if c["id"] == first.case_id)["deadline"]
    assert abs(deadline - (time.time() + 7 * 86400)) < 600  # [locker] pickup_days from the locker's (true) clock

    clock.jump("+8d", timedelta(days=8))  # days past the pickup code's expiry
    refused = first.open_pickup()
    assert (refused["step"], refused["refusal"]) == ("refused", "pickup_expired"), refused
    # the locker's sweep (every minute) sends the case back to the worker's list
    wait_until(lambda: first._locker_state() == "expired", 120, f"{first.case_id} expired at the locker")
    clock.jump("+0", timedelta(0))
    again = first.open_pickup()
    # not valid again: the swept code is no longer live, and she is told it expired (not that she typed
    # it wrong: tests/locker/test_flows.py); no door opens
    assert (again["step"], again["refusal"]) == ("refused", "pickup_expired"), again
    assert not system.open_doors() and first._locker_state() == "expired"

    wait_until(lambda: system.case_state(first.case_id) == "expired", 60, f"{first.case_id} expired at the server")
    wait_until(lambda: not system.delivery() and all(
        not p for p in (system.kiosk_query("SELECT 1 FROM outbox WHERE sent_at IS NULL"),)), 60,
        "the appliance's outboxes to drain")
    assert system.delivery() == []  # every event at the server once, in its outbox's order
    for journey in (first, ahead, behind):
        timeline = system.timeline(journey.case_id)
        assert [s for _, s in timeline if s == "quarantined"] == [], timeline
        applied = [t for t, s in timeline if s == "applied"]
        assert len(applied) == len(set(applied)), timeline  # nothing applied twice
    applied = [t for t, s in system.timeline(first.case_id) if s == "applied"]
    if applied[:2] == ["materials_deposited", "created"]:  # the locker's queue overtook the kiosk's (test_journey)
        applied[:2] = ["created", "materials_deposited"]
    assert applied == ["created", "materials_deposited", "collected", "in_review", "approved", "result_deposited",
                       "pickup_code_issued", "pickup_expired"], system.timeline(first.case_id)
    expired_at = server_times(system, first.case_id)["pickup_expired"]
    assert close_to(expired_at, timedelta(days=8)), expired_at  # when the locker's clock said: eight days ahead
