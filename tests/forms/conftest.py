"""Fixtures for forms/: the shipped templates, a fixed key and time, issued
certificates, poppler and zbar as independent readers of what was rendered."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from appliance.keys import DeviceKey, TrustedKeys
from forms import stamp as stamps
from forms.fields import Filled, IssuerInfo, fill
from forms.render import DEFAULT_FONT, Look, render
from forms.stamp import Stamp
from forms.templates import Catalogue, Template
from tests.support import ROOT, require, require_program

TEMPLATES = ROOT / "assets" / "forms"
TEMPLATE_IDS = ["dropoff_receipt", "elderly_subsidy", "materials_checklist", "residence_proof"]
SEAL = str(TEMPLATES / "seal-demo.png")
BEIJING = timezone(timedelta(hours=8))
ISSUED = datetime(2025, 3, 1, 14, 5, 0, tzinfo=BEIJING)
ISSUER = IssuerInfo("示范社区居民委员会", "Shifan Community Residents' Committee", "示范社区")
DEVICE = "demo-kiosk-01"


@pytest.fixture(scope="session", autouse=True)
def cjk_font():
    require("fonts-wqy-zenhei", os.path.exists(DEFAULT_FONT),
            f"{DEFAULT_FONT} missing; apt-get install fonts-wqy-zenhei")


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue(TEMPLATES)


@pytest.fixture(scope="session")
def key() -> DeviceKey:
    return DeviceKey.from_seed(DEVICE, bytes(range(32)))


@pytest.fixture(scope="session")
def keys(key: DeviceKey) -> TrustedKeys:
    return TrustedKeys().with_key(DEVICE, key.public_key)


@dataclass(frozen=True)
class Issued:
    template: Template
    filled: Filled
    stamp: Stamp
    lang: str
    pdf: bytes


def issue(catalogue: Catalogue, key: DeviceKey, template_id: str, data: dict | None = None, *, lang: str = "zh",
          number: int = 42, issued_at: datetime = ISSUED, look: Look = Look(), id_mask: str = "middle") -> Issued:
    """A certificate rendered from fixed inputs: the same bytes every time."""
    template = catalogue.get(template_id)
    filled = fill(template, template.example() if data is None else data, issuer=ISSUER, id_mask=id_mask)
    stamp = stamps.make(key, template=template.id, number=number, canonical=filled.canonical(),
                        issued_at=issued_at, valid_days=template.spec.template.valid_days, salt=bytes(8))
    return Issued(template, filled, stamp, lang, render(template, filled, stamp, lang=lang, look=look))


@pytest.fixture
def issued(catalogue, key):
    def make(template_id: str, data: dict | None = None, **kwargs) -> Issued:
        return issue(catalogue, key, template_id, data, **kwargs)
    return make


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    tool = require_program("poppler-utils", "pdftotext")
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout.decode()


def squeeze(text: str) -> str:
    return "".join(text.split())


def to_png(pdf: bytes, out: Path, dpi: int = 110) -> Path:
    """The page as a PNG (poppler's pdftoppm), for zbarimg and for a person to look at."""
    tool = require_program("poppler-utils", "pdftoppm")
    out.parent.mkdir(parents=True, exist_ok=True)
    source = out.with_suffix(".pdf")
    source.write_bytes(pdf)
    subprocess.run([tool, "-r", str(dpi), "-png", "-singlefile", str(source), str(out.with_suffix(""))],
                   check=True, capture_output=True)
    return out


def zbar(png: Path) -> list[str]:
    """Every QR code zbarimg (an independent decoder) finds in an image."""
    tool = require_program("zbar-tools", "zbarimg")
    run = subprocess.run([tool, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)],
                         capture_output=True)
    require("zbarimg", run.returncode in (0, 4), run.stderr.decode(errors="replace"))
    return [line for line in run.stdout.decode().splitlines() if line]


def pdffonts(pdf: bytes, tmp_path: Path) -> list[dict[str, str]]:
    tool = require_program("poppler-utils", "pdffonts")
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([tool, str(path)], capture_output=True, check=True, text=True).stdout.splitlines()
    header = out[0]
    columns = ["name", "type", "encoding", "emb", "sub", "uni", "object", "id"]
    starts = [header.index(h) for h in ("name", "type", "encoding", "emb", "sub", "uni", "object ID")]
    rows = []
    for line in out[2:]:
        cells = [line[s:e].strip() for s, e in zip(starts, starts[1:] + [len(line)])]
        rows.append(dict(zip(columns, cells)))
    return rows
