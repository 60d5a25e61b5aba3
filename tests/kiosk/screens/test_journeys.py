"""Every state of the guide, drop-off, pickup, progress and report screens (the ones
``--screenshot`` renders), in both languages and elderly mode: every visible button is
a touch target of at least 15 mm, and no text is a missing catalogue key."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel

from kiosk.screenshots import DEMO_RESIDENT
from kiosk.session import EndReason

JOURNEYS = ("guide", "dropoff", "pickup", "progress", "report")


@pytest.mark.parametrize("name", JOURNEYS)
def test_every_state_has_big_targets_and_no_missing_text(kiosk_app, qtbot, name):
    app = kiosk_app
    screen = app.navigator.screens[name]
    for lang, elderly in (("zh", False), ("en", False), ("zh", True)):
        app.end_session(EndReason.HOME)
        app.set_language(lang)
        app.set_elderly(elderly)  # each rebuilds every screen: once a variant, not once a state
        app.session.identify(DEMO_RESIDENT)
        for state in screen.states():
            app.session.scratch.clear()
            app.navigator.current = screen
            app.navigator.setCurrentWidget(screen)
            state.setup(screen)
            qtbot.wait(5)
            where = f"{name}/{state.name}/{lang}{'/elderly' if elderly else ''}"
            touch = app.theme.mm(15)
            small = [(b.objectName() or b.text(), b.width(), b.height()) for b in screen.findChildren(QAbstractButton)
                     if b.isVisible() and min(b.width(), b.height()) < touch]
            assert small == [], f"{where}: buttons under 15 mm ({touch} px): {small}"
            missing = [w.text() for w in screen.findChildren(QLabel) if w.isVisible() and w.text().startswith("[")
                       and w.text().endswith("]")]
            assert missing == [], f"{where}: texts missing from the catalogues: {missing}"
    app.end_session(EndReason.HOME)
