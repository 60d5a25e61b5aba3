"""Scanning QR codes through the camera: the synthetic QR source end to end, and
the debounce rules on hand-made frames."""
import time

import numpy as np
import pytest

from drivers.camera import Camera, CameraGone
from drivers.scanner import FrameScanner, ScannerConfigError, health, open_scanner

from .pictures import qr_picture

BLANK = np.full((480, 640, 3), 200, np.uint8)


def test_synthetic_qr_yields_the_code_once():
    with open_scanner("synthetic://?fps=30&pattern=qr&text=PICKUP-L07-D12", hold=0.3) as scanner:
        code = scanner.read_code(3)
        assert code.text == "PICKUP-L07-D12" and code.source == "camera" and len(code.corners) == 4
        assert scanner.read_code(0.8) is None  # still in view: not again
        assert scanner.frames_decoded >= 5
        report = scanner.health()
        assert report.state == "ok" and report.data["decode_ms"] > 0


def test_code_set_at_run_time_and_shown_again_after_leaving():
    camera = Camera("synthetic://?fps=30").start()
    try:
        scanner = FrameScanner(camera, hold=0.3)
        assert scanner.read_code(0.3) is None  # colour bars only
        camera.source.show_code("WORKER-7f3a")
        assert scanner.read_code(3).text == "WORKER-7f3a"
        camera.source.show_code(None)
        time.sleep(0.6)  # out of view for longer than hold
        assert scanner.read_code(0.2) is None
        camera.source.show_code("WORKER-7f3a")
        assert scanner.read_code(3).text == "WORKER-7f3a"
        scanner.close()
        assert camera.running  # a camera passed in belongs to the caller
    finally:
        camera.stop()


def test_debounce_rules():
    scanner = FrameScanner(Camera("synthetic://"), hold=1.0)
    a, both = qr_picture("A-CODE", 4), np.hstack([qr_picture("A-CODE", 4, size=(480, 320)),
                                                  qr_picture("B-CODE", 4, size=(480, 320))])
    assert [c.text for c in scanner.scan_frame(a, at=0.0)] == ["A-CODE"]
    assert scanner.scan_frame(a, at=0.1) == []  # held in view
    assert scanner.scan_frame(BLANK, at=0.5) == []  # a missed frame (glare) …
    assert scanner.scan_frame(a, at=0.9) == []  # … is not leaving
    assert [c.text for c in scanner.scan_frame(both, at=1.0)] == ["B-CODE"]  # only the new one
    assert scanner.scan_frame(BLANK, at=1.5) == []
    assert sorted(c.text for c in scanner.scan_frame(both, at=2.6)) == ["A-CODE", "B-CODE"]  # gone > hold
    queued = [scanner.read_code(0).text for _ in range(4)]  # each new sighting, in order
    assert queued[:2] == ["A-CODE", "B-CODE"] and sorted(queued[2:]) == ["A-CODE", "B-CODE"]
    assert scanner.read_code(0) is None


def test_camera_outage_surfaces_as_camera_gone():
    camera = Camera("synthetic://?fps=60", fail_after=2, backoff=(0.05, 0.1)).start()
    try:
        scanner = FrameScanner(camera)
        camera.source.unplug()
        with pytest.raises(CameraGone):
            scanner.read_code(1.0)
        camera.source.replug()
        camera.source.show_code("BACK")
        assert scanner.read_code(3).text == "BACK"
    finally:
        camera.stop()


def test_camera_colon_shares_the_appliance_camera():
    camera = Camera("synthetic://?fps=30&pattern=qr&text=SHARED").start()
    try:
        scanner = open_scanner("camera:", camera=camera)
        assert scanner.read_code(3).text == "SHARED"
        scanner.close()
        assert camera.running  # still the kiosk's
    finally:
        camera.stop()
    with open_scanner("camera:", camera_url="synthetic://?fps=30&pattern=qr&text=OWN") as own:
        assert own.read_code(3).text == "OWN"
    with pytest.raises(ScannerConfigError) as info:
        open_scanner("camera:")
    assert "[camera]" in str(info.value)
    assert health("camera:").state == "down"
    assert health("camera://0?widht=1").state == "down"
