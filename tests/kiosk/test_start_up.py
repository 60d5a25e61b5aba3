"""What home needs at start-up, and no more: the journeys' heavy modules (the case
store on sqlite_utils, the locker codes on cryptography, the sync agent on requests)
load in the warm-up job or on first use; the screen registry still finds every screen."""
from __future__ import annotations

import json
import subprocess
import sys

from appliance.config import load
from kiosk.store.content import SyncedContent
from sync.agent.agent import state_path_for
from tests.support import ROOT

PROBE = """
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
app = QApplication([])
from appliance.config import load
from kiosk.app import KioskApp
window = KioskApp(load("assets/appliance.toml", check_devices=False))
window.show()
app.processEvents()
heavy = [m for m in ("sqlite_utils", "kiosk.store.cases", "locker.codes", "cryptography", "sync.agent.agent",
                     "requests", "kiosk.flows.dropoff") if m in sys.modules]
print(json.dumps({"home": window.navigator.current.name, "screens": sorted(window.navigator.screens),
                  "heavy": heavy}))
window.shutdown()
"""


def test_home_shows_without_the_journeys_heavy_modules_and_every_screen_is_registered():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["home"] == "home"
    assert {"dropoff", "pickup", "progress", "report", "residence", "subsidy", "guide", "identify"} <= set(seen["screens"])
    assert seen["heavy"] == [], f"imported before home showed: {seen['heavy']}"


def test_the_synced_content_file_is_the_one_the_sync_agent_writes(tmp_path):
    config = load(ROOT / "assets" / "appliance.toml", check_devices=False)
    assert SyncedContent.for_config(config).path == state_path_for(config.store_path)
