"""My progress end to end: the resident's case went through the real locker daemon (on
the lock-board simulator, its own process) — deposited, collected, returned, picked up —
and the screen shows each state in words; rating it sends an ``evaluated`` event."""
from __future__ import annotations

import pytest

from PySide6.QtWidgets import QFrame, QLabel

from kiosk.screenshots import DEMO_RESIDENT
from kiosk.store import cases
from sync.store import pending
from tests.kiosk.conftest import wait_screen
from tests.kiosk.journeys import (bus, locker_process, door, kiosk_config_on, result_waiting, running_bus,  # noqa: F401
                                  server_key, texts, visible)
from tests.kiosk.screens.stalls import LIMIT_MS, Stalls, warm_up



@pytest.fixture
def locker(locker_process):
    """The locker daemon as its own process, as on the appliance."""
    return locker_process

def text_of(app, name: str) -> str:
    found = visible(app, QLabel, name)
    return found.text() if found is not None else ""


@pytest.mark.ui_stall
def test_the_case_moves_on_and_the_resident_rates_it(tmp_path, make_app, tap, qtbot, locker, bus, server_key):
    app = make_app(kiosk_config_on(tmp_path, locker))
    store = app.devices.store
    mine = cases.create(store, kind="dropoff", item_id="senior-card", item="老年人优待证办理",
                        resident=cases.Resident.of(DEMO_RESIDENT.id_number, DEMO_RESIDENT.name))
    theirs = cases.create(store, kind="report", item_id="noise", item="噪音扰民",
                          resident=cases.Resident.of("110101198503120033", "张晓明"))
    warm_up(app, qtbot, "progress")
    app.session.identify(DEMO_RESIDENT)
    # the store and the locker are read off the UI thread: measured while the screen loads and
    # the stars are sent (the test's own requests to the locker run on this thread, outside)
    meter, worst = Stalls().start(), []
    tap(app, "tile-progress")
    wait_screen(qtbot, app, "progress")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{mine.id}") == "已提交")
    assert text_of(app, f"progress-next-{mine.id}") == "请把材料投入云柜"
    assert visible(app, QLabel, f"progress-state-{theirs.id}") is None  # only the resident's own
    worst.append((meter.own_worst_ms, meter.report()))

    issued = result_waiting(locker, bus, server_key, mine.id)
    meter.reset()
    app.go("progress")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{mine.id}") == "结果待领取", timeout=10000)
    assert text_of(app, f"progress-next-{mine.id}") == "请凭短信中的取件码到云柜领取"
    worst.append((meter.own_worst_ms, meter.report()))

    answer = locker.client("pickup", code=issued["short"])
    locker.client.wait_opening(answer["opening"]["id"], "opened")
    door(bus, answer["door"], "close")
    locker.client.wait_opening(answer["opening"]["id"], "closed")
    meter.reset()
    app.go("progress")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{mine.id}") == "已领取", timeout=10000)
    tap(app, f"progress-rate-{mine.id}")
    tap(app, "progress-stars-4")
    tap(app, "progress-stars-5")
    tap(app, "progress-rate-send")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{mine.id}") == "已评价", timeout=10000)
    meter.stop()
    worst.append((meter.own_worst_ms, meter.report()))
    assert max(worst)[0] < LIMIT_MS, max(worst)[1]
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


