"""The kiosk imports without PySide6 keeping every module's source (kiosk.lightimports):
a new process imports the app and its journeys, and linecache holds none of them."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT

PROBE = """
import json, linecache, sys
import kiosk.app, kiosk.screens.residence, kiosk.screens.dropoff, reportlab.pdfgen.canvas
from kiosk import lightimports
print(json.dumps({"installed": lightimports.INSTALLED, "cached": sorted(linecache.cache)}))
"""


def test_importing_the_kiosk_caches_no_source():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["installed"], "PySide6's feature hook was not found: kiosk.lightimports needs a look"
    assert found["cached"] == [], found["cached"][:10]


def test_the_check_still_says_which_modules_use_pyside():
    import kiosk.app  # noqa: F401
    import kiosk.lightimports as light
    import kiosk.stall as uses
    import kiosk.session as plain

    assert light._uses_pyside(uses) is ("PySide6" in (ROOT / "kiosk" / "stall.py").read_text(encoding="utf-8"))
    assert light._uses_pyside(plain) is ("PySide6" in (ROOT / "kiosk" / "session.py").read_text(encoding="utf-8"))
    assert light._uses_pyside(sys) is False  # a built-in module has no file
