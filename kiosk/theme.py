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
# Tints by number (``tint`` property): the tiles' colours, then two more for the report's discs.
TINTS = TILE_COLOURS + ("#2E7D32", "#4A5568")
# The heights of the journeys' tall buttons (``tall`` property, kiosk.screens._journey.tall), mm.
TALL_MM = (18, 20, 28, 30)


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
                                    padding: {self.mm(5)}px; min-height: {self.mm(44)}px; }}
        QLineEdit {{ min-height: {self.touch}px; font-size: {self.title}px; border: 2px solid {p.line};
                     border-radius: {radius}px; padding: 0 {self.mm(3)}px; background: {p.surface}; }}
        QProgressBar {{ min-height: {self.mm(3)}px; max-height: {self.mm(3)}px; border: none;
                        background: {p.line}; border-radius: {self.mm(1.5)}px; }}
        QProgressBar::chunk {{ background: {p.accent}; border-radius: {self.mm(1.5)}px; }}
        QTableWidget {{ background: {p.surface}; gridline-color: {p.line}; font-size: {self.body}px; }}
        QHeaderView::section {{ background: {p.background}; font-size: {self.small}px; padding: 6px; border: none; }}
        QPlainTextEdit {{ font-family: monospace; font-size: {self.small}px; background: {p.surface}; }}
        """ + self._pieces()

    def _pieces(self) -> str:
        """The journeys' shared pieces (kiosk/screens/_journey.py, the case cards), looked
        up by role and tone here rather than a style sheet each: a widget with a sheet of
        its own is polished again, with all its children, every time it changes parent,
        and a screen is built inside out (a 20-key pad went through three parents)."""
        p = self.palette
        tones = {"ok": p.ok, "warn": p.warn, "error": p.error, "accent": p.accent, "primary": p.primary,
                 "muted": p.muted, "line": p.line}
        dot, badge = self.dot, self.badge
        sheet = [
            # a word in a colour (a result, a warning) and a round badge (a step, ✓ or !)
            *(f'QLabel[tone="{name}"] {{ color: {colour}; }}' for name, colour in tones.items()),
            f'QLabel[role="dot"] {{ color: white; border-radius: {dot // 2}px; font-size: {self.body}px;'
            f' font-weight: bold; background: {p.line}; }}',
            f'QLabel[role="badge"] {{ color: white; border-radius: {badge // 2}px; font-size: {self.huge}px;'
            f' font-weight: bold; }}',
            *(f'QLabel[role="dot"][tone="{name}"], QLabel[role="badge"][tone="{name}"] {{ background: {tones[name]};'
              f' color: white; }}' for name in ("ok", "primary", "accent", "error")),
            # the numbered steps of a journey and a case's road: bars, done in green
            f'QFrame[role="bar"] {{ background: {p.line}; border-radius: {self.mm(1)}px; }}',
            f'QFrame[role="bar"][tone="ok"] {{ background: {p.ok}; }}',
            f'QLabel[role="step"] {{ color: {p.muted}; font-size: {self.body}px; }}',
            f'QLabel[role="step"][tone="here"] {{ color: {p.ink}; font-weight: bold; }}',
            # panels: a notice (warn, error, ok) and the big bordered ones (a door, a result)
            f'QFrame[role="ok"] {{ background: #E8F5EC; border: 2px solid {p.ok};'
            f' border-radius: {self.mm(2.5)}px; }}',
            *(f'QFrame[role="panel"][tone="{name}"] {{ background: {p.surface}; border: 3px solid {tones[name]};'
              f' border-radius: {self.mm(4)}px; }}' for name in ("ok", "accent", "error")),
            f'QFrame[role="panel"][tone="door"] {{ background: {p.surface}; border: 4px solid {p.ok};'
            f' border-radius: {self.mm(4)}px; }}',
            f'QLabel[role="door"] {{ color: {p.ok}; font-size: {round(self.huge * 1.6)}px; font-weight: bold; }}',
            # digit and letter pads, the boxes of a code typed so far
            f'QWidget[role="digitpad"] QPushButton[digit="true"] {{ font-size: {self.heading}px; font-weight: bold; }}',
            f'QWidget[role="letterpad"] QPushButton[key="true"] {{ font-size: {self.title}px; font-weight: bold; }}',
            f'QWidget[role="digitpad"] QPushButton:disabled, QWidget[role="letterpad"] QPushButton:disabled'
            f' {{ color: {p.line}; border-color: {p.line}; }}',
            f'QLabel[role="codebox"] {{ background: {p.surface}; border: 3px solid {p.line};'
            f' border-radius: {self.mm(2)}px; font-size: {self.huge}px; font-weight: bold; color: {p.ink}; }}',
            f'QLabel[role="codebox"][next="true"] {{ border-color: {p.accent}; }}',
            # a big white item button: a title, a muted line, a mark (☑) and a side text
            f'QLabel[role="item-title"] {{ color: {p.ink}; font-size: {self.title}px; font-weight: bold; }}',
            f'QLabel[role="item-hint"] {{ color: {p.muted}; font-size: {self.small}px; }}',
            f'QLabel[role="item-side"] {{ color: {p.muted}; font-size: {self.body}px; }}',
            f'QLabel[role="item-mark"] {{ color: {p.ink}; font-size: {self.heading}px; }}',
            f'QLabel[role="item-title"][on="true"], QLabel[role="item-hint"][on="true"],'
            f' QLabel[role="item-side"][on="true"], QLabel[role="item-mark"][on="true"] {{ color: {p.accent_ink}; }}',
            # a case card: its kind and its state as chips
            f'QLabel[role="tag"] {{ background: {p.background}; color: {p.muted}; border: 1px solid {p.line};'
            f' border-radius: {self.mm(1.5)}px; padding: 2px {self.mm(2)}px; font-size: {self.small}px; }}',
            f'QLabel[role="chip"] {{ color: white; border-radius: {self.mm(2)}px; padding: {self.mm(1)}px'
            f' {self.mm(3)}px; font-size: {self.body}px; font-weight: bold; background: {p.accent}; }}',
            *(f'QLabel[role="chip"][tone="{name}"] {{ background: {tones[name]}; }}'
              for name in ("primary", "ok", "warn")),
            # the home screen's tiles, a colour each
            *(f'QPushButton[role="tile"][tint="{index}"] {{ background: {colour}; }}'
              for index, colour in enumerate(TILE_COLOURS)),
            'QPushButton[role="tile"]:pressed { background: #333; }',
            f'QLabel[role="tile-glyph"] {{ color: rgba(255,255,255,0.9); font-size: {self.huge}px;'
            f' font-weight: bold; }}',
            f'QLabel[role="tile-title"] {{ color: white; font-size: {self.title}px; font-weight: bold; }}',
            f'QLabel[role="tile-hint"] {{ color: rgba(255,255,255,0.92); font-size: {self.small}px; }}',
            # tall buttons, and discs of a tint (a report's categories)
            *(f'QPushButton[tall="{mm}"] {{ min-height: {self.tall(mm)}px; max-height: {self.tall(mm)}px; }}'
              for mm in TALL_MM),
            f'QLabel[role="disc"] {{ color: white; border-radius: {self.disc // 2}px; font-size: {self.title}px;'
            f' font-weight: bold; }}',
            *(f'QLabel[role="disc"][tint="{index}"] {{ background: {colour}; }}' for index, colour in enumerate(TINTS)),
            f'QLabel[role="disc-title"] {{ font-size: {self.title}px; font-weight: bold; }}',
            # a list that scrolls over the screen's background
            'QScrollArea[role="list"], QScrollArea[role="list"] > QWidget > QWidget { background: transparent; }',
        ]
        return "\n".join(sheet)

    def tall(self, millimetres: float) -> int:
        """A tall button's height: scaled in elderly mode, never under the touch size."""
        return max(self.touch, round(self.mm(millimetres) * self.scale))

    @property
    def disc(self) -> int:
        """A report category's round glyph."""
        return round(self.mm(16) * self.scale)

    @property
    def dot(self) -> int:
        """A journey step's round number."""
        return self.mm(11)

    @property
    def badge(self) -> int:
        """The big ✓ or ! of a result."""
        return self.mm(26)
