"""The kiosk's screens, one module each (STYLE: a screen shows state, forwards taps).

Every module in this package is imported at start-up (:func:`discover`); each
:class:`~kiosk.screens.base.Screen` subclass with a ``name`` registers itself. A new
journey adds its module here and its catalogue in ``assets/i18n/``: no list to edit.
"""
from __future__ import annotations

import importlib
import pkgutil

from kiosk.screens.base import Screen, ScreenState, Tile

__all__ = ["Screen", "ScreenState", "Tile", "discover"]


def discover() -> dict[str, type[Screen]]:
    """Import every screen module; the registered screens by name."""
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base" and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return dict(Screen.registry)
