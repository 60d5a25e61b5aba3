"""The band at the top of every screen: the community's name, the time, the
language switch (中文 / English), elderly mode and, away from home, 返回首页."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton

from kiosk.i18n import Catalogue
from kiosk.theme import Theme
from kiosk.widgets.label import label

WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


class Header(QFrame):
    def __init__(self, theme: Theme, i18n: Catalogue, community: str, *, on_language: Callable[[], None],
                 on_elderly: Callable[[], None], on_home: Callable[[], None]) -> None:
        super().__init__()
        self.setProperty("role", "header")
        self.i18n = i18n
        self.community_name = community
        self.setFixedHeight(theme.touch + theme.mm(6))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(theme.mm(6), theme.mm(3), theme.mm(6), theme.mm(3))
        layout.setSpacing(theme.mm(4))
        self.community = label(community, "title", wrap=False)
        self.clock = label("", "title", wrap=False)
        self.home = self._button("header-home", on_home)
        self.elderly = self._button("header-elderly", on_elderly)
        self.elderly.setCheckable(True)
        self.language = self._button("header-language", on_language)
        layout.addWidget(self.community)
        layout.addStretch(1)
        layout.addWidget(self.clock)
        layout.addSpacing(theme.mm(6))
        layout.addWidget(self.home)
        layout.addWidget(self.elderly)
        layout.addWidget(self.language)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.tick)
        self._timer.start(1000)
        self.now: Callable[[], datetime] = datetime.now
        self.retranslate()

    def _button(self, name: str, on_click: Callable[[], None]) -> QPushButton:
        button = QPushButton()
        button.setProperty("role", "header")
        button.setObjectName(name)
        button.clicked.connect(lambda checked=False: on_click())
        return button

    def retranslate(self, *, elderly: bool = False, at_home: bool = True) -> None:
        t = self.i18n.t
        self.home.setText(t("common.home"))
        self.home.setVisible(not at_home)
        self.elderly.setText(t("common.elderly_off") if elderly else t("common.elderly_on"))
        self.elderly.setChecked(elderly)
        # The switch names the OTHER language in that language: a resident who
        # cannot read the current one still finds it.
        self.language.setText("English" if self.i18n.lang == "zh" else "中文")
        self.tick()

    def tick(self) -> None:
        now = self.now()
        if self.i18n.lang == "zh":
            text = f"{now.month}月{now.day}日 星期{WEEKDAYS['zh'][now.weekday()]}  {now:%H:%M}"
        else:
            text = f"{WEEKDAYS['en'][now.weekday()]} {now:%d %b}  {now:%H:%M}"
        self.clock.setText(text)
