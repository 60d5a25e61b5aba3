"""The locker's alerts on the kiosk's screen: :class:`kiosk.lockerwatch.LockerWatch`
follows the daemon, the band (:class:`kiosk.widgets.alerts.AlertBanner`) shows what
it reports over any screen in the screen's language, and each new alert is said once
in elderly mode (:mod:`kiosk.voice`). What the locker no longer reports goes; a
refusal dismissed stays dismissed. Runs beside a locker only (``[appliance] role``
with ``locker``, or ``[[lockboard]]`` buses)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lockerwatch import LockerAlerts, LockerWatch
from kiosk.widgets import AlertBanner, AlertRow

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from kiosk.app import KioskApp


class LockerAlertsOnScreen:
    def __init__(self, app: "KioskApp", parent: "QWidget") -> None:
        self.app = app
        self.banner = AlertBanner(parent, app.theme, on_dismiss=self.dismiss,
                                  top=lambda: app.navigator.geometry().top())
        self.watch: LockerWatch | None = None
        self.alerts: LockerAlerts | None = None  # what the locker reported last
        self._said: set = set()  # door alerts and refusals already spoken
        self._dismissed: set = set()  # refusals dismissed

    @property
    def wanted(self) -> bool:
        config = self.app.config
        return bool(config.lockboard) or "locker" in config.appliance.role

    def start(self, poll: float = 1.0) -> None:
        if self.wanted and self.watch is None:
            self.watch = LockerWatch(self.app.devices.locker_socket, post=self.app.jobs.call_soon,
                                     on_change=self.changed, poll=poll).start()

    def stop(self) -> None:
        watch, self.watch = self.watch, None
        if watch is not None:
            watch.stop()

    def changed(self, alerts: LockerAlerts) -> None:
        self.alerts = alerts
        self.show()
        voice = self.app.voice
        for alert in alerts.doors:  # said once each: a door, its kind, its level
            if (alert.door, alert.kind, alert.level) not in self._said:
                self._said.add((alert.door, alert.kind, alert.level))
                voice.say("alerts.close_door_spoken")
        refusal = alerts.refusal
        if refusal is not None and ("refusal", refusal.at) not in self._said:
            self._said.add(("refusal", refusal.at))
            if not voice.say(f"doors.{refusal.reason}"):
                voice.say("alerts.refused_spoken")
        # forget what was resolved: the same door left open again is said again
        live = {(a.door, a.kind, a.level) for a in alerts.doors}
        live |= {("refusal", refusal.at)} if refusal is not None else set()
        self._said &= live
        self._dismissed &= live

    def show(self) -> None:
        """The band for what the locker reported, in the current language and sizes."""
        alerts, i18n = self.alerts, self.app.i18n
        t = i18n.t
        self.banner.theme = self.app.theme
        rows: list[AlertRow] = []
        if alerts is not None:
            for alert in alerts.doors:
                if alert.kind == "forced":
                    rows.append(AlertRow(f"door:{alert.door}", t("alerts.forced", door=alert.door),
                                         t("alerts.forced_detail"), "error"))
                else:
                    rows.append(AlertRow(f"door:{alert.door}", t("alerts.close_door", door=alert.door),
                                         t("alerts.close_door_detail"),
                                         "error" if alert.level in ("worker", "alarm") else "warn"))
            refusal = alerts.refusal
            if refusal is not None and ("refusal", refusal.at) not in self._dismissed:
                key = f"doors.{refusal.reason}"
                words = t(key, wait=refusal.backing_off or 60) if key in i18n.entries else refusal.message
                rows.append(AlertRow("refusal", t("alerts.refused"), words, "error", t("alerts.dismiss")))
        self.banner.show_rows(rows)

    def dismiss(self, key: str) -> None:
        alerts = self.alerts
        if key == "refusal" and alerts is not None and alerts.refusal is not None:
            self._dismissed.add(("refusal", alerts.refusal.at))
        self.show()
