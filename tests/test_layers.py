"""The layer rules of DESIGN.md, checked on every module's imports.

Only kiosk/ imports PySide6; only drivers/ imports pyserial, pyscard, pycups and
cv2's capture; drivers/ knows nothing of residents, cases or UI; forms/ neither
prints nor talks to a network; locker/ and sync/ never import Qt."""
import ast
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGES = ["appliance", "drivers", "forms", "locker", "kiosk", "sync"]

# top-level module -> the only packages allowed to import it
ONLY_IN = {
    "PySide6": {"kiosk"},
    "qasync": {"kiosk"},
    "serial": {"drivers"},
    "smartcard": {"drivers"},
    "cups": {"drivers"},
}
# package -> our packages it must not import
MUST_NOT = {
    "drivers": {"kiosk", "locker", "sync", "forms"},
    "forms": {"kiosk", "locker", "drivers", "requests"},
    "locker": {"kiosk"},
    "sync": {"kiosk"},
    "appliance": {"kiosk", "locker", "sync", "forms"},
}


def modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


def imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def test_import_rules():
    broken = []
    for package, path in modules():
        for top, line in imports(path):
            allowed = ONLY_IN.get(top)
            if allowed is not None and package not in allowed:
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {top} (only {', '.join(sorted(allowed))}/ may)")
            if top in MUST_NOT.get(package, ()):
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {top} ({package}/ must not)")
    assert not broken, "\n".join(broken)


def test_only_drivers_open_cameras():
    offenders = [str(p.relative_to(ROOT)) for pkg, p in modules()
                 if pkg != "drivers" and "VideoCapture" in p.read_text(encoding="utf-8")]
    assert not offenders


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_says_what_it_owns(package):
    init = ROOT / package / "__init__.py"
    assert init.exists() and ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), \
        f"{package}/__init__.py needs a docstring saying what the package owns"
