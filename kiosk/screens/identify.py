"""Identify: place the card → the face check with the camera preview and the
liveness prompt → welcome by name; the fallbacks of :mod:`kiosk.flows.identify`.

Reached from home (a card placed, or a tile of a journey that needs the resident:
``then`` names it, and the welcome continues there by itself)."""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from kiosk.flows.identify import Identification, Step
from kiosk.screens.base import Screen, ScreenState
from kiosk.widgets import CameraView, ErrorPanel, Keypad, label, primary, secondary

log = logging.getLogger("kiosk.screens.identify")

CONTINUE_MS = 1000  # the welcome shows this long before going on to the chosen journey


class PreviewFeed:
    """Passes frames to the check and every ``every``-th to the preview (a report)."""

    def __init__(self, feed: Any, show: Any, every: int = 2) -> None:
        self.feed, self.show, self.every, self.count = feed, show, every, 0

    def next_frame(self, after: int, timeout: float):
        frame = self.feed.next_frame(after, timeout)
        self.count += 1
        if self.count % self.every == 1:
            self.show(frame.image)
        return frame


class IdentifyScreen(Screen):
    name = "identify"
    domain = "identify"

    def __init__(self, app) -> None:
        super().__init__(app)
        self.flow = self._new_flow()
        self.then: str | None = None
        self.then_params: dict = {}
        self.prompt_key = "face_starting"
        self.attempt = 1
        self.camera_view: CameraView | None = None
        self.prompt_label = None
        self.attempt_label = None
        self._continue = QTimer(self)
        self._continue.setSingleShot(True)
        self._continue.timeout.connect(self.go_on)

    def _new_flow(self) -> Identification:
        s = self.app.settings
        return Identification(self.app.config.identity, staff_assisted=s.staff_assisted,
                              camera=self.app.config.camera.enabled, staff_pin=s.admin_pin,
                              staff_cards=s.admin_cards, fallback=self.app.config.identity.fallback)

    # -- lifecycle ------------------------------------------------------------------
    def enter(self, then: str | None = None, then_params: dict | None = None, record: Any = None,
              unreadable: BaseException | None = None, **params: Any) -> None:
        if then is not None:
            self.then, self.then_params = then, dict(then_params or {})
        if record is not None:
            self.card_read(record)
            return
        if unreadable is not None:
            self.flow.card_unreadable(unreadable)
            self.refresh()
            return
        if self.flow.step is not Step.WELCOME or not self.session.identified:
            self.flow.forget()
        self.refresh()
        self.app.voice.say("identify.place_card")

    def leave(self) -> None:
        self._continue.stop()

    def clear(self) -> None:
        self._continue.stop()
        self.flow.forget()
        self.then, self.then_params = None, {}
        if self.camera_view is not None:
            self.camera_view.clear()
        self.prompt_key, self.attempt = "face_starting", 1

    # -- the card ----------------------------------------------------------------------
    def card_read(self, record: Any) -> None:
        self.session.start()
        self.session.card = record
        step = self.flow.card_read(record)
        if step is Step.CHECKING:
            self.start_check()  # refreshes
        else:
            self.refresh()

    # -- the face check ------------------------------------------------------------------
    def start_check(self) -> None:
        self.prompt_key, self.attempt = "face_starting", 1
        self.refresh()
        devices, flow = self.app.devices, self.flow
        view = (self.camera_view.width(), self.camera_view.height()) if self.camera_view else (640, 480)

        def work(report):
            feed = devices.face_feed(flow.record)
            hear = getattr(feed, "hear", None)  # a rehearsal resident obeys the prompts

            def on_prompt(prompt):
                if hear is not None:
                    hear(prompt)
                report(("prompt", prompt))

            def preview(image):
                report(("frame", CameraView.prepare(image, *view)))

            return flow.check(devices.engine, PreviewFeed(feed, preview),
                              reader=devices.reader, household=devices.households(), on_prompt=on_prompt)

        self.app.jobs.run(work, progress=True, on_progress=self._progress, on_done=self._checked,
                          on_error=self._check_failed, name="face check")

    def _progress(self, value: tuple[str, Any]) -> None:
        kind, data = value
        if self.flow.step is not Step.CHECKING:
            return
        if kind == "frame" and self.camera_view is not None:
            self.camera_view.show_image(data)
        elif kind == "prompt":
            self.prompt_key, self.attempt = f"prompt_{data.kind}", data.attempt
            if self.prompt_label is not None:
                self.prompt_label.setText(self.t(self.prompt_key))
                self.attempt_label.setText(self.t("face_attempt", n=self.attempt,
                                                  total=self.app.config.identity.attempts))
            self.app.voice.say(f"identify.prompt_{data.kind}")

    def _checked(self, decision: Any) -> None:
        step = self.flow.checked(decision)
        if self.camera_view is not None:
            self.camera_view.clear()
        if step is Step.WELCOME:
            self._welcome()
        else:
            self.refresh()

    def _check_failed(self, exc: BaseException) -> None:
        log.warning("face check could not run: %s", exc)
        self.flow.camera_failed(exc)
        self.refresh()

    def _welcome(self) -> None:
        resident = self.flow.resident
        assert resident is not None
        self.session.identify(resident, self.flow.decision.record() if self.flow.decision else None)
        self.refresh()
        self.app.voice.say("identify.welcome_spoken")
        if self.then:
            self._continue.start(CONTINUE_MS)

    def go_on(self, name: str | None = None) -> None:
        target = name or self.then
        params = self.then_params if name is None or name == self.then else {}
        self._continue.stop()
        self.then, self.then_params = None, {}
        if target:
            self.app.go(target, **params)

    def staff_pin(self, pin: str) -> None:
        if self.flow.staff_confirm(pin):
            self._welcome()
        else:
            self.staff_wrong = True
            self.refresh()

    def staff_card(self, uid: str) -> bool:
        """A card on the PC/SC reader while staff are asked for (the app's staff card
        watch): a staff card confirms the resident; True if it did."""
        if self.flow.step is not Step.STAFF:
            return False
        if self.flow.staff_card(uid):
            self._welcome()
            return True
        self.staff_wrong = "card"
        self.refresh()
        return False

    # -- the look ------------------------------------------------------------------------
    def render(self) -> QWidget:
        step = self.flow.step
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setSpacing(self.theme.mm(5))
        self.camera_view = self.prompt_label = self.attempt_label = None
        getattr(self, f"_render_{step.value}")(layout)
        return body

    def _render_waiting(self, layout: QVBoxLayout) -> None:
        th = self.theme
        layout.addWidget(label(self.t("title"), "heading"))
        row = QHBoxLayout()
        picture = label("", align=Qt.AlignmentFlag.AlignCenter)
        picture.setFixedSize(th.mm(86), th.mm(54))  # an ID card's size, drawn
        picture.setText(self.t("card_picture"))
        picture.setStyleSheet(f"background: #E8F0FA; border: 3px solid {th.palette.accent};"
                              f"border-radius: {th.mm(3)}px; color: {th.palette.accent};"
                              f"font-size: {th.title}px; font-weight: bold;")
        row.addWidget(picture)
        row.addSpacing(th.mm(10))
        words = QVBoxLayout()
        words.addWidget(label(self.t("place_card"), "huge"))
        words.addWidget(label(self.t("place_card_detail"), "value"))
        arrow = label("▼ ▼ ▼", "huge")
        arrow.setStyleSheet(f"color: {th.palette.primary}; font-size: {th.huge}px;")
        words.addWidget(arrow)
        row.addLayout(words, 1)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        buttons = QHBoxLayout()
        buttons.addWidget(secondary(self.t("common.home"), self.app.home, name="identify-home"))
        buttons.addStretch(1)
        layout.addLayout(buttons)

    def _render_checking(self, layout: QVBoxLayout) -> None:
        th = self.theme
        layout.addWidget(label(self.t("face_title"), "heading"))
        row = QHBoxLayout()
        self.camera_view = CameraView(th.mm(128), th.mm(96))
        row.addWidget(self.camera_view)
        row.addSpacing(th.mm(10))
        words = QVBoxLayout()
        self.prompt_label = label(self.t(self.prompt_key), "huge")
        self.prompt_label.setObjectName("identify-prompt")
        self.prompt_label.setStyleSheet(f"color: {th.palette.primary}; font-size: {th.pt(40)}px;")
        self.attempt_label = label(self.t("face_attempt", n=self.attempt, total=self.app.config.identity.attempts),
                                   "title")
        words.addStretch(1)
        words.addWidget(self.prompt_label)
        words.addWidget(self.attempt_label)
        words.addSpacing(th.mm(6))
        words.addWidget(label(self.t("face_detail"), "value"))
        words.addStretch(2)
        row.addLayout(words, 1)
        layout.addLayout(row, 1)

    def _panel(self, layout: QVBoxLayout, title: str, what: str, next_steps: str, buttons: list) -> None:
        buttons.append(secondary(self.t("common.home"), self.app.home, name="identify-home"))
        layout.addStretch(1)
        layout.addWidget(ErrorPanel(self.theme, title, what, next_steps, buttons))
        layout.addStretch(2)

    def _render_unreadable(self, layout: QVBoxLayout) -> None:
        self._panel(layout, self.t("unreadable_title"), self.t("unreadable_what"), self.t("unreadable_next"), [])

    def _render_expired(self, layout: QVBoxLayout) -> None:
        self._panel(layout, self.t("card_expired"), "", self.t("card_expired_next"), [])

    def _why(self) -> tuple[str, str]:
        """The title and what happened, for the reason staff or a fallback is needed."""
        why = self.flow.why_staff
        if why == "failed":
            return self.t("failed_title"), self.t("failed_what", n=self.app.config.identity.attempts)
        if why == "no_reference":
            return self.t("no_reference_title"), self.t("no_reference_what")
        return self.t("no_camera_title"), self.t("no_camera_what")

    def _render_failed(self, layout: QVBoxLayout) -> None:
        """What ``[identity] fallback`` offers: staff help, a video consultation, or the counter."""
        offers = self.flow.offers
        buttons, next_steps = [], self.t("no_fallback_next")
        if "video" in offers and "call" in self.app.navigator.screens:
            buttons.append(primary(self.t("common.video_call"), lambda: self.app.go("call", topic="identify"),
                                   name="identify-video"))
            next_steps = self.t("fallback_video_next")
        if "staff" in offers:
            buttons.append(primary(self.t("common.staff_help"), self._to_staff, name="identify-staff"))
            next_steps = self.t("fallback_staff_next")
        title, what = self._why()
        self._panel(layout, title, what, next_steps, buttons)

    def _to_staff(self) -> None:
        if "staff" in self.flow.offers:
            self.flow.set_step(Step.STAFF)
            self.refresh()

    def _render_staff(self, layout: QVBoxLayout) -> None:
        th = self.theme
        title, what = self._why()
        if not self.flow.staff_possible:
            self._panel(layout, title, what, self.t("no_fallback_next"), [])
            return
        row = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(ErrorPanel(th, title, what, self.t("no_camera_next"), [], role="warn"))
        if self.flow.staff_cards:
            card_hint = label(self.t("staff_card_hint"), "title")
            card_hint.setObjectName("identify-staff-card")
            left.addWidget(card_hint)
        if getattr(self, "staff_wrong", False):
            wrong = label(self.t("staff_card_wrong" if self.staff_wrong == "card" else "staff_wrong"), "title")
            wrong.setObjectName("identify-staff-wrong")
            wrong.setStyleSheet(f"color: {th.palette.error};")
            left.addWidget(wrong)
            self.staff_wrong = False
        left.addStretch(1)
        left.addWidget(secondary(self.t("common.home"), self.app.home, name="identify-home"))
        row.addLayout(left, 3)
        row.addSpacing(th.mm(10))
        if self.flow.staff_pin:
            pad = QVBoxLayout()
            pad.addWidget(label(self.t("staff_pin"), "title"))
            pad.addWidget(Keypad(th, self.t("staff_confirm"), self.staff_pin))
            row.addLayout(pad, 2)
        layout.addLayout(row, 1)

    def _render_welcome(self, layout: QVBoxLayout) -> None:
        th = self.theme
        resident = self.session.resident or self.flow.resident
        name = resident.name if resident else ""
        layout.addStretch(1)
        tick = label("✔", "huge")
        tick.setStyleSheet(f"color: {th.palette.ok}; font-size: {th.pt(60)}px;")
        layout.addWidget(tick)
        hello = label(self.t("welcome", name=name), "huge")
        hello.setObjectName("identify-welcome")
        layout.addWidget(hello)
        detail = self.t("welcome_detail")
        if resident is not None and resident.verified_by == "staff":
            detail += "（" + self.t("verified_by_staff") + "）" if self.app.i18n.lang == "zh" \
                else f" ({self.t('verified_by_staff')})"
        layout.addWidget(label(detail, "value"))
        layout.addSpacing(th.mm(6))
        row = QHBoxLayout()
        row.setSpacing(th.mm(5))
        screens = self.app.navigator.screens
        if self.then and self.then in screens and screens[self.then].tile is not None:
            what = self.app.i18n.t(screens[self.then].tile.title)
            button = primary(self.t("continue_to", what=what), self.go_on, name="welcome-continue")
            button.setStyleSheet(f"min-height: {th.mm(22)}px;")  # the app sheet wins over setMinimumHeight
            row.addWidget(button)
        else:
            tiles = sorted((s for s in screens.values() if s.tile is not None and s.needs_identity),
                           key=lambda s: s.tile.order)
            for screen in tiles:
                button = primary(self.app.i18n.t(screen.tile.title), lambda name=screen.name: self.go_on(name),
                                 name=f"welcome-{screen.name}")
                button.setStyleSheet(f"min-height: {th.mm(22)}px;")  # the app sheet wins over setMinimumHeight
                button.setMinimumWidth(th.mm(55))
                row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)

    # -- screenshots --------------------------------------------------------------------------
    @classmethod
    def states(cls) -> list[ScreenState]:
        from kiosk.screenshots import DEMO_RESIDENT

        def step(name: Step, **extra):
            def setup(screen: "IdentifyScreen") -> None:
                screen.flow.forget()
                screen.flow.step = name
                for key, value in extra.items():
                    setattr(screen.flow, key, value)
                if name is Step.WELCOME:
                    screen.flow.resident = DEMO_RESIDENT
                if name is Step.CHECKING:
                    screen.prompt_key, screen.attempt = "prompt_turn_left", 1
                screen.refresh()
                if name is Step.CHECKING:
                    import numpy as np
                    frame = np.full((480, 640, 3), 90, np.uint8)
                    frame[::40, :] = 140
                    screen.camera_view.show_frame(frame)
            return setup

        return [ScreenState("waiting", step(Step.WAITING)),
                ScreenState("checking", step(Step.CHECKING)),
                ScreenState("unreadable", step(Step.UNREADABLE)),
                ScreenState("expired", step(Step.EXPIRED)),
                ScreenState("failed", step(Step.FAILED, why_staff="failed")),
                ScreenState("staff", step(Step.STAFF, why_staff="no_camera")),
                ScreenState("welcome", step(Step.WELCOME), resident=True)]
