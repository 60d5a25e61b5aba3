"""Fixtures: one private cupsd per test session, a fresh fault queue per test, PDFs.

The cupsd is real (drivers.printer.sim); it skips with the reason when cupsd is not
installed, and fails under CI=true (tests.support.require).
"""
from __future__ import annotations

import io
import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from drivers.printer import Printer
from drivers.printer.sim import PrivateCups
from tests.support import require

WQY = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


@pytest.fixture
def pdf_printer(cupsd: PrivateCups) -> Printer:
    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    return Printer(cupsd.url(cupsd.pdf_queue))


@dataclass
class FaultQueue:
    """A fault queue of its own for one test."""

    sim: PrivateCups
    name: str
    printer: Printer

    def set(self, mode: str) -> None:
        self.sim.set_fault(mode, self.name)

    def output(self, job_id: int) -> Path:
        return self.sim.fault_out / f"{self.name}-job_{job_id}.pdf"

    def meta(self, job_id: int) -> dict[str, str]:
        text = (self.sim.fault_out / f"{self.name}-job_{job_id}.txt").read_text()
        return dict(line.split("=", 1) for line in text.splitlines())


_numbers = itertools.count(1)


@pytest.fixture
def fault(cupsd: PrivateCups) -> Iterator[FaultQueue]:
    # A fresh queue per test: reasons are sticky, and a stopped queue keeps its jobs.
    name = cupsd.add_fault_printer(f"fault-{next(_numbers)}")
    yield FaultQueue(cupsd, name, Printer(cupsd.url(name)))
    cupsd.run_tool("lpadmin", "-x", name)


def make_pdf(*lines: str, pages: int = 1) -> bytes:
    """A real PDF with text on each page (Chinese text when a CJK font is installed)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font = "Helvetica"
    if os.path.exists(WQY):
        if "WQY" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("WQY", WQY, subfontIndex=0))
        font = "WQY"
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for page in range(1, pages + 1):
        c.setFont(font, 14)
        for i, line in enumerate(lines):
            c.drawString(72, 760 - 24 * i, line)
        c.drawString(72, 72, f"page {page} of {pages}")
        c.showPage()
    c.save()
    return buf.getvalue()


def pdf_text(path: Path) -> str:
    return subprocess.run([_tool("pdftotext"), str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run([_tool("pdfinfo"), str(path)], capture_output=True, text=True,
                          check=True).stdout
    return int(next(ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")))


def _tool(name: str) -> str:
    path = shutil.which(name)
    require("poppler-utils", path is not None, f"{name} not found")
    return path  # type: ignore[return-value]


@pytest.fixture
def proof_pdf() -> bytes:
    return make_pdf("居住证明 Residence proof", "Serial KIOSK-0001", pages=2)
