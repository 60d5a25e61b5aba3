"""QR/barcode scanning: serial scanners (USB-CDC, RS-232) that send one code per
line, keyboard-wedge scanners (USB HID) that type one code per line, and QR codes
decoded from camera frames.

===============  ==============================================================
``codec``        the line protocol: framer and decoder (pure)
``reader``       :class:`CodeReader`: the wait for a code and the reopening with
                 back-off after an unplug, which both port scanners share
``device``       :class:`SerialScanner` over :class:`drivers.link.SerialLink`
``sim``          a serial scanner simulator on a pty, with faults
``wedge_codec``  Linux input events → codes, US layout, Enter ends a code (pure)
``wedge``        :class:`WedgeScanner`: a keyboard-wedge scanner's grabbed
                 ``/dev/input`` device, ``evdev://`` URLs
``wedge_sim``    a keyboard-wedge simulator writing input events on a pty
``qr``           :func:`decode_qr`: QR codes and their corners in one frame (pure)
``frames``       :class:`FrameScanner`: codes from a :class:`drivers.camera.Camera`, each once
``urls``         :func:`open_scanner` and :func:`health` from a configured URL
``scanned``      :class:`ScannedCode`, what every scanner yields
``errors``       the scanner's error tree
===============  ==============================================================
"""
from __future__ import annotations

import importlib
from typing import Any

from drivers.scanner.codec import LineCodec, LineFormat, decode_line, encode_line
from drivers.scanner.device import SerialScanner
from drivers.scanner.errors import (BadCode, BadFrame, ScannerConfigError, ScannerError, ScannerGone,
                                    ScannerUnavailable)
from drivers.scanner.scanned import ScannedCode
from drivers.scanner.wedge import WedgeScanner

# These pull in OpenCV and numpy (~0.15 s): loaded on first use, so the simulator and
# a serial-only locker start without them.
_CAMERA_SIDE = {"FrameScanner": "frames", "QRCode": "qr", "decode_qr": "qr", "Scanner": "urls",
                "health": "urls", "is_camera_url": "urls", "line_format": "urls", "open_scanner": "urls"}


def __getattr__(name: str) -> Any:
    module = _CAMERA_SIDE.get(name)
    if module is None:
        raise AttributeError(f"module 'drivers.scanner' has no attribute {name!r}")
    return getattr(importlib.import_module(f"drivers.scanner.{module}"), name)


__all__ = ["LineCodec", "LineFormat", "decode_line", "encode_line", "SerialScanner", "WedgeScanner", "ScannedCode",
           "ScannerError", "ScannerConfigError", "ScannerUnavailable", "ScannerGone", "BadCode", "BadFrame",
           *_CAMERA_SIDE]
