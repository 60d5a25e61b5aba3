"""What every screen is: a :class:`Screen` shows a flow's state and forwards taps.

A screen subclass sets ``name`` (unique), ``domain`` (its catalogue file in
``assets/i18n/``), optionally a home ``tile`` and ``needs_identity``, and writes
:meth:`render`, which builds the body for the current state from scratch. Anything
that changes what is shown calls :meth:`refresh`; a language or elderly-mode switch
refreshes every screen. Screens register themselves by being defined in a module
of :mod:`kiosk.screens` (discovered at start-up), and list their screenshot states
in :meth:`states`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from kiosk.app import KioskApp


@dataclass(frozen=True)
class Tile:
    """A home-screen tile leading to a screen."""

    title: str  # catalogue key
    hint: str  # catalogue key
    order: int  # tiles sort by it: 10, 20, 30 …
    glyph: str = ""  # one big character on the tile (证, 补, 指 …)


@dataclass(frozen=True)
class ScreenState:
    """One state of a screen for ``python -m kiosk --screenshot``: ``setup(screen)``
    puts it there with fictional data; ``resident`` identifies the demo resident
    first (a screen that needs one)."""

    name: str
    setup: Callable[["Screen"], None]
    resident: bool = False


class Screen(QWidget):
    name: ClassVar[str] = ""
    domain: ClassVar[str] = "common"
    tile: ClassVar[Tile | None] = None
    needs_identity: ClassVar[bool] = False  # going there asks for the card and face first
    registry: ClassVar[dict[str, type["Screen"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in Screen.registry and Screen.registry[cls.name] is not cls:
                other = Screen.registry[cls.name]
                if other.__qualname__ != cls.__qualname__ or other.__module__ != cls.__module__:
                    raise TypeError(f"two screens named {cls.name!r}: {other.__module__} and {cls.__module__}")
            Screen.registry[cls.name] = cls

    def __init__(self, app: "KioskApp") -> None:
        super().__init__()
        self.app = app
        self.setObjectName("screen")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(app.theme.mm(12), app.theme.mm(8), app.theme.mm(12), app.theme.mm(6))
        self._body: QWidget | None = None

    # -- helpers -------------------------------------------------------------------
    @property
    def theme(self):
        return self.app.theme

    @property
    def session(self):
        return self.app.session

    def t(self, key: str, **values: object) -> str:
        """A catalogue text; a key without a dot is in this screen's domain."""
        return self.app.i18n.t(key if "." in key else f"{self.domain}.{key}", **values)

    # -- lifecycle (the navigator calls these) -----------------------------------------
    def enter(self, **params: Any) -> None:
        """The screen is shown; ``params`` are what :meth:`KioskApp.go` was given."""
        self.refresh()

    def leave(self) -> None:
        """The screen is hidden."""

    def clear(self) -> None:
        """The session ended: forget everything about the resident this screen holds."""

    def render(self) -> QWidget:
        raise NotImplementedError

    def refresh(self) -> None:
        """Throw the body away and build it again from the current state."""
        body = self.render()
        if self._body is not None:
            self._layout.removeWidget(self._body)
            self._body.hide()
            self._body.deleteLater()
        self._body = body
        self._layout.addWidget(body)

    def discard(self) -> None:
        """Throw the body away (the session ended: what it showed was personal)."""
        if self._body is not None:
            self._layout.removeWidget(self._body)
            self._body.hide()
            self._body.setParent(None)
            self._body.deleteLater()
            self._body = None

    @classmethod
    def available(cls, app) -> bool:
        """Whether this kiosk offers the journey (home shows its tile only then)."""
        return True

    @classmethod
    def states(cls) -> list[ScreenState]:
        return [ScreenState("default", lambda screen: screen.enter())]
