"""Imports without PySide6's source cache (about 25 MiB of the kiosk's memory).

Once PySide6 is loaded, its ``__feature__`` support looks at every module imported
afterwards to see whether it uses PySide6, with ``inspect.getsource``: the whole
source of every module (the kiosk's, the standard library's, OpenCV's, reportlab's …)
then stays in :mod:`linecache` for the life of the process. :func:`install` replaces
that check with one that reads the file and keeps nothing, and drops what is cached
already. The answer is the same ("PySide6" in the source); the kiosk selects no
``__feature__`` anyway. Without the private hook (another PySide6) it does nothing.
Importing this module installs it (kiosk/app.py imports it before the rest of the
kiosk).
"""
from __future__ import annotations

import linecache
import sys

import PySide6.QtCore  # noqa: F401  (loads shiboken's feature support, the hook replaced here)


def _uses_pyside(module) -> bool:
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False
    try:
        with open(path, "rb") as source:
            return b"PySide6" in source.read()
    except OSError:
        return False


def install() -> bool:
    """True when the check was replaced (PySide6 loaded, its hook found)."""
    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = _uses_pyside
    linecache.clearcache()
    return True


INSTALLED = install()
