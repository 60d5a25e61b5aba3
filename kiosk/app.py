"""The kiosk's main window: the header, the stack of screens, the announcements
strip, the overlays; the session, the background jobs, idle and the card watch.

::

    app = KioskApp(config)          # builds every registered screen, shows home
    app.go("residence")             # asks for the card and a face check first
    app.end_session(EndReason.HOME)

Screens reach everything through ``self.app``: ``app.session``, ``app.jobs``,
``app.devices``, ``app.i18n``, ``app.theme``, ``app.voice``, ``app.go``,
``app.show_error``.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QMainWindow, QVBoxLayout, QWidget

from kiosk import lightimports  # noqa: F401, I001  (first: the rest of the kiosk imports without a source cache)
from appliance.config import Config
from kiosk import errors as kiosk_errors
from kiosk.devices import Devices
from kiosk.i18n import Catalogue, catalogue
from kiosk.idle import IdleWatch
from kiosk.jobs import Jobs
from kiosk.navigator import Navigator
from kiosk.screens import discover
from kiosk.session import EndReason, Session, Timeouts
from kiosk.theme import Theme
from kiosk.voice import Voice
from kiosk.widgets import AnnouncementStrip, BusyOverlay, CountdownOverlay, Header

log = logging.getLogger("kiosk.app")

HOME = "home"
IDENTIFY = "identify"
ERROR = "error"
# the call screen's steps while a call is being placed, queued or talked in (kiosk.call.CallState)
CALL_HOLDS = frozenset({"placing", "queued", "connecting", "in_call", "reconnecting"})


class KioskApp(QMainWindow):
    def __init__(self, config: Config, *, devices: Devices | None = None, i18n: Catalogue | None = None,
                 watch_cards: bool = False, sync: bool = False) -> None:
        super().__init__()
        from kiosk import memory
        memory.limit_arenas()
        self.config = config
        self.settings = config.kiosk
        self.i18n = i18n or catalogue()
        self.i18n.set_language(self.settings.language)
        self.elderly = False
        self.base_theme = Theme(dpi=float(self.settings.dpi))
        self.theme = self.base_theme
        self.devices = devices or Devices(config)
        self.session = Session()
        self.session.on_end(self._session_ended)
        self.jobs = Jobs(default_error=self.show_error, parent=self)
        self.voice = Voice(self)
        self.admin = False  # staff are in admin mode
        self.fullscreen_left = False
        from kiosk.logbook import recent_logs
        recent_logs()
        self.card_watch = None
        self.staff_watch = None  # the staff card reader ([pcsc]): kiosk.cardwatch.StaffCardWatch
        self.sync = sync  # run the sync agent on the kiosk's store ([sync] enabled): python -m kiosk does
        from kiosk.reconfigure import ConfigRestart  # the server's config changed: run again once nobody uses it
        self.config_restart = ConfigRestart(self) if sync else None
        self._announcements: list = []  # what the strip shows (kiosk.store.announcements.Announcement)
        self.devices.synced.append(self._synced)
        self._apply_theme()

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = Header(self.theme, self.i18n, config.appliance.community, on_language=self.toggle_language,
                             on_elderly=self.toggle_elderly, on_home=self.home)
        self.navigator = Navigator()
        self.strip = AnnouncementStrip(self.theme)
        layout.addWidget(self.header)
        layout.addWidget(self.navigator, 1)
        layout.addWidget(self.strip)
        self.setCentralWidget(central)
        self.busy = BusyOverlay(central, self.theme)
        self.countdown = CountdownOverlay(central, self.theme, on_stay=lambda: self.idle.touch())
        self.jobs.busy_changed.connect(self.busy.set_text)
        from kiosk.alerts import LockerAlertsOnScreen
        self.locker_alerts = LockerAlertsOnScreen(self, central)
        self.alerts = self.locker_alerts.banner  # the band over any screen
        self.jobs.busy_changed.connect(lambda _text: self.alerts.raise_() if self.alerts.rows else None)
        from kiosk.widgets.keyboard import KeyboardHook, OnScreenKeyboard
        self.keyboard = OnScreenKeyboard(central, self.theme, self.i18n.t)  # a text box tapped brings it up
        self.keyboard_hook = KeyboardHook(self, self.keyboard)
        from kiosk.window_input import WindowInput
        self.input = WindowInput(self)  # touches, clicks and keys, where Qt delivers them
        self.input.listeners.append(self.keyboard_hook.saw)

        for cls in sorted(discover().values(), key=lambda c: c.name):
            self.navigator.add(cls(self))
        self.navigator.listeners.append(lambda name: self._retranslate_chrome())
        self.idle = IdleWatch(timeouts=self.timeouts, armed=self._idle_armed, on_countdown=self._countdown,
                              on_cancel=self.countdown.hide, on_timeout=lambda: self.end_session(EndReason.IDLE))
        self.input.listeners.append(self.idle.saw)
        self.setWindowTitle(config.appliance.name)
        self.refresh_announcements()
        self.go(HOME)
        self.ready = False  # the warm-up has finished
        if watch_cards:
            self.jobs.run(self.devices.warm_up, on_done=self._warmed_up, name="warm-up", keep=True)
        elif sync:
            self.start_sync()

    def _warmed_up(self, problems: list[str]) -> None:
        self.warm_up_problems = problems
        self._prerender()
        # What start-up built lives as long as the app: out of the collector's way, so a
        # full collection during a journey walks only what journeys make (no long pause).
        import gc
        gc.collect()
        gc.freeze()
        self.ready = True
        self.start_card_watch()
        self.start_staff_watch()
        self.start_locker_watch()
        if self.sync:
            self.start_sync()

    PRERENDER = ("identify", "residence", "subsidy")

    def _prerender(self) -> None:
        """Paint the first journeys' screens once, offscreen, with the demo resident,
        before any card is read: the first paint of a screen lays out and rasterises
        its Chinese glyphs at new sizes (100–400 ms), which the first resident would
        otherwise feel as a frozen screen."""
        from kiosk.screenshots import DEMO_RESIDENT

        for name in self.PRERENDER:
            screen = self.navigator.screens.get(name)
            if screen is None:
                continue
            for state in type(screen).states():
                try:
                    if state.resident:
                        self.session.identify(DEMO_RESIDENT)
                    state.setup(screen)
                    screen.grab()
                except Exception as exc:  # a picture not painted ahead is no fault
                    log.debug("prerender %s/%s: %s", name, state.name, exc)
                self.session.end(EndReason.HOME)
        self.navigator.go(HOME)

    # -- look -----------------------------------------------------------------------
    def _apply_theme(self) -> None:
        app = QApplication.instance()
        font = QFont(self.theme.family)
        font.setPixelSize(self.theme.body)
        app.setFont(font)
        app.setStyleSheet(self.theme.stylesheet())

    def timeouts(self) -> Timeouts:
        base = Timeouts(self.settings.idle_seconds, self.settings.countdown_seconds)
        return base.slowed(self.settings.elderly_timeout_factor) if self.elderly else base

    def toggle_language(self) -> None:
        self.set_language("en" if self.i18n.lang == "zh" else "zh")

    def set_language(self, lang: str) -> None:
        self.i18n.set_language(lang)
        self._rebuild()

    def toggle_elderly(self) -> None:
        self.set_elderly(not self.elderly)

    def set_elderly(self, on: bool) -> None:
        self.elderly = on
        self.theme = self.base_theme.elderly(self.settings.elderly_scale) if on else self.base_theme
        self._apply_theme()
        self._rebuild()
        if on:
            self.voice.say("common.elderly_spoken")

    def _rebuild(self) -> None:
        # Widgets take sizes from the theme when built: build the chrome and the screen again.
        layout = self.centralWidget().layout()
        old_header, old_strip = self.header, self.strip
        self.header = Header(self.theme, self.i18n, self.config.appliance.community,
                             on_language=self.toggle_language, on_elderly=self.toggle_elderly, on_home=self.home)
        self.strip = AnnouncementStrip(self.theme)
        layout.replaceWidget(old_header, self.header)
        layout.replaceWidget(old_strip, self.strip)
        for old in (old_header, old_strip):
            old.hide()
            old.deleteLater()
        self.header.show()
        self.refresh_announcements()
        for screen in self.navigator.screens.values():
            screen._layout.setContentsMargins(self.theme.mm(12), self.theme.mm(8), self.theme.mm(12),
                                              self.theme.mm(6))
        if self.navigator.current is not None:
            self.navigator.current.refresh()
        self.locker_alerts.show()
        self.keyboard.restyle(self.theme)
        self._retranslate_chrome()

    def _retranslate_chrome(self) -> None:
        current = self.navigator.current
        self.header.retranslate(elderly=self.elderly, at_home=current is None or current.name == HOME)
        self.countdown.set_texts(self.i18n.t("common.idle_question"), self.i18n.t("common.idle_detail"),
                                 self.i18n.t("common.idle_stay"))

    def refresh_announcements(self) -> None:
        """The strip's texts from the store (a job: the store is a file)."""
        def load() -> list[str]:
            from kiosk.store.announcements import current_announcements
            return current_announcements(self.devices.data, self.config.appliance.community)

        def show(items: list) -> None:
            self._announcements = list(items)
            texts = [a.text(self.i18n.lang) for a in items]
            self.strip.show_items(self.i18n.t("common.announcements"), texts)

        self.strip.show_items(self.i18n.t("common.announcements"), [])
        self.jobs.run(load, on_done=show, on_error=lambda exc: log.warning("announcements: %s", exc),
                      name="announcements")

    # -- the sync agent ------------------------------------------------------------------
    def start_sync(self) -> None:
        """The sync agent as a thread of the app (a job: it opens the store); stopped
        by :meth:`shutdown`. Its rounds push the outbox; :meth:`_synced` hears them."""
        self.jobs.run(self.devices.start_sync, name="sync agent", keep=True,
                      on_error=lambda exc: log.warning("the sync agent did not start: %s", exc))

    def _synced(self, done: Any) -> None:
        """After each sync round, on the agent's thread: announcements that changed
        reach the strip now, not at the next restart."""
        if not done.pulled:
            return
        from kiosk.store.announcements import current_announcements
        now = current_announcements(self.devices.data, self.config.appliance.community)
        if now != self._announcements:
            log.info("announcements changed: %d now", len(now))
            self.jobs.call_soon(self.refresh_announcements)

    # -- navigation --------------------------------------------------------------------
    def go(self, name: str, **params: Any) -> None:
        """Show screen ``name``. A screen that needs an identified resident sends them
        through ``identify`` first, which comes back here after the welcome."""
        screen_cls = self.navigator.screens[name]
        if screen_cls.needs_identity and not self.session.identified:
            self.navigator.go(IDENTIFY, then=name, then_params=params)
            return
        self.navigator.go(name, **params)
        self.idle.touch() if hasattr(self, "idle") else None

    def home(self) -> None:
        self.end_session(EndReason.HOME)

    def end_session(self, reason: EndReason) -> None:
        self.session.end(reason)

    def _session_ended(self, reason: EndReason) -> None:
        if reason is not EndReason.ADMIN:
            self.admin = False  # idle or home also ends admin mode
        self.jobs.forget()
        self.keyboard.detach()  # with what was being spelled
        self.countdown.hide()
        self.navigator.clear_all()
        self.voice.stop()
        if self.elderly and reason is not EndReason.HOME:
            self.set_elderly(False)  # the next resident starts in the ordinary mode
        if self.i18n.lang != self.settings.language:
            self.set_language(self.settings.language)
        self.navigator.go(HOME, ended=reason.value)
        self.devices.sync_soon()  # what the journey recorded goes to the server now
        from kiosk import memory
        self.jobs.run(memory.trim, name="memory trim", keep=True)

    def _idle_armed(self) -> bool:
        # Not while the kiosk itself works (a face check, a print, a door opening): the
        # resident waits for it. A watch (the locker's scanner while the pickup keypad
        # waits) and the app's own jobs (the sync agent, announcements) do not count.
        if self.jobs.working or self.holds_session():
            return False
        current = self.navigator.current
        return self.session.active or (current is not None and current.name != HOME)

    def holds_session(self) -> bool:
        """The current screen holds the session, so the idle countdown waits: a screen
        says so with a ``holds_session()`` method (a video call queued or live is not
        ended because nobody touches the screen while talking)."""
        current = self.navigator.current
        if current is None:
            return False
        holds = getattr(current, "holds_session", None)
        if callable(holds):
            return bool(holds())
        if current.name == "call":  # kiosk/screens/call.py's step, read until it says so itself
            return current.data.get("step") in CALL_HOLDS  # type: ignore[attr-defined]
        return False

    def _countdown(self, seconds: int) -> None:
        self.countdown.set_seconds(seconds)
        if not self.countdown.isVisible():
            self.countdown.pop()
            self.voice.say("common.idle_question")

    # -- errors --------------------------------------------------------------------------
    def show_error(self, exc: BaseException, *, retry: Callable[[], None] | None = None) -> None:
        """The friendly error screen for a job that failed with nobody else handling it."""
        explanation = kiosk_errors.explain(exc)
        log.warning("error shown to the resident: %s", explanation.log)
        self.navigator.go(ERROR, explanation=explanation, retry=retry)
        self._retranslate_chrome()

    # -- the card reader --------------------------------------------------------------------
    def start_card_watch(self) -> None:
        from kiosk.cardwatch import CardWatch
        self.card_watch = CardWatch(lambda: self.devices.reader, post=self.jobs.call_soon,
                                    on_card=self._card_read, on_unreadable=self._card_unreadable,
                                    on_removed=self._card_removed, on_fault=self._reader_fault)
        self.devices.card_watch = self.card_watch  # paused while the heartbeat's probe asks the reader
        self.card_watch.start()

    def _card_read(self, record: Any) -> None:
        if self.admin:
            return
        self.idle.touch()
        current = self.navigator.current
        if current is not None and current.name == IDENTIFY:
            current.card_read(record)  # type: ignore[attr-defined]
        elif not self.session.identified:
            self.navigator.go(IDENTIFY, record=record)
        self._retranslate_chrome()

    def _card_unreadable(self, exc: BaseException) -> None:
        if self.admin:
            return
        self.idle.touch()
        self.navigator.go(IDENTIFY, unreadable=exc)
        self._retranslate_chrome()

    def _card_removed(self) -> None:
        if self.session.active and not self.admin:
            log.info("card pulled away: the session ends")
            self.end_session(EndReason.CARD_PULLED)

    def _reader_fault(self, exc: BaseException) -> None:
        log.warning("ID card reader: %s", exc)

    # -- the locker's alerts ------------------------------------------------------------------
    def start_locker_watch(self, poll: float = 1.0) -> None:
        """Follow the locker daemon's alerts (a door left open or forced, a code refused
        at its scanner) and show them over any screen (:mod:`kiosk.alerts`)."""
        self.locker_alerts.start(poll)

    # -- the staff card reader -----------------------------------------------------------
    def start_staff_watch(self) -> None:
        """Watch the PC/SC reader ([pcsc] enabled) for staff cards: one opens admin mode
        from any screen, or confirms the resident while identify asks for staff."""
        if not self.config.pcsc.enabled or self.staff_watch is not None:
            return
        from kiosk.cardwatch import StaffCardWatch
        self.staff_watch = StaffCardWatch(self.config.pcsc.reader, post=self.jobs.call_soon,
                                          on_card=self._staff_card,
                                          on_fault=lambda exc: log.warning("staff card reader: %s", exc)).start()

    def _staff_card(self, uid: str) -> None:
        self.idle.touch()
        current = self.navigator.current
        if current is not None and current.name == IDENTIFY and current.staff_card(uid):  # type: ignore[attr-defined]
            return
        admin = self.navigator.screens.get("admin")
        if admin is not None and admin.card(uid):  # type: ignore[attr-defined]
            self._retranslate_chrome()

    def leave_fullscreen(self) -> None:
        """Admin mode, after the second factor: a normal window."""
        log.warning("leaving fullscreen (admin)")
        self.fullscreen_left = True
        self.setWindowFlag(Qt.WindowType.FramelessWindowHint, False)
        self.showNormal()

    # -- closing ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        if self._synced in self.devices.synced:
            self.devices.synced.remove(self._synced)
        if self.config_restart is not None:
            self.config_restart.stop()
        if self.card_watch is not None:
            self.card_watch.stop()
        if self.staff_watch is not None:
            self.staff_watch.stop()
            self.staff_watch = None
        self.locker_alerts.stop()
        self.idle.stop()
        self.keyboard_hook.stop()
        self.input.stop()
        self.jobs.shutdown()
        self.voice.stop()
        self.devices.close()

    def dispose(self) -> None:
        """Shut down and delete the window and everything on it, now, while the
        interpreter is whole. Left alive, the window would be deleted by PySide's exit
        clean-up, after the signal connections are cleared and as the interpreter
        tears down, where any slip of the binding shows as a crash on the way out (a
        kiosk stopped by systemd would end as a failure). What start-up froze
        (:meth:`_warmed_up`) is handed back to the collector first."""
        import gc

        self.shutdown()
        gc.unfreeze()
        self.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.shutdown()
        super().closeEvent(event)


