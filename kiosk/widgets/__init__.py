"""The kiosk's widgets: built from the theme, never from hard-coded sizes or colours.

================  ================================================================
``label``         :func:`label` with a role (heading, title, muted, value, huge)
``buttons``       :func:`primary`, :func:`secondary`, :func:`choice` (≥ 15 mm targets)
``tile``          :class:`BigTile`: a home-screen journey tile
``header``        :class:`Header`: community, clock, 中文/English, 长者模式, 返回首页
``strip``         :class:`AnnouncementStrip`: the synced announcements, one at a time
``overlays``      :class:`BusyOverlay` (progress), :class:`CountdownOverlay` (idle)
``alerts``        :class:`AlertBanner`: the locker's alerts over any screen
``keyboard``      :class:`~kiosk.widgets.keyboard.OnScreenKeyboard`: pinyin, letters
                  and digits for a text box tapped (imported where used)
``panels``        :func:`card`, :class:`ErrorPanel` (what happened, what to do next),
                  :func:`rows` (label/value pairs)
``camera``        :class:`CameraView`: frames as a QImage in a QLabel
================  ================================================================
"""
from kiosk.widgets.alerts import AlertBanner, AlertRow
from kiosk.widgets.buttons import choice, primary, secondary
from kiosk.widgets.camera import CameraView
from kiosk.widgets.header import Header
from kiosk.widgets.keypad import Keypad
from kiosk.widgets.label import label
from kiosk.widgets.overlays import BusyOverlay, CountdownOverlay
from kiosk.widgets.panels import ErrorPanel, card, rows
from kiosk.widgets.paper import PaperPreview
from kiosk.widgets.strip import AnnouncementStrip
from kiosk.widgets.tile import BigTile

__all__ = ["AlertBanner", "AlertRow", "AnnouncementStrip", "BigTile", "BusyOverlay", "CameraView", "CountdownOverlay", "ErrorPanel",
           "Header", "Keypad", "PaperPreview", "card", "choice", "label", "primary", "rows", "secondary"]
