"""``python -m kiosk --screenshot DIR``: every registered screen state, in Chinese,
English and elderly mode, rendered offscreen to ``DIR/<screen>-<state>-<variant>.png``
for a person to look at. States come from each screen's ``states()`` and use
fictional data only (the demo residents of ``assets/demo/idcards.json``)."""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from kiosk.session import EndReason, Resident

log = logging.getLogger("kiosk.screenshots")

SIZE = (1920, 1080)  # a 21.5" kiosk screen
VARIANTS = (("zh", "zh", False), ("en", "en", False), ("zh-elderly", "zh", True))

# Card 2 of assets/demo/idcards.json: fictional.
DEMO_RESIDENT = Resident(name="李秀兰", id_number="11010519491231002X", sex="女", birth_date=date(1949, 12, 31),
                         address="北京市朝阳区示范街道和平里社区5号院2号楼102室", verified_by="face", face_score=0.72)


def settle(rounds: int = 5) -> None:
    """Let the screen lay out and paint. Without an event loop running, what screens
    threw away (``deleteLater``: the old bodies) is deleted only when asked: left, it
    piled up, and every switch of elderly mode restyled all of it again (a full run
    took 11 minutes, ten seconds a picture at the end)."""
    for _ in range(rounds):
        QApplication.processEvents()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def show_state(app, screen, state) -> None:
    """``screen`` on the app in ``state`` (one of its ``states()``), with the demo
    resident identified where the state needs one."""
    if state.resident:
        app.session.identify(DEMO_RESIDENT)
    app.navigator.current = screen
    app.navigator.setCurrentWidget(screen)
    state.setup(screen)


def render_all(app, folder: str | Path, *, only: str | None = None) -> list[Path]:
    """Render every state; returns the files written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    app.idle.stop()  # a slow machine must not pop the idle countdown into the pictures
    app.resize(*SIZE)
    app.show()
    written: list[Path] = []
    for name, screen in sorted(app.navigator.screens.items()):
        if only and name != only:
            continue
        for state in type(screen).states():
            for variant, lang, elderly in VARIANTS:
                app.end_session(EndReason.HOME)
                if app.i18n.lang != lang:
                    app.set_language(lang)
                if app.elderly != elderly:
                    app.set_elderly(elderly)
                app.navigator.go(name) if name != screen.name else None
                show_state(app, screen, state)
                app._retranslate_chrome()
                app.countdown.hide()
                settle()
                path = out / f"{name}-{state.name}-{variant}.png"
                app.grab().save(str(path))
                written.append(path)
                log.info("wrote %s", path)
    app.end_session(EndReason.HOME)
    return written
