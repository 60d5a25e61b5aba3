"""My progress end to end: the resident's case went through the real locker daemon (on
the lock-board simulator, its own process) — deposited, collected, returned, picked up —
and the screen shows each state in words; rating it sends an ``evaluated`` event."""
from __future__ import annotations

import pytest

from PySide6.QtWidgets import QLabel

from kiosk.screenshots import DEMO_RESIDENT
from kiosk.store import cases
from sync.store import pending
from tests.kiosk.conftest import wait_screen
from tests.kiosk.journeys import (bus, locker_process, door, kiosk_config_on, result_waiting, running_bus,  # noqa: F401
                                  server_key, visible)



@pytest.fixture
def locker(locker_process):
    """The locker daemon as its own process, as on the appliance."""
    return locker_process

def text_of(app, name: str) -> str:
    found = visible(app, QLabel, name)
    return found.text() if found is not None else ""


def test_the_case_moves_on_and_the_resident_rates_it(tmp_path, make_app, tap, qtbot, locker, bus, server_key):
    app = make_app(kiosk_config_on(tmp_path, locker))
    store = app.devices.store
    mine = cases.create(store, kind="dropoff", item_id="senior-card", item="老年人优待证办理",
                        resident=cases.Resident.of(DEMO_RESIDENT.id_number, DEMO_RESIDENT.name))
    theirs = cases.create(store, kind="report", item_id="noise", item="噪音扰民",
                          resident=cases.Resident.of("110101198503120033", "张晓明"))
    app.session.identify(DEMO_RESIDENT)
    tap(app, "tile-progress")
    wait_screen(qtbot, app, "progress")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{mine.id}") == "已提交")
    assert text_of(app, f"progress-next-{mine.id}") == "请把材料投入云柜"
    assert visible(app, QLabel, f"progress-state-{theirs.id}") is None  # only the resident's own

    issued = result_waiting(locker, bus, server_key, mine.id)
    app.go("progress")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{mine.id}") == "结果待领取", timeout=10000)
    assert text_of(app, f"progress-next-{mine.id}") == "请凭短信中的取件码到云柜领取"

    answer = locker.client("pickup", code=issued["short"])
    locker.client.wait_opening(answer["opening"]["id"], "opened")
    door(bus, answer["door"], "close")
    locker.client.wait_opening(answer["opening"]["id"], "closed")
    app.go("progress")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{mine.id}") == "已领取", timeout=10000)
    tap(app, f"progress-rate-{mine.id}")
    tap(app, "progress-stars-4")
    tap(app, "progress-stars-5")
    tap(app, "progress-rate-send")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{mine.id}") == "已评价", timeout=10000)
    evaluated = [e for e in pending(store, 100) if e.event_type == "evaluated"]
    assert [(e.aggregate_id, e.payload["rating"]) for e in evaluated] == [(mine.id, 5)]

    tap(app, "header-home")
    wait_screen(qtbot, app, "home")
    assert "progress" not in app.session.scratch  # the resident's cases are gone from memory


def test_after_the_idle_timeout_nothing_of_the_resident_is_left(tmp_path, make_app, tap, qtbot):
    from kiosk.session import EndReason
    from tests.kiosk.conftest import write_config

    app = make_app(write_config(tmp_path))
    store = app.devices.store
    mine = cases.create(store, kind="report", item_id="noise", item="噪音扰民",
                        resident=cases.Resident.of(DEMO_RESIDENT.id_number, DEMO_RESIDENT.name))
    app.session.identify(DEMO_RESIDENT)
    app.go("progress")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{mine.id}") == "已提交", timeout=10000)
    for name in ("report", "dropoff", "pickup", "guide"):
        app.go(name)
    qtbot.wait(200)  # the journeys' background loads finish
    app.end_session(EndReason.IDLE)
    qtbot.wait(50)
    leftovers = [w.text() for w in app.findChildren(QLabel)
                 if mine.id in w.text() or DEMO_RESIDENT.name in w.text() or "噪音扰民" in w.text()]
    assert leftovers == [] and app.session.scratch == {}
    assert app.navigator.current.name == "home"