def start_watchdog(qt: QApplication, *, env=None, period_ms: int = 1000):
    """The kiosk under systemd (``Type=notify``, ``WatchdogSec=``): the Qt event loop
    beats once a second (the first beat is ``READY=1``, once the loop runs, i.e. home
    shows); a frozen loop stops the pings and systemd restarts the kiosk. Quitting
    sends ``STOPPING=1``. Without ``NOTIFY_SOCKET`` (a development run) nothing is sent."""
    from PySide6.QtCore import QTimer

    from appliance import systemd

    watchdog = systemd.Watchdog(status="kiosk shown", env=env)
    timer = QTimer(qt)
    timer.setInterval(period_ms)
    timer.timeout.connect(watchdog.beat)
    timer.start()
    QTimer.singleShot(0, watchdog.beat)  # READY=1 as soon as the loop turns
    qt.aboutToQuit.connect(timer.stop)
    qt.aboutToQuit.connect(watchdog.stop)
    return watchdog, timer


def show_kiosk(window: KioskApp, *, windowed: bool) -> None:
    if windowed:
        window.resize(1280, 800)
        window.show()
        return
    screen = QApplication.primaryScreen()
    if screen is not None:
        window.setGeometry(screen.geometry())  # no window manager under Xvfb: size it first
    window.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
    window.showFullScreen()
