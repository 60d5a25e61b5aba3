"""Only drivers/ imports pycups (DESIGN: folders and what they must not do)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from tests.support import ROOT

IMPORTS_CUPS = re.compile(r"^\s*(import cups\b|from cups\b)", re.M)
SKIP = {".venv", ".git", "build", "test-artifacts", "drivers", "__pycache__", "var"}


def test_only_drivers_import_pycups():
    offenders = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith(".")]
        for name in files:
            path = Path(folder, name)
            if name.endswith(".py") and IMPORTS_CUPS.search(path.read_text(errors="replace")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"pycups imported outside drivers/: {offenders}"
