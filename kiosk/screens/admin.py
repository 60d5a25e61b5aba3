"""Admin mode for staff: entered with the PIN (or a staff card on the PC/SC reader);
device status, a test print, a door opened through the locker daemon, a sync round
now, the recent logs, and leaving fullscreen with the second factor. The logic is
:mod:`kiosk.flows.admin`; while staff are here, cards placed on the ID reader are
ignored and no resident session runs."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QPlainTextEdit, QVBoxLayout, QWidget)

from kiosk.flows import admin as flow
from kiosk.screens.base import Screen, ScreenState
from kiosk.session import EndReason
from kiosk.widgets import Keypad, card, choice, label, primary, secondary

SECTIONS = ("status", "print", "door", "sync", "logs", "fullscreen")


class AdminScreen(Screen):
    name = "admin"
    domain = "admin"

    def __init__(self, app) -> None:
        super().__init__(app)
        s = app.settings
        self.gate = flow.AdminGate(s.admin_pin, list(s.admin_cards), s.exit_pin)
        self.section = "status"
        self.result: object = None  # what the last action gave, shown in the section
        self.message = ""

    def enter(self, **params) -> None:
        if self.session.active:
            self.app.end_session(EndReason.ADMIN)
            self.app.navigator.go(self.name)
            return
        self.result, self.message = None, ""
        self.refresh()

    def clear(self) -> None:
        self.result, self.message = None, ""

    # -- login ---------------------------------------------------------------------
    def pin(self, digits: str) -> None:
        if self.gate.by_pin(digits):
            self.app.admin = True
            self.show("status")
        else:
            self.message = self.t("locked") if self.gate.locked else self.t("wrong_pin")
            self.refresh()

    def card(self, uid: str) -> bool:
        """A card on the staff card reader (the app's staff card watch): a staff card
        listed in ``[kiosk] admin_cards`` opens admin mode from any screen (a resident's
        session ends first); True if it did."""
        if not self.gate.by_card(uid):
            return False
        self.app.admin = True
        self.app.navigator.go(self.name)
        self.show("status")
        return True

    def leave(self) -> None:
        pass

    def logout(self) -> None:
        self.app.admin = False
        self.app.home()

    # -- sections ------------------------------------------------------------------------
    def show(self, section: str) -> None:
        self.section, self.result, self.message = section, None, ""
        self.refresh()
        config, devices = self.app.config, self.app.devices
        if section == "status":
            from kiosk.flows.doors import LockerDoors
            watch = self.app.card_watch

            def status():
                if watch is not None:
                    watch.pause()
                try:
                    return flow.device_status(config, LockerDoors(devices.locker_socket, timeout=3))
                finally:
                    if watch is not None:
                        watch.resume()
            self._run(status)
        elif section == "logs":
            from kiosk.logbook import recent_logs
            self.result = recent_logs().last(60)
            self.refresh()

    def _run(self, fn, *args) -> None:
        section = self.section  # staff may change tabs while it runs: its result is that tab's

        def done(result) -> None:
            if self.section == section:
                self.result = result
                self.refresh()

        def failed(exc: BaseException) -> None:
            if self.section == section:
                self.result = None
                self.message = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
                self.refresh()

        self.app.jobs.run(fn, *args, on_done=done, on_error=failed, busy=self.t("common.working"),
                          name=f"admin {self.section}")

    def test_print(self) -> None:
        self._run(flow.test_print, self.app.config)

    def sync_now(self) -> None:
        self._run(self.app.devices.sync_now)

    def open_door(self, digits: str) -> None:
        if not digits.isdigit():
            return
        from kiosk.flows.doors import LockerDoors
        self._run(flow.open_door, LockerDoors(self.app.devices.locker_socket), int(digits))

    def exit_fullscreen(self, digits: str) -> None:
        if self.gate.may_leave_fullscreen(digits):
            self.app.leave_fullscreen()
            self.message = self.t("fullscreen_left")
        else:
            self.message = self.t("wrong_pin") if self.app.settings.exit_pin else self.t("no_exit_pin")
        self.refresh()

    # -- the look ------------------------------------------------------------------------
    def render(self) -> QWidget:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setSpacing(self.theme.mm(4))
        if not self.app.admin:
            self._render_login(layout)
        else:
            self._render_panel(layout)
        return body

    def _render_login(self, layout: QVBoxLayout) -> None:
        th = self.theme
        layout.addWidget(label(self.t("title"), "heading"))
        row = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(label(self.t("login_detail"), "value"))
        if not self.app.settings.admin_pin and not self.app.settings.admin_cards:
            left.addWidget(label(self.t("not_configured"), "value"))
        if self.message:
            wrong = label(self.message, "title")
            wrong.setStyleSheet(f"color: {th.palette.error};")
            left.addWidget(wrong)
        left.addStretch(1)
        left.addWidget(secondary(self.t("common.home"), self.app.home, name="admin-home"))
        row.addLayout(left, 3)
        pad = QVBoxLayout()
        pad.addWidget(label(self.t("pin"), "title"))
        pad.addWidget(Keypad(th, self.t("enter"), self.pin))
        row.addLayout(pad, 2)
        layout.addLayout(row, 1)

    def _render_panel(self, layout: QVBoxLayout) -> None:
        top = QHBoxLayout()
        top.addWidget(label(self.t("panel_title"), "heading"))
        top.addStretch(1)
        top.addWidget(secondary(self.t("logout"), self.logout, name="admin-logout"))
        layout.addLayout(top)
        tabs = QHBoxLayout()
        for section in SECTIONS:
            tabs.addWidget(choice(self.t(f"section_{section}"), lambda s=section: self.show(s),
                                  checked=self.section == section, name=f"admin-{section}"))
        tabs.addStretch(1)
        layout.addLayout(tabs)
        content = QVBoxLayout()
        getattr(self, f"_section_{self.section}")(content)
        if self.message:
            note = label(self.message, "value")
            note.setObjectName("admin-message")
            content.addWidget(note)
        content.addStretch(1)
        layout.addLayout(content, 1)

    def _section_status(self, layout: QVBoxLayout) -> None:
        th = self.theme
        rows = self.result if isinstance(self.result, list) else []
        grid = QGridLayout()
        grid.setHorizontalSpacing(th.mm(5))
        for column, key in enumerate(("device", "state", "detail", "fix")):
            grid.addWidget(label(self.t(key), "muted"), 0, column)
        colours = {"OK": th.palette.ok, "DEGRADED": th.palette.warn, "DOWN": th.palette.error}
        for r, row in enumerate(rows, start=1):
            state = label(row.state, wrap=False)
            state.setStyleSheet(f"color: {colours.get(row.state, th.palette.ink)}; font-weight: bold;")
            grid.addWidget(label(row.device, wrap=False), r, 0)
            grid.addWidget(state, r, 1)
            grid.addWidget(label(row.detail), r, 2)
            grid.addWidget(label(row.fix, "muted"), r, 3)
        grid.setColumnStretch(2, 2)
        grid.setColumnStretch(3, 2)
        box = card(th)
        box.layout().addLayout(grid)
        box.layout().addWidget(secondary(self.t("refresh"), lambda: self.show("status"), name="admin-refresh"),
                               0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(box)

    def _section_print(self, layout: QVBoxLayout) -> None:
        parts = [label(self.t("print_detail"), "value")]
        if self.result is not None:
            ok = getattr(self.result, "ok", False)
            shown = label(self.t("print_ok") if ok else self.t("print_failed"), "title")
            shown.setObjectName("admin-print-result")
            parts.append(shown)
        box = card(self.theme, *parts)
        box.layout().addWidget(primary(self.t("print_button"), self.test_print, name="admin-test-print"), 0,
                               Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(box)

    def _section_door(self, layout: QVBoxLayout) -> None:
        row = QHBoxLayout()
        text = label(self.t("door_detail"), "value")
        left = QVBoxLayout()
        left.addWidget(text)
        if isinstance(self.result, dict):
            left.addWidget(label(self.t("door_opened", door=self.result.get("door", "?")), "title"))
        left.addStretch(1)
        row.addLayout(left, 3)
        pad = QVBoxLayout()
        pad.addWidget(label(self.t("door_number"), "title"))
        pad.addWidget(Keypad(self.theme, self.t("door_open"), self.open_door, max_digits=3))
        row.addLayout(pad, 2)
        layout.addLayout(row)

    def _section_sync(self, layout: QVBoxLayout) -> None:
        parts = [label(self.t("sync_detail"), "value")]
        if self.result is not None:
            r = self.result
            parts.append(label(self.t("sync_done", pushed=getattr(r, "pushed", 0), pulled=getattr(r, "pulled", 0)),
                               "title"))
        box = card(self.theme, *parts)
        box.layout().addWidget(primary(self.t("sync_button"), self.sync_now, name="admin-sync-now"), 0,
                               Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(box)

    def _section_logs(self, layout: QVBoxLayout) -> None:
        text = QPlainTextEdit("\n".join(self.result if isinstance(self.result, list) else []))
        text.setReadOnly(True)
        text.setObjectName("admin-logs")
        text.setMinimumHeight(self.theme.mm(120))
        layout.addWidget(text)

    def _section_fullscreen(self, layout: QVBoxLayout) -> None:
        row = QHBoxLayout()
        row.addWidget(label(self.t("fullscreen_detail"), "value"), 3)
        pad = QVBoxLayout()
        pad.addWidget(label(self.t("exit_pin"), "title"))
        pad.addWidget(Keypad(self.theme, self.t("enter"), self.exit_fullscreen))
        row.addLayout(pad, 2)
        layout.addLayout(row)

    @classmethod
    def states(cls) -> list[ScreenState]:
        def login(screen: "AdminScreen") -> None:
            screen.app.admin = False
            screen.refresh()

        def status(screen: "AdminScreen") -> None:
            screen.app.admin = True
            screen.section = "status"
            screen.result = [flow.DeviceRow("idcard reader (SAM)", "OK", "SAM 05.01 answers on /dev/kiosk-idreader", ""),
                             flow.DeviceRow("printer", "DOWN", "kiosk: media-empty-error (Out of paper)",
                                            "add paper, then resume the queue"),
                             flow.DeviceRow("camera", "OK", "synthetic 640×480 at 15 fps", "")]
            screen.refresh()
            screen.app.admin = False  # the screenshot run goes on as a resident would

        return [ScreenState("login", login), ScreenState("status", status)]
