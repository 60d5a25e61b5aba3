"""The kiosk app's own sync agent against the real server (its own process): it
starts with the app, pushes the outbox with no button pressed (a report made in the
app), pulls new announcements onto the strip while the app runs, and stops with the
app. Admin mode's "sync now" runs a round and shows what it did."""
from __future__ import annotations

import threading

from kiosk.session import EndReason
from tests.kiosk.conftest import on_server, server_events, wait_screen, with_kiosk


def agent_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sync-agent"]


def publish(server, text: str, text_en: str = "") -> None:
    """An announcement as the admin console saves it (the server's change feed)."""
    from sync.server import db
    from sync.server.admin.catalogue import save_announcement

    engine = db.create(server.database_url)
    try:
        with engine.begin() as conn:
            save_announcement(conn, "示范社区", {"text": text, "text_en": text_en})
    finally:
        engine.dispose()


def test_the_agent_starts_with_the_app_pushes_a_report_and_stops_with_it(make_app, kiosk_config, live_server,
                                                                          qtbot):
    from kiosk.flows.report import ReportFlow, load_places
    from kiosk.screenshots import DEMO_RESIDENT
    from kiosk.store.cases import Resident

    before = len(agent_threads())
    app = make_app(on_server(kiosk_config, live_server), sync=True)
    qtbot.waitUntil(lambda: app.devices.agent is not None, timeout=30000)
    assert len(agent_threads()) == before + 1
    qtbot.waitUntil(lambda: app.devices.agent.enrolled, timeout=20000)  # its first round, at once

    # a resident's report, made as the report screen makes it, then the session ends
    app.session.identify(DEMO_RESIDENT)
    flow = ReportFlow(app.devices.store, Resident.of(DEMO_RESIDENT.id_number, DEMO_RESIDENT.name), load_places())
    flow.choose_category("street_lamp")
    flow.choose_place(flow.places[0].id, "")
    flow.pick_phrase(0)
    flow.submit()
    app.end_session(EndReason.HOME)  # the journey's end wakes the agent: no 30 s wait, no button
    qtbot.waitUntil(lambda: any(kind == "case" and status == "applied"
                                for kind, _event, status in server_events(live_server)), timeout=20000)

    app.shutdown()
    assert app.devices.agent is None
    qtbot.waitUntil(lambda: len(agent_threads()) == before, timeout=15000)


def test_new_announcements_reach_the_strip_while_the_app_runs(make_app, kiosk_config, live_server, qtbot, tap):
    app = make_app(on_server(kiosk_config, live_server, interval_s=1), sync=True)
    qtbot.waitUntil(lambda: app.devices.agent is not None and app.devices.agent.enrolled, timeout=30000)
    assert app.strip.items == []
    publish(live_server, "周六上午社区义诊", "Free clinic on Saturday morning")
    qtbot.waitUntil(lambda: app.strip.items == ["周六上午社区义诊"], timeout=20000)
    assert app.strip.isVisible()
    publish(live_server, "周日停电检修")
    qtbot.waitUntil(lambda: len(app.strip.items) == 2, timeout=20000)
    assert "周日停电检修" in app.strip.items
    tap(app, "header-language")
    qtbot.waitUntil(lambda: "Free clinic on Saturday morning" in app.strip.items, timeout=5000)


def test_admin_sync_now_runs_a_round_and_shows_it(make_app, kiosk_config, live_server, qtbot, tap):
    from tests.kiosk.test_admin import enter

    publish(live_server, "本周五下午停水")
    app = make_app(with_kiosk(on_server(kiosk_config, live_server), admin_pin="2468"))  # no agent thread
    assert app.devices.agent is None
    tap(app, "home-admin")
    wait_screen(qtbot, app, "admin")
    enter(tap, app, "2468")
    tap(app, "admin-sync")
    tap(app, "admin-sync-now")
    screen = app.navigator.screens["admin"]
    qtbot.waitUntil(lambda: screen.result is not None or bool(screen.message), timeout=30000)
    assert screen.result is not None, screen.message
    assert screen.result.heartbeat and screen.result.pulled >= 1
    # the round is the worker's; the screen says it once the UI thread has taken it
    qtbot.waitUntil(lambda: f"{screen.result.pulled}" in " ".join(
        w.text() for w in screen.findChildren(type(app.header.clock)) if w.isVisible()), timeout=10000)
    # the round pulled the announcement: the strip shows it without a restart
    qtbot.waitUntil(lambda: app.strip.items == ["本周五下午停水"], timeout=10000)


def test_the_kiosk_s_agent_and_the_locker_s_never_share_a_store(kiosk_config):
    """make run gives the kiosk app and the locker daemon one configuration: each runs
    its agent on its own store and its own agent file (one agent a store)."""
    from locker.daemon import store_path
    from sync.agent.agent import state_path_for

    kiosk, locker = kiosk_config.store_path, store_path(kiosk_config)
    assert kiosk.resolve() != locker.resolve()
    assert state_path_for(kiosk) != state_path_for(locker)
