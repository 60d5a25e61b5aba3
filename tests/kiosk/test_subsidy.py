"""Elderly subsidy end to end: Li Xiulan's card on the simulator, the face check,
her subsidy record synced; she certifies in one tap (the face check is the proof),
the event is in the outbox and reaches the real server (its own process) through
the app's own sync agent, with no button pressed; the result prints through the
private cupsd."""
from __future__ import annotations

import pytest

import json

from tests.kiosk.conftest import (HOUSEHOLDS, on_server, server_events, sync_records, wait_screen, with_kiosk,
                                  write_config)
from tests.kiosk.screens.stalls import LIMIT_MS, Stalls, warm_up
from tests.support import require

LI = 1
SUBSIDY = ("subsidy", "示范社区/s-li-xiulan", {"id": "s-li-xiulan", "id_number": "11010519491231002X",
                                      "name": "李秀兰", "program": "高龄补贴", "amount": 300.0, "status": "active",
                                      "certified_until": "2020-06-30",
                                      "payments": [{"month": "2026-10", "amount": "300.00", "status": "pending"},
                                                   {"month": "2026-09", "amount": "300.00", "status": "paid"}]})


@pytest.mark.ui_stall
def test_yearly_certification_with_the_face_check_is_recorded_synced_and_printed(
        make_app, tmp_path, idreader, cupsd, live_server, qtbot, tap):
    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    config = on_server(with_kiosk(write_config(tmp_path, idcard_url=idreader.path,
                                               printer_url=cupsd.url(cupsd.pdf_queue))), live_server)
    sync_records(config, *HOUSEHOLDS, SUBSIDY)
    app = make_app(config, watch_cards=True, sync=True)  # as python -m kiosk: its own sync agent runs
    qtbot.waitUntil(lambda: app.devices.agent is not None, timeout=30000)
    warm_up(app, qtbot, "subsidy")
    idreader.request(cmd="insert", card=LI)
    tap(app, "welcome-subsidy", timeout=20)
    wait_screen(qtbot, app, "subsidy")
    screen = app.navigator.screens["subsidy"]
    qtbot.waitUntil(lambda: screen.check is not None)
    assert screen.check.status.eligible and not screen.check.status.certified
    meter = Stalls().start()  # recording the certification and waking the agent: never on the UI thread
    tap(app, "subsidy-certify")
    qtbot.waitUntil(lambda: screen.check.step.value == "certified", timeout=10000)
    assert screen.check.status.certified

    store = app.devices.store
    with store.reader() as db:
        rows = db.execute("SELECT aggregate_type, aggregate_id, event_type, payload FROM outbox").fetchall()
    events = [r for r in rows if r[0] == "subsidy"]
    assert [(r[1], r[2]) for r in events] == [("示范社区/s-li-xiulan", "certified")]
    payload = json.loads(events[0][3])
    assert payload["method"] == "kiosk_face" and payload["decision"]["liveness"] == "checked"
    assert "11010519491231002X" not in events[0][3]  # masked in the event

    # the app's own agent pushes it to the central server: no button, no round called here
    # (the interval is 30 s: the certification wakes it)
    qtbot.waitUntil(lambda: ("subsidy", "certified", "applied") in server_events(live_server), timeout=20000)

    tap(app, "subsidy-print")
    qtbot.waitUntil(lambda: screen.check.step.value in ("printed", "print_failed"), timeout=20000)
    meter.stop()
    assert meter.own_worst_ms < LIMIT_MS, meter.report()
    assert screen.check.step.value == "printed", screen.check.advice
    assert cupsd.pdf_output(screen.check.job).stat().st_size > 0


def test_not_on_the_list_says_who_can_apply(make_app, tmp_path, idreader, qtbot, tap):
    config = write_config(tmp_path, idcard_url=idreader.path)
    app = make_app(config, watch_cards=True)
    idreader.request(cmd="insert", card=0)
    tap(app, "welcome-subsidy", timeout=20)
    screen = app.navigator.screens["subsidy"]
    qtbot.waitUntil(lambda: screen.check is not None)
    assert screen.check.step.value == "not_listed"
    qtbot.waitUntil(lambda: "80" in " ".join(
        w.text() for w in screen.findChildren(type(app.header.clock))), timeout=10000)