@pytest.mark.ui_stall
def test_a_number_linked_at_the_kiosk_shows_her_cases_on_the_phone_pages(tmp_path, make_app, tap, qtbot, monkeypatch,
                                                                         request, phone_page, artifacts):
    """绑定手机号 in My progress, with the real server (its log Notifier writes the SMS
    codes to a file): the kiosk's agent pushes her case and the phone_confirmed event, the
    server links the number to her household record, and after an SMS sign-in with that
    number the phone pages (Chromium on a phone) list the case she made at the kiosk."""
    import requests

    from appliance.keys import DeviceKey, encode_public_key
    from datetime import date

    from kiosk.session import Resident
    from sync.server import db
    from sync.server.phone import links
    from tests.kiosk.conftest import write_config
    from tests.sync.server.phone.conftest import LI
    from tests.sync.server.phone.support import phone_sign_in, seed
    from tests.sync.server.support import COMMUNITY, new_code

    sms = tmp_path / "sms.jsonl"
    monkeypatch.setenv("SYNC_NOTIFY_LOG_FILE", str(sms))
    monkeypatch.setenv("SYNC_NOTIFY_INTERVAL_S", "0.1")
    server = request.getfixturevalue("live_server")
    seed(server.database_url, server.url, lockers=(), linked=False)  # Li's household record; no number linked
    config = write_config(tmp_path)
    config = config.model_copy(update={"sync": config.sync.model_copy(update={"server_url": server.url})})
    key = DeviceKey.load_or_create(config.data_dir, config.appliance.id)
    enrolled = requests.post(f"{server.url}/api/v1/enrol", json={
        "code": new_code(server.database_url, key.device_id, COMMUNITY), "device_id": key.device_id,
        "public_key": encode_public_key(key.public_key)}, timeout=10)
    assert enrolled.status_code == 201, enrolled.text
    app = make_app(config)
    li = Resident(name=LI["name"], id_number=LI["id_number"], sex="女", birth_date=date(1955, 7, 8),
                  address="幸福里12号楼3单元401室", verified_by="face")
    report = cases.create(app.devices.store, kind="report", item_id="street_lamp", item="路灯不亮",
                          resident=cases.Resident.of(li.id_number, li.name))
    warm_up(app, qtbot, "progress")
    app.session.identify(li)
    meter = Stalls().start()
    tap(app, "tile-progress")
    wait_screen(qtbot, app, "progress")
    qtbot.waitUntil(lambda: text_of(app, f"progress-state-{report.id}") == "已提交", timeout=10000)
    tap(app, "progress-phone")
    for digit in "12345678901":  # not a mobile number: said, and nothing recorded
        tap(app, f"progress-key-{digit}")
    tap(app, "progress-phone-confirm")
    qtbot.waitUntil(lambda: visible(app, QFrame, "progress-phone-problem") is not None, timeout=10000)
    assert [e for e in pending(app.devices.store, 100) if e.aggregate_type == "phone"] == []
    tap(app, "progress-key-clear")
    for digit in LI["phone"]:
        tap(app, f"progress-key-{digit}")
    tap(app, "progress-phone-confirm")
    qtbot.waitUntil(lambda: visible(app, QFrame, "progress-phone-done") is not None, timeout=10000)
    meter.stop()
    done = texts(visible(app, QFrame, "progress-phone-done"))
    assert any("139****9000" in t for t in done), done
    app.grab().save(str(artifacts / "kiosk-phone-linked.png"))
    [event] = [e for e in pending(app.devices.store, 100) if e.aggregate_type == "phone"]
    assert event.event_type == "phone_confirmed" and event.payload["resident"] == cases.resident_key(li.id_number)
    assert meter.own_worst_ms < LIMIT_MS, meter.report()

    app.devices.sync_now()  # what the kiosk's agent does on its next round (sync_soon woke it)
    assert [e for e in pending(app.devices.store, 100) if e.aggregate_type == "phone"] == []
    engine = db.create(server.database_url)
    try:
        with engine.connect() as conn:
            member = links.linked(conn, COMMUNITY, LI["phone"])
            assert member is not None and member.name == LI["name"] and member.source == "kiosk"
    finally:
        engine.dispose()

    page = phone_page
    phone_sign_in(page, server.url, sms, LI["phone"])
    page.goto(f"{server.url}/phone/cases")
    text = page.locator("main").inner_text()
    page.screenshot(path=str(artifacts / "phone-cases.png"), full_page=True)
    assert report.id in text and "路灯不亮" in text, text
    page.goto(f"{server.url}/phone/cases/{report.id}")
    assert page.locator("main").inner_text().count(report.id) >= 1
    page.screenshot(path=str(artifacts / "phone-case.png"), full_page=True)
