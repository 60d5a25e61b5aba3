"""The friendly error screen: what happened, what to do next, and the buttons to
do it. :meth:`kiosk.app.KioskApp.show_error` comes here for any background job that
failed without a screen of its own handling it."""
from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.errors import KioskError, explain
from kiosk.screens.base import Screen, ScreenState
from kiosk.widgets import ErrorPanel, primary, secondary


class ErrorScreen(Screen):
    name = "error"
    domain = "common"

    def __init__(self, app) -> None:
        super().__init__(app)
        self.explanation = None
        self.retry = None

    def enter(self, explanation=None, retry=None, **params) -> None:
        self.explanation, self.retry = explanation, retry
        self.refresh()

    def clear(self) -> None:
        self.explanation = self.retry = None

    def render(self) -> QWidget:
        body = QWidget()
        layout = QVBoxLayout(body)
        lang = self.app.i18n.lang
        exp = self.explanation or explain(RuntimeError("unknown"))
        buttons = []
        if self.retry is not None:
            buttons.append(primary(self.t("common.try_again"), self._retry, name="error-retry"))
        buttons.append(secondary(self.t("common.home"), self.app.home, name="error-home"))
        layout.addStretch(1)
        layout.addWidget(ErrorPanel(self.theme, exp.text("title", lang), exp.text("what", lang),
                                    exp.text("next", lang), buttons))
        layout.addStretch(2)
        return body

    def _retry(self) -> None:
        retry, self.retry = self.retry, None
        if retry is not None:
            retry()

    @classmethod
    def states(cls) -> list[ScreenState]:
        def printer(screen: "ErrorScreen") -> None:
            screen.enter(explanation=explain(KioskError("读卡器没有响应", "The card reader does not answer")),
                         retry=lambda: None)
        return [ScreenState("device", printer)]
