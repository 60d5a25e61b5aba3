"""Elderly subsidy: eligibility, this year's certification, recent payments; the
certification in one tap (the face check just passed is the proof); print the
result. The flow is :mod:`kiosk.flows.subsidy`."""
from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from kiosk.flows.subsidy import Step, SubsidyCheck
from kiosk.screens.base import Screen, ScreenState, Tile
from kiosk.widgets import ErrorPanel, card, label, primary, rows, secondary


class SubsidyScreen(Screen):
    name = "subsidy"
    domain = "subsidy"
    tile = Tile("subsidy.tile", "subsidy.tile_hint", order=20, glyph="补")
    needs_identity = True

    def __init__(self, app) -> None:
        super().__init__(app)
        self.check: SubsidyCheck | None = None

    def enter(self, **params) -> None:
        self.check = None
        self.refresh()
        resident = self.session.resident
        if resident is None:
            return
        devices, decision = self.app.devices, self.session.decision

        def load():
            return SubsidyCheck.start(resident, devices.subsidies(), decision=decision)

        self.app.jobs.run(load, on_done=self._loaded, busy=self.t("common.working"), name="subsidy status")

    def _loaded(self, check: SubsidyCheck) -> None:
        self.check = check
        self.session.scratch["subsidy"] = check
        self.refresh()

    def clear(self) -> None:
        self.check = None

    # -- taps --------------------------------------------------------------------------
    def certify(self) -> None:
        check, subsidies = self.check, self.app.devices.subsidies()
        assert check is not None
        self.app.jobs.run(check.certify, subsidies, on_done=self._certified, busy=self.t("common.working"),
                          name="subsidy certify")

    def _certified(self, _check) -> None:
        self.refresh()
        self.app.voice.say("subsidy.certified_title")
        self.app.devices.sync_soon()

    def print(self) -> None:
        check = self.check
        assert check is not None
        self.app.jobs.run(check.print, self.app.devices.printing, on_done=lambda _: self.refresh(),
                          busy=self.t("printing"), name="subsidy print")

    # -- the look ------------------------------------------------------------------------
    def render(self) -> QWidget:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setSpacing(self.theme.mm(4))
        check = self.check
        layout.addWidget(label(self.t("title"), "heading"))
        if check is None:
            layout.addStretch(1)
            return body
        if check.step is Step.NOT_LISTED:
            layout.addStretch(1)
            layout.addWidget(ErrorPanel(self.theme, self.t("not_listed_title"), self.t("not_listed_what"),
                                        self.t("not_listed_next"),
                                        [secondary(self.t("common.home"), self.app.home, name="subsidy-home")],
                                        role="warn"))
            layout.addStretch(2)
            return body
        th, s = self.theme, check.status
        row = QHBoxLayout()
        row.setSpacing(th.mm(8))
        left = QVBoxLayout()
        headline = label(("✔ " if s.eligible else "") + self.t("eligible" if s.eligible else "not_eligible"), "title")
        headline.setStyleSheet(f"color: {th.palette.ok if s.eligible else th.palette.warn};")
        if s.certified:
            cert = self.t("certified_until", day=s.due.isoformat() if s.due else "")
        elif s.due is not None and s.today is not None and s.due < s.today:
            cert = self.t("overdue", day=s.due.isoformat())
        else:
            cert = self.t("never_certified")
        facts = [(self.t("age"), self.t("age_value", age=s.age))]
        if s.monthly_amount:
            facts.append((self.t("monthly"), self.t("money", amount=s.monthly_amount)))
        facts.append((self.t("certification", year=s.year), cert))
        left.addWidget(card(th, headline, rows(th, facts)))
        left.addSpacing(th.mm(2))
        left.addWidget(self._action_panel(check))
        left.addStretch(1)
        row.addLayout(left, 3)
        row.addWidget(self._payments(check), 2)
        layout.addLayout(row, 1)
        return body

    def _action_panel(self, check: SubsidyCheck) -> QWidget:
        th, s = self.theme, check.status
        buttons = QHBoxLayout()
        parts: list[QWidget] = []
        if check.step is Step.CERTIFIED or (check.step in (Step.PRINTED, Step.PRINT_FAILED) and check.just_certified):
            done = label("✔ " + self.t("certified_title"), "title")
            done.setObjectName("subsidy-certified")
            done.setStyleSheet(f"color: {th.palette.ok};")
            parts += [done, label(self.t("certified_detail"), "value")]
        if check.step is Step.PRINTED:
            printed = label(self.t("printed"), "value")
            printed.setObjectName("subsidy-printed")
            parts.append(printed)
        elif check.step is Step.PRINT_FAILED:
            failed = label(self.t("print_failed") + "\n" + (getattr(check.advice, self.app.i18n.lang, "")
                                                           if check.advice else ""), "value")
            failed.setStyleSheet(f"color: {th.palette.error};")
            parts.append(failed)
        if check.status.can_certify:
            if check.can_certify_here:
                parts.append(label(self.t("certify_detail"), "value"))
                buttons.addWidget(primary(self.t("certify"), self.certify, name="subsidy-certify"))
            else:
                parts.append(label(self.t("certify_counter"), "value"))
        if s.certified_on is not None and check.step is not Step.PRINTED:
            buttons.addWidget((secondary if check.status.can_certify else primary)(
                self.t("print"), self.print, name="subsidy-print"))
        buttons.addWidget(secondary(self.t("common.done"), self.app.home, name="subsidy-done"))
        buttons.addStretch(1)
        panel = card(th, *parts)
        panel.layout().addLayout(buttons)
        return panel

    def _payments(self, check: SubsidyCheck) -> QWidget:
        th = self.theme
        box = card(th, label(self.t("payments"), "title"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(th.mm(6))
        grid.setVerticalSpacing(th.mm(2))
        for column, key in enumerate(("month", "amount", "status")):
            grid.addWidget(label(self.t(key), "muted"), 0, column)
        for row, payment in enumerate(check.status.payments, start=1):
            status = self.t(f"status_{payment.status}") if payment.status in ("paid", "pending", "withheld") \
                else payment.status
            grid.addWidget(label(payment.month), row, 0)
            grid.addWidget(label(self.t("money", amount=payment.amount)), row, 1)
            grid.addWidget(label(status), row, 2)
        box.layout().addLayout(grid)
        box.layout().addStretch(1)
        return box

    # -- screenshots ------------------------------------------------------------------------
    @classmethod
    def states(cls) -> list[ScreenState]:
        from kiosk.screenshots import DEMO_RESIDENT
        from kiosk.store.subsidy import Payment, SubsidyStatus

        payments = [Payment("2026-10", "300.00", "pending"), Payment("2026-09", "300.00", "paid"),
                    Payment("2026-08", "300.00", "paid"), Payment("2026-07", "300.00", "paid")]

        def state(step: Step, certified: bool, just: bool = False, record: str | None = "s-li"):
            def setup(screen: "SubsidyScreen") -> None:
                status = SubsidyStatus(record, True, 76, "300.00", 2026,
                                       date(2026, 11, 22) if certified else None,
                                       date(2027, 11, 22) if certified else date(2026, 3, 31), payments,
                                       date(2026, 11, 22))
                decision = {"matched": True, "liveness": "checked"}
                screen.check = SubsidyCheck(DEMO_RESIDENT, status, decision, step, just_certified=just)
                screen.refresh()
            return setup

        return [ScreenState("due", state(Step.STATUS, False), resident=True),
                ScreenState("certified", state(Step.CERTIFIED, True, True), resident=True),
                ScreenState("printed", state(Step.PRINTED, True, True), resident=True),
                ScreenState("not_listed", state(Step.NOT_LISTED, False, record=None), resident=True)]
