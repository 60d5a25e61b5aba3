"""Report a problem end to end on the real app (offscreen): category, place, a phrase and
typed words; the case is in the kiosk's store with its ``created`` event for the grid
worker, and My progress shows it."""
from __future__ import annotations

import pytest

from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton

from kiosk.screenshots import DEMO_RESIDENT
from kiosk.store import cases
from sync.store import pending
from tests.kiosk.conftest import wait_screen, write_config
from tests.kiosk.journeys import visible
from tests.kiosk.screens.stalls import LIMIT_MS, Stalls, warm_up
from tests.kiosk.screens.test_guide import type_in


@pytest.mark.ui_stall
def test_a_report_goes_to_the_grid_worker_and_shows_in_my_progress(tmp_path, make_app, tap, qtbot):
    app = make_app(write_config(tmp_path))
    warm_up(app, qtbot, "report", "progress")
    tap(app, "tile-report")
    wait_screen(qtbot, app, "identify")  # the resident first: the grid worker may need to call back
    app.session.identify(DEMO_RESIDENT)
    meter = Stalls().start()  # the categories' file and the case's store run off the UI thread
    app.go("report")
    tap(app, "report-category-manhole_cover", timeout=10)
    qtbot.waitUntil(lambda: visible(app, QPushButton, "report-next") is not None)
    assert not visible(app, QPushButton, "report-next").isEnabled()
    tap(app, "report-place-gate-north")
    qtbot.waitUntil(lambda: visible(app, QPushButton, "report-next") is not None
                    and visible(app, QPushButton, "report-next").isEnabled())
    type_in(visible(app, QLineEdit, "report-place-detail"), "门卫室东侧")
    tap(app, "kb-done")  # the keyboard came up with the box; 完成 puts it away, 下一步 was under it
    tap(app, "report-next")
    qtbot.waitUntil(lambda: visible(app, QPushButton, "report-submit") is not None)
    assert not visible(app, QPushButton, "report-submit").isEnabled()  # nothing said yet
    tap(app, "report-phrase-2")
    qtbot.waitUntil(lambda: visible(app, QLineEdit, "report-text") is not None
                    and visible(app, QPushButton, "report-submit").isEnabled())
    type_in(visible(app, QLineEdit, "report-text"), "晚上有老人路过")
    assert visible(app, QLabel, "report-preview").text() == "井盖下沉，容易绊倒；晚上有老人路过"
    tap(app, "kb-done")
    tap(app, "report-submit")
    qtbot.waitUntil(lambda: visible(app, QPushButton, "report-progress") is not None, timeout=10000)
    meter.stop()
    assert meter.own_worst_ms < LIMIT_MS, meter.report()

    store = app.devices.store
    [case] = cases.of_resident(store, cases.resident_key(DEMO_RESIDENT.id_number))
    assert case.kind == "report" and case.item == "井盖"
    [event] = [e for e in pending(store, 100) if e.aggregate_id == case.id]
    assert event.event_type == "created"
    assert event.payload["where"] == "北门 门卫室东侧"
    assert event.payload["description"] == "井盖下沉，容易绊倒；晚上有老人路过"

    tap(app, "report-progress")
    wait_screen(qtbot, app, "progress")
    qtbot.waitUntil(lambda: visible(app, QLabel, f"progress-state-{case.id}") is not None, timeout=10000)
    assert visible(app, QLabel, f"progress-next-{case.id}").text() == "已转交网格员，等待处理"


def test_every_category_disc_colour_is_one_of_the_theme_tints():
    """The discs are coloured by the theme's sheet through a ``tint`` number: a colour
    outside TINTS would have no rule (and TINTS.index would raise while building)."""
    from kiosk.screens.report import GLYPHS
    from kiosk.theme import TINTS, Palette

    assert {colour for _, colour in GLYPHS.values()} <= set(TINTS)
    assert Palette().accent in TINTS  # an unknown category's disc
