"""The kiosk's look in one place: colours, the font, sizes, and what elderly mode
changes. Widgets never hard-code a colour or a pixel size: they ask the theme.

Sizes are in millimetres on the glass and turned into pixels with the configured
``[kiosk] dpi``: a touch target is at least ``TOUCH_MM`` (15 mm) however dense the
screen. Elderly mode (``[kiosk] elderly_scale``) scales text and targets; the
timeouts it slows are :class:`kiosk.session.Timeouts`' business.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

FONT_FAMILY = "WenQuanYi Zen Hei"  # fonts-wqy-zenhei: Chinese and Latin in one face
TOUCH_MM = 15.0


@dataclass(frozen=True)
class Palette:
    background: str = "#F4F6F9"
    surface: str = "#FFFFFF"
    ink: str = "#1A2433"  # body text: 13:1 on the background
    muted: str = "#4A5568"  # secondary text, still 7:1
    primary: str = "#B3261E"  # 中国红, the street office's colour: buttons that move on
    primary_ink: str = "#FFFFFF"
    primary_pressed: str = "#8C1D18"
    accent: str = "#1D4E89"  # header band, links, focus
    accent_ink: str = "#FFFFFF"
    line: str = "#C9D1DC"
    ok: str = "#1E7B34"
    warn: str = "#9A5B00"
    warn_surface: str = "#FFF4DC"
    error: str = "#B3261E"
    error_surface: str = "#FDECEA"
    strip: str = "#FFF8E1"  # the announcements strip


# The home screen's tiles, one colour each so a journey is found by colour too.
TILE_COLOURS = ("#B3261E", "#1D4E89", "#1E7B34", "#7A4A9E", "#B25E00", "#00767A", "#5A6270", "#A4336E")


@dataclass(frozen=True)
class Theme:
    dpi: float = 96.0
    scale: float = 1.0  # elderly mode: > 1
    palette: Palette = Palette()
    family: str = FONT_FAMILY

    def elderly(self, scale: float) -> "Theme":
        return replace(self, scale=scale)

    def normal(self) -> "Theme":
        return replace(self, scale=1.0)

    # -- units ---------------------------------------------------------------------
    def mm(self, millimetres: float) -> int:
        """Pixels for a length on the glass."""
        return round(millimetres / 25.4 * self.dpi)

    def pt(self, points: float) -> int:
        """A font size in pixels (Qt pixel sizes do not depend on the platform's DPI
        guess), scaled in elderly mode. 1 pt = 1/72 inch."""
        return round(points / 72 * self.dpi * self.scale)

    @property
    def touch(self) -> int:
        """The smallest touch target's side."""
        return max(self.mm(TOUCH_MM), round(self.mm(TOUCH_MM) * self.scale))

    @property
    def gap(self) -> int:
        return self.mm(4)

    # Text sizes: read from a step back (about 70 cm) on a 21.5" screen.
    @property
    def body(self) -> int:
        return self.pt(18)

    @property
    def small(self) -> int:
        return self.pt(14)

    @property
    def heading(self) -> int:
        return self.pt(30)

    @property
    def title(self) -> int:
        return self.pt(24)

    @property
    def huge(self) -> int:
        return self.pt(44)

    # -- the style sheet ---------------------------------------------------------------
    def stylesheet(self) -> str:
        p = self.palette
        radius = self.mm(2.5)
        return f"""
        QWidget {{ font-family: "{self.family}"; font-size: {self.body}px; color: {p.ink}; }}
        QMainWindow, QStackedWidget, QWidget#screen {{ background: {p.background}; }}
        QLabel[role="heading"] {{ font-size: {self.heading}px; font-weight: bold; }}
        QLabel[role="title"] {{ font-size: {self.title}px; font-weight: bold; }}
        QLabel[role="huge"] {{ font-size: {self.huge}px; font-weight: bold; }}
        QLabel[role="muted"] {{ color: {p.muted}; font-size: {self.small}px; }}
        QLabel[role="value"] {{ font-size: {self.title}px; }}
        QFrame[role="card"] {{ background: {p.surface}; border: 1px solid {p.line}; border-radius: {radius}px; }}
        QFrame[role="header"] {{ background: {p.accent}; }}
        QFrame[role="header"] QLabel {{ color: {p.accent_ink}; }}
        QFrame[role="strip"] {{ background: {p.strip}; border-top: 1px solid {p.line}; }}
        QFrame[role="error"] {{ background: {p.error_surface}; border: 2px solid {p.error}; border-radius: {radius}px; }}
        QFrame[role="warn"] {{ background: {p.warn_surface}; border: 2px solid {p.warn}; border-radius: {radius}px; }}
        QPushButton {{ min-height: {self.touch}px; min-width: {self.touch}px; border-radius: {radius}px;
                       padding: 0 {self.mm(6)}px; font-size: {self.title}px; }}
        QPushButton[role="primary"] {{ background: {p.primary}; color: {p.primary_ink}; border: none;
                                       font-weight: bold; }}
        QPushButton[role="primary"]:pressed {{ background: {p.primary_pressed}; }}
        QPushButton[role="primary"]:disabled {{ background: {p.line}; color: {p.muted}; }}
        QPushButton[role="secondary"] {{ background: {p.surface}; color: {p.accent};
                                         border: 2px solid {p.accent}; }}
        QPushButton[role="secondary"]:pressed {{ background: {p.line}; }}
        QPushButton[role="choice"] {{ background: {p.surface}; color: {p.ink}; border: 2px solid {p.line}; }}
        QPushButton[role="choice"]:checked {{ background: {p.accent}; color: {p.accent_ink};
                                              border-color: {p.accent}; font-weight: bold; }}
        QPushButton[role="header"] {{ background: transparent; color: {p.accent_ink};
                                      border: 2px solid {p.accent_ink}; font-size: {self.body}px; }}
        QPushButton[role="tile"] {{ border: none; border-radius: {self.mm(4)}px; color: white;
                                    font-size: {self.title}px; font-weight: bold; text-align: left;
                                    padding: {self.mm(5)}px; }}
        QLineEdit {{ min-height: {self.touch}px; font-size: {self.title}px; border: 2px solid {p.line};
                     border-radius: {radius}px; padding: 0 {self.mm(3)}px; background: {p.surface}; }}
        QProgressBar {{ min-height: {self.mm(3)}px; max-height: {self.mm(3)}px; border: none;
                        background: {p.line}; border-radius: {self.mm(1.5)}px; }}
        QProgressBar::chunk {{ background: {p.accent}; border-radius: {self.mm(1.5)}px; }}
        QTableWidget {{ background: {p.surface}; gridline-color: {p.line}; font-size: {self.body}px; }}
        QHeaderView::section {{ background: {p.background}; font-size: {self.small}px; padding: 6px; border: none; }}
        QPlainTextEdit {{ font-family: monospace; font-size: {self.small}px; background: {p.surface}; }}
        """
