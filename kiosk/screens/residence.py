"""Residence proof: the pre-filled form, purpose and copies, the preview, print;
the printer's fault in plain words. The flow is :mod:`kiosk.flows.residence`.

Taps from the welcome: the purpose, 打印 (the copies default to one)."""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from kiosk.flows.preview import preview
from kiosk.flows.residence import PURPOSES, ResidenceProof, Step
from kiosk.screens.base import Screen, ScreenState, Tile
from kiosk.widgets import ErrorPanel, PaperPreview, card, choice, label, primary, rows, secondary


class ResidenceScreen(Screen):
    name = "residence"
    domain = "residence"
    tile = Tile("residence.tile", "residence.tile_hint", order=10, glyph="证")
    needs_identity = True

    def __init__(self, app) -> None:
        super().__init__(app)
        self.proof: ResidenceProof | None = None
        self.preview = None

    def enter(self, **params) -> None:
        resident = self.session.resident
        self.proof = None
        self.preview = None
        self.refresh()
        if resident is None:
            return
        devices, max_copies = self.app.devices, self.app.settings.max_copies

        def load():
            return ResidenceProof.start(resident, devices.households().member(resident.id_number),
                                        max_copies=max_copies)

        self.app.jobs.run(load, on_done=self._loaded, busy=self.t("common.working"), name="residence record")

    def _loaded(self, proof: ResidenceProof) -> None:
        self.proof = proof
        self.session.scratch["residence"] = proof
        self.refresh()

    def clear(self) -> None:
        self.proof = None
        self.preview = None

    # -- taps ----------------------------------------------------------------------
    def choose(self, purpose: str) -> None:
        assert self.proof is not None
        self.proof.choose_purpose(purpose)
        self._preview()

    def copies(self, n: int) -> None:
        assert self.proof is not None
        self.proof.set_copies(n)
        self.refresh()

    def _purpose_text(self) -> str:
        assert self.proof is not None and self.proof.purpose is not None
        return self.app.i18n.t(f"residence.purpose_{self.proof.purpose}", "zh")  # printed in Chinese

    def _preview(self) -> None:
        proof = self.proof
        office = None
        devices = self.app.devices
        data = proof.data(self._purpose_text())

        def work():
            return preview(devices.printing.office, "residence_proof", data, "zh")

        def show(result) -> None:
            self.preview = result
            self.refresh()

        self.refresh()
        self.app.jobs.run(work, on_done=show, name="residence preview")
        del office

    def print(self) -> None:
        proof = self.proof
        assert proof is not None
        printing, text = self.app.devices.printing, self._purpose_text()
        self.app.jobs.run(proof.print, printing, text, on_done=lambda _: self._printed(),
                          busy=self.t("printing"), name="residence print")

    def _printed(self) -> None:
        self.refresh()
        if self.proof is not None and self.proof.step is Step.PRINTED:
            self.app.voice.say("residence.printed_spoken")

    # -- the look ----------------------------------------------------------------------
    def render(self) -> QWidget:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setSpacing(self.theme.mm(4))
        proof = self.proof
        if proof is None:
            layout.addWidget(label(self.t("title"), "heading"))
            layout.addStretch(1)
            return body
        if proof.step is Step.NO_RECORD:
            self._panel(layout, self.t("no_record_title"), self.t("no_record_what"), self.t("no_record_next"))
        elif proof.step is Step.INCOMPLETE:
            self._panel(layout, self.t("incomplete_title"), self.t("incomplete_what"), self.t("incomplete_next"),
                        role="warn")
        elif proof.step is Step.PRINTED:
            self._render_printed(layout)
        elif proof.step is Step.FAILED:
            self._render_failed(layout)
        else:
            self._render_form(layout)
        return body

    def _panel(self, layout, title: str, what: str, next_steps: str, buttons=(), role: str = "error") -> None:
        layout.addStretch(1)
        layout.addWidget(ErrorPanel(self.theme, title, what, next_steps,
                                    [*buttons, secondary(self.t("common.home"), self.app.home,
                                                         name="residence-home")], role=role))
        layout.addStretch(2)

    def _render_form(self, layout: QVBoxLayout) -> None:
        th, proof = self.theme, self.proof
        assert proof is not None and self.session.resident is not None
        resident = self.session.resident
        layout.addWidget(label(self.t("title"), "heading"))
        row = QHBoxLayout()
        row.setSpacing(th.mm(8))
        left = QVBoxLayout()
        left.setSpacing(th.mm(4))
        details = rows(th, [(self.t("name"), resident.name), (self.t("id_number"), resident.masked_id),
                            (self.t("address"), proof.address),
                            (self.t("living_since"), proof.living_since.isoformat() if proof.living_since else "")])
        left.addWidget(card(th, label(self.t("checked"), "muted"), details))
        left.addWidget(label(self.t("purpose"), "title"))
        purposes = QHBoxLayout()
        purposes.setSpacing(th.mm(3))
        for index, purpose in enumerate(PURPOSES):
            if index == 3:
                left.addLayout(purposes)
                purposes = QHBoxLayout()
                purposes.setSpacing(th.mm(3))
            purposes.addWidget(choice(self.t(f"purpose_{purpose}"), lambda p=purpose: self.choose(p),
                                      checked=proof.purpose == purpose, name=f"purpose-{purpose}"), 1)
        left.addLayout(purposes)
        copies = QHBoxLayout()
        copies.setSpacing(th.mm(3))
        copies.addWidget(label(self.t("copies"), "title", wrap=False))
        for n in range(1, proof.max_copies + 1):
            copies.addWidget(choice(self.t("copies_n", n=n), lambda n=n: self.copies(n), checked=proof.copies == n,
                                    name=f"copies-{n}"))
        copies.addStretch(1)
        left.addLayout(copies)
        left.addStretch(1)
        actions = QHBoxLayout()
        button = primary(self.t("print"), self.print, name="residence-print")
        button.setStyleSheet(f"min-height: {th.mm(22)}px; min-width: {th.mm(90)}px;")
        button.setEnabled(proof.ready)
        actions.addWidget(button)
        if not proof.ready:
            actions.addWidget(label(self.t("choose_first"), "muted"))
        actions.addStretch(1)
        left.addLayout(actions)
        row.addLayout(left, 3)
        right = QVBoxLayout()
        right.addWidget(label(self.t("preview"), "muted"))
        if self.preview is not None and proof.purpose is not None:
            right.addWidget(PaperPreview(th, self.preview, height_mm=150))
        else:
            blank = label(self.t("choose_first"), align=Qt.AlignmentFlag.AlignCenter)
            blank.setFixedSize(round(th.mm(150) / 1.414), th.mm(150))
            blank.setStyleSheet(f"background: white; border: 2px dashed {th.palette.line}; color: {th.palette.muted};")
            right.addWidget(blank)
        right.addStretch(1)
        row.addLayout(right, 2)
        layout.addLayout(row, 1)

    def _render_printed(self, layout: QVBoxLayout) -> None:
        th, proof = self.theme, self.proof
        assert proof is not None
        layout.addStretch(1)
        done = label("✔ " + self.t("printed_title"), "huge")
        done.setObjectName("residence-printed")
        done.setStyleSheet(f"color: {th.palette.ok};")
        parts = [done, label(self.t("printed_detail", n=len(proof.serials)), "value"),
                 label(self.t("serials", serials="、".join(proof.serials)), "muted")]
        if proof.warning is not None:
            parts.append(label(self.t("warning", text=getattr(proof.warning, self.app.i18n.lang)), "muted"))
        panel = card(th, *parts)
        buttons = QHBoxLayout()
        buttons.addWidget(primary(self.t("common.done"), self.app.home, name="residence-done"))
        buttons.addStretch(1)
        panel.layout().addLayout(buttons)
        layout.addWidget(panel)
        layout.addStretch(2)

    def _render_failed(self, layout: QVBoxLayout) -> None:
        proof = self.proof
        assert proof is not None
        lang = self.app.i18n.lang
        what = getattr(proof.advice, lang) if proof.advice is not None else self.t("common.error_what")
        self._panel(layout, self.t("failed_title"), what, self.t("failed_next"),
                    [primary(self.t("common.try_again"), self.print, name="residence-retry")])

    # -- screenshots ----------------------------------------------------------------------
    @classmethod
    def states(cls) -> list[ScreenState]:
        from drivers.printer import Advice
        from kiosk.flows.preview import Preview
        from kiosk.screenshots import DEMO_RESIDENT

        def proof(**changes) -> ResidenceProof:
            p = ResidenceProof(DEMO_RESIDENT, address="和平里社区5号院2号楼102室", living_since=date(2010, 1, 5))
            for key, value in changes.items():
                setattr(p, key, value)
            return p

        sample = Preview("居住证明", ["兹证明李秀兰（公民身份号码：1101**********002X），自2010年1月5日起在本社区居住至今，"
                                      "现居住地址为和平里社区5号院2号楼102室。", "本证明用于子女入学。", "特此证明。"],
                         ["本证明仅证明居住事实，不作为房屋产权或户籍证明。"], [], "示范社区居民委员会")

        def state(p: ResidenceProof, with_preview: bool = False):
            def setup(screen: "ResidenceScreen") -> None:
                screen.proof, screen.preview = p, (sample if with_preview else None)
                screen.refresh()
            return setup

        return [ScreenState("form", state(proof()), resident=True),
                ScreenState("chosen", state(proof(purpose="school"), True), resident=True),
                ScreenState("printed", state(proof(step=Step.PRINTED, purpose="school", serials=["SF-2026-000123"])),
                            resident=True),
                ScreenState("failed", state(proof(step=Step.FAILED, purpose="school",
                                                  advice=Advice("打印机缺纸，请联系工作人员添纸",
                                                                "The printer is out of paper: ask staff to refill it"))),
                            resident=True),
                ScreenState("no_record", state(proof(step=Step.NO_RECORD)), resident=True),
                ScreenState("incomplete", state(proof(step=Step.INCOMPLETE)), resident=True)]
