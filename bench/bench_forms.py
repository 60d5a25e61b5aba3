"""Certificates: warm render of a residence proof against a bare reportlab canvas, sign + QR.

Warm: the font is registered and the template loaded (the kiosk does that at
start-up); each render is a whole PDF from data, seal image and QR included. The
baseline is a bare reportlab canvas drawing the same lines of text (taken from the
rendered page with pdftotext) and the same QR matrix, in the same run.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from appliance.config import ROOT
from appliance.keys import DeviceKey, TrustedKeys
from bench.figures import Figure, p50
from forms import qr
from forms import stamp as stamps
from forms.fields import IssuerInfo, fill
from forms.render import Look, draw_qr, load_font, render
from forms.templates import Catalogue
from forms.verify import verify_code

RUNS = 60
ISSUER = IssuerInfo("示范社区居民委员会", "Shifan Community Residents' Committee", "示范社区")


def _times(fn, runs: int = RUNS) -> list[float]:
    for _ in range(5):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _paired(a, b, runs: int = RUNS) -> tuple[list[float], list[float]]:
    for _ in range(5):
        a(), b()
    ta, tb = [], []
    for _ in range(runs):
        for fn, out in ((a, ta), (b, tb)):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
    return ta, tb


def _page_lines(pdf: bytes) -> list[str]:
    tool = shutil.which("pdftotext")
    if tool is None:
        raise SystemExit("pdftotext is missing (Debian package poppler-utils)")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "p.pdf")
        with open(path, "wb") as file:
            file.write(pdf)
        text = subprocess.run([tool, "-enc", "UTF-8", path, "-"], capture_output=True, check=True).stdout.decode()
    return [line for line in text.splitlines() if line.strip()]


def run() -> list[Figure]:
    catalogue = Catalogue(ROOT / "assets" / "forms")
    template = catalogue.get("residence_proof")
    filled = fill(template, template.example(), issuer=ISSUER)
    key = DeviceKey.from_seed("demo-kiosk-01", bytes(32))
    issued_at = datetime(2025, 3, 1, 14, 5, tzinfo=timezone(timedelta(hours=8)))
    stamp = stamps.make(key, template=template.id, number=42, canonical=filled.canonical(), issued_at=issued_at,
                        valid_days=90)
    look = Look(seal_image=str(ROOT / "assets" / "forms" / "seal-demo.png"))
    font = load_font(look.font)

    lines = _page_lines(render(template, filled, stamp, look=look))

    def bare() -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1, initialFontName=font.name)
        for i, line in enumerate(lines):
            canvas.setFont(font.name, 14)
            canvas.drawString(25 * mm, A4[1] - 40 * mm - i * 9 * mm, line)
        draw_qr(canvas, qr.encode(stamp.text.encode("ascii")), 25 * mm, 26 * mm, 30 * mm)
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    # Interleaved, so that a noisy neighbour slows both sides alike.
    ours, baseline = _paired(lambda: render(template, filled, stamp, look=look), bare)
    plain = _times(lambda: render(template, filled, stamp))

    def sign_and_encode() -> None:
        made = stamps.make(key, template=template.id, number=43, canonical=filled.canonical(), issued_at=issued_at,
                           valid_days=90)
        qr.encode(made.text.encode("ascii"))

    signing = _times(sign_and_encode, 200)
    keys = TrustedKeys().with_key("demo-kiosk-01", key.public_key)
    checking = _times(lambda: verify_code(stamp.text, keys, canonical=filled.canonical()), 200)

    render_p50, base_p50 = p50(ours), p50(baseline)
    return [
        Figure("warm render, residence proof with seal and QR (p50)", render_p50, "ms", "<= 30 ms",
               render_p50 <= 30, base_p50, note="ratio target <= 2"),
        Figure("render / bare canvas, same text and QR", render_p50 / base_p50, "x", "<= 2",
               render_p50 / base_p50 <= 2),
        Figure("warm render, residence proof, empty seal slot (p50)", p50(plain), "ms"),
        Figure("sign + encode QR (p50)", p50(signing), "ms", "<= 5 ms", p50(signing) <= 5),
        Figure("verify a code and its content (p50)", p50(checking), "ms"),
    ]
