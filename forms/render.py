"""Rendering: a template, its checked data and a signed stamp → the bytes of a
one-page A4 PDF. A pure function of its inputs (and the font and seal files):
reportlab's invariant mode fixes the dates and document id, so the same inputs give
the same bytes, and golden tests hold.

The page, top to bottom: a double frame; the serial (top right); the title; the body
blocks of the template's language; then the footer: the verification QR with its
captions on one side, on the other the seal slot above the issuer's name and the
issue date; a line of fine print at the bottom.

The CJK font is a TrueType file embedded (subset) in every PDF: reportlab's built-in
CID fonts are not embedded and print as boxes where the printer has no CJK font, and
Noto CJK is CFF, which reportlab cannot embed. The default is WenQuanYi Zen Hei from
the Debian package fonts-wqy-zenhei.

Each PDF also carries its certificate record as XMP metadata (an uncompressed XML
packet, found by scanning the bytes): the code, the template and its fingerprint,
the language, the local issue time and the canonical printed data. ``verify FILE.pdf``
checks the data against the code's digest; see :mod:`forms.verify`.
"""
from __future__ import annotations

import copy
import html
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFDictionary, PDFImageXObject, PDFName, PDFStream
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas, _digester

from forms import layout, qr
from forms.errors import DataError, FontMissing, LayoutError
from forms.fields import Filled, format_date
from forms.schema import BlockSpec
from forms.stamp import Stamp
from forms.templates import Template

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
FONT_PACKAGE = "fonts-wqy-zenhei"
XMP_NAMESPACE = "https://community-kiosk.org/ns/certificate/1/"

PAGE_W, PAGE_H = A4
MARGIN_X = 25 * mm
BODY_TOP = PAGE_H - 64 * mm
GREY = Color(0.38, 0.38, 0.38)
LIGHT = Color(0.62, 0.62, 0.62)
RULE = Color(0.55, 0.12, 0.12)  # the frame: a dark red, as on printed certificates
FILL = Color(0.93, 0.93, 0.93)

LABELS = {
    "zh": {"serial": "编号：", "scan": "扫码核验真伪", "valid_until": "有效期至", "seal": "盖章处",
           "colon": "：", "fine_print": "本件由社区事务一体机自助打印，扫描二维码可核验真伪，涂改无效。"},
    "en": {"serial": "No. ", "scan": "Scan to verify", "valid_until": "Valid until", "seal": "Seal",
           "colon": ": ", "fine_print": "Printed at a community self-service kiosk. Scan the QR code to check "
                                        "it is genuine; altered copies are void."},
}


@dataclass(frozen=True)
class Look:
    """How this appliance's certificates look: from ``[forms]`` in its configuration."""

    font: str = DEFAULT_FONT
    seal_image: str = ""  # a PNG with transparency; "" draws an empty circle to stamp in
    verify_url: str = ""  # a prefix for the QR's text, so that a phone opens the verify page


@dataclass(frozen=True)
class Font:
    name: str  # as registered with reportlab
    path: str
    widths: dict[int, float]  # per code point, in 1/1000 em
    default_width: float
    glyphs: frozenset[int]

    def measure(self, text: str, size: float) -> float:
        widths, default = self.widths, self.default_width
        return sum(widths.get(ord(ch), default) for ch in text) * size / 1000

    def missing(self, text: str) -> str:
        """The first character of ``text`` the font has no glyph for ("" if none)."""
        for ch in text:
            if ord(ch) not in self.glyphs and ch not in " \u3000":
                return ch
        return ""


@lru_cache(maxsize=4)
def load_font(path: str) -> Font:
    """Register a TrueType (or .ttc) font with reportlab, once per process."""
    if not os.path.exists(path):
        raise FontMissing(f"the CJK font {path} is missing",
                          hint=f"install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE}), "
                               "or point [forms] font at a TrueType CJK font")
    name = "CertificateFont-" + os.path.basename(path).split(".")[0]
    try:
        font = TTFont(name, path, subfontIndex=0)
    except (TTFError, OSError, ValueError) as exc:
        raise FontMissing(f"{path} is not a TrueType font reportlab can embed ({exc})",
                          hint=f"use {DEFAULT_FONT} from the Debian package {FONT_PACKAGE}; "
                               "Noto CJK fonts are CFF, which reportlab refuses") from None
    pdfmetrics.registerFont(font)
    face = font.face
    return Font(name, path, dict(face.charWidths), float(face.defaultWidth), frozenset(face.charToGlyph))


@dataclass(frozen=True)
class _SealImage:
    """A seal image encoded for PDF once per process: decoding and compressing a PNG
    with transparency costs more than the whole rest of a certificate."""

    image: PDFImageXObject
    mask: PDFImageXObject | None

    def draw(self, canvas: Canvas, x: float, y: float, side: float) -> None:
        # What Canvas.drawImage does, with the encoded objects copied in (reportlab
        # keeps no cache across documents). Same objects, same names, same bytes.
        doc = canvas._doc
        image = copy.copy(self.image)
        name = doc.getXObjectName(image.name)
        canvas._setXObjects(image)
        doc.Reference(image, name)
        doc.addForm(image.name, image)
        if self.mask is not None:
            mask = copy.copy(self.mask)
            canvas._setXObjects(mask)
            image.smask = doc.Reference(mask, doc.getXObjectName(mask.name))
        scale = side / max(image.width, image.height)
        width, height = image.width * scale, image.height * scale
        canvas.saveState()
        canvas.translate(x + (side - width) / 2, y + (side - height) / 2)
        canvas.scale(width, height)
        canvas._code.append(f"/{name} Do")
        canvas.restoreState()
        canvas._formsinuse.append(image.name)
        canvas._currentPageHasImages = 1


@lru_cache(maxsize=4)
def _seal(path: str, mtime_ns: int = 0) -> _SealImage:
    try:
        reader = ImageReader(path)
        data = reader.getRGBData()
        alpha = reader._dataA
        name = _digester(data + (alpha.getRGBData() if alpha else b"auto"))
        image = PDFImageXObject(name, reader, mask="auto")
    except OSError as exc:
        raise LayoutError(f"the seal image {path} cannot be read ({exc})",
                          hint="set [forms] seal_image to a PNG, or to \"\" for an empty seal slot") from None
    image.name = name
    mask = getattr(image, "_smask", None)
    if mask is not None:
        del image._smask
    return _SealImage(image, mask)


def seal_image(path: str) -> _SealImage:
    """The seal at ``path``, re-read when the file changes."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise LayoutError(f"the seal image {path} cannot be read ({exc.strerror})",
                          hint="set [forms] seal_image to a PNG, or to \"\" for an empty seal slot") from None
    return _seal(path, mtime)


def render(template: Template, filled: Filled, stamp: Stamp, *, lang: str = "zh", look: Look = Look(),
           blank_seal: bool = False) -> bytes:
    """The certificate as PDF bytes; deterministic for the same inputs.

    ``blank_seal`` leaves the seal slot empty, as a seal image does for the page's
    text: :mod:`forms.verify` re-renders that way when the issuer used one."""
    spec = template.language(lang)
    font = load_font(look.font)
    _check_glyphs(template, filled, font, lang)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1, initialFontName=font.name,
                    initialFontSize=12)
    canvas.setTitle(f"{spec.title} {stamp.serial}")
    canvas.setAuthor(filled.display("issuer", lang) if filled.has("issuer") else "")
    canvas.setSubject(template.spec.template.name_en or template.name)
    canvas.setCreator("community-kiosk forms")
    canvas.setCatalogEntry("Lang", "zh-CN" if lang == "zh" else "en")
    seal = "none" if not template.spec.layout.seal else ("image" if look.seal_image or blank_seal else "slot")
    canvas.setCatalogEntry("Metadata", _record(template, filled, stamp, lang, seal))
    page = _Page(canvas, template, filled, stamp, lang, font, look, blank_seal)
    page.draw()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def preflight(template: Template, filled: Filled, *, lang: str = "zh", look: Look = Look()) -> None:
    """What can be checked before a serial is spent: the language, the font, the glyphs."""
    template.language(lang)
    _check_glyphs(template, filled, load_font(look.font), lang)
    if look.seal_image and template.spec.layout.seal:
        seal_image(look.seal_image)


def _check_glyphs(template: Template, filled: Filled, font: Font, lang: str) -> None:
    for spec in template.spec.fields:
        if not filled.has(spec.name):
            continue
        texts = ([cell for row in filled.rows(spec.name, lang) for cell in row] if spec.type == "table"
                 else [filled.display(spec.name, lang)])
        for text in texts:
            ch = font.missing(text)
            if ch:
                raise DataError(template.id, spec.name, f"character U+{ord(ch):04X} is not in the font {font.path}; "
                                                        "it would print as a box")


def _record(template: Template, filled: Filled, stamp: Stamp, lang: str, seal: str) -> PDFStream:
    """The certificate record as an XMP packet (ASCII, uncompressed, scannable)."""
    values = json.dumps(filled.values, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    items = {"code": stamp.text, "template": template.id, "templateFingerprint": template.fingerprint,
             "lang": lang, "issued": stamp.issued_at.isoformat(), "seal": seal, "fields": values}
    body = "".join(f"<ck:{k}>{html.escape(v, quote=False)}</ck:{k}>" for k, v in items.items())
    xmp = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
           '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           f'<rdf:Description rdf:about="" xmlns:ck="{XMP_NAMESPACE}">{body}</rdf:Description>'
           '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>').encode("utf-8")
    return PDFStream(PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML")}), xmp, filters=[])


class _Page:
    """One certificate page being drawn; the cursor moves down the body."""

    def __init__(self, canvas: Canvas, template: Template, filled: Filled, stamp: Stamp, lang: str,
                 font: Font, look: Look, blank_seal: bool = False) -> None:
        self.c = canvas
        self.blank_seal = blank_seal
        self.t = template
        self.filled = filled
        self.stamp = stamp
        self.lang = lang
        self.zh = lang == "zh"
        self.font = font
        self.look = look
        self.spec = template.language(lang)
        self.layout = template.spec.layout
        self.labels = LABELS[lang]
        self.width = PAGE_W - 2 * MARGIN_X
        self.y = BODY_TOP
        self.values = {name: filled.display(name, lang) for name, spec in template.fields.items()
                       if spec.type != "table"}
        # The body ends above the QR (and its quiet zone), and leaves room for the
        # issuer block, which goes no lower than the bottom of the QR.
        self.body_bottom = self.QR_BOTTOM + max(self.layout.qr_mm * mm + 6 * mm, self.issuer_block_height())

    # -- text primitives ----------------------------------------------------------
    def measure(self, text: str, size: float) -> float:
        return self.font.measure(text, size)

    def text(self, x: float, y: float, text: str, size: float, *, color: Color = black, bold: bool = False,
             char_space: float = 0.0, align: str = "left") -> None:
        ch = self.font.missing(text)
        if ch:
            raise LayoutError(f"{self.t.path}: character U+{ord(ch):04X} of the template's {self.lang} text "
                              f"is not in the font {self.font.path}")
        if align != "left":
            width = self.measure(text, size) + char_space * max(len(text) - 1, 0)
            x -= width if align == "right" else width / 2
        # Character spacing and the render mode are graphics state that outlives the
        # text object: draw such text inside q/Q so that it does not leak.
        isolated = bold or bool(char_space)
        if isolated:
            self.c.saveState()
        obj = self.c.beginText(x, y)
        obj.setFont(self.font.name, size)
        obj.setFillColor(color)
        if bold:  # the font has no bold face: fill and stroke the outline
            obj.setTextRenderMode(2)
            self.c.setStrokeColor(color)
            self.c.setLineWidth(size * 0.035)
        if char_space:
            obj.setCharSpace(char_space)
        obj.textOut(text)
        self.c.drawText(obj)
        if isolated:
            self.c.restoreState()

    def justified(self, x: float, y: float, line: str, size: float, room: float) -> None:
        """A Chinese line set flush at both ends: the slack goes after wide characters
        only, so that numbers and Latin words keep their natural spacing."""
        stretch = [i for i, ch in enumerate(line[:-1]) if layout.is_wide(ch)]
        slack = room - self.measure(line, size)
        if not stretch or slack <= 0 or slack / len(stretch) > size * 0.2:
            self.text(x, y, line, size)
            return
        space = slack / len(stretch)
        ch = self.font.missing(line)
        if ch:
            raise LayoutError(f"{self.t.path}: character U+{ord(ch):04X} of the template's {self.lang} text "
                              f"is not in the font {self.font.path}")
        self.c.saveState()
        obj = self.c.beginText(x, y)
        obj.setFont(self.font.name, size)
        obj.setFillColor(black)
        start = 0
        for i in range(1, len(line) + 1):  # runs of wide and of narrow characters
            if i == len(line) or layout.is_wide(line[i]) != layout.is_wide(line[start]):
                obj.setCharSpace(space if layout.is_wide(line[start]) else 0)
                obj.textOut(line[start:i])
                start = i
        self.c.drawText(obj)
        self.c.restoreState()

    def fill_text(self, text: str) -> str:
        """A template text with its {placeholders} replaced by printed values."""
        return text.format_map({name: layout.unbreakable(value) if len(value) <= 4 else value
                                for name, value in self.values.items()})

    def advance(self, height: float, what: str) -> None:
        self.y -= height
        if self.y < self.body_bottom:
            over = (self.body_bottom - self.y) / mm
            raise LayoutError(f"{self.t.path}: the {self.lang} page does not fit on one page: {what} ends "
                              f"{over:.0f} mm into the footer",
                              hint="shorten the template's text, or lower max_length / max_rows")

    # -- the page -----------------------------------------------------------------
    def draw(self) -> None:
        self.frame()
        self.header()
        for index, block in enumerate(self.spec.blocks):
            if block.when is not None and not self.filled.has(block.when):
                continue
            getattr(self, "block_" + block.kind)(block, f"block {index + 1} ({block.kind})")
        self.footer()

    def frame(self) -> None:
        c = self.c
        c.setStrokeColor(RULE)
        c.setLineWidth(1.6)
        c.rect(10 * mm, 10 * mm, PAGE_W - 20 * mm, PAGE_H - 20 * mm)
        c.setLineWidth(0.5)
        c.rect(12 * mm, 12 * mm, PAGE_W - 24 * mm, PAGE_H - 24 * mm)

    def header(self) -> None:
        size = self.layout.title_size
        self.text(PAGE_W - MARGIN_X, PAGE_H - 22 * mm, self.labels["serial"] + self.stamp.serial, 9,
                  color=GREY, align="right")
        title = self.fill_text(self.spec.title)
        # Short Chinese titles are set spaced out, as on printed certificates.
        spacing = size * 0.5 if self.zh and len(title) <= 6 else (size * 0.05 if not self.zh else 0)
        self.text(PAGE_W / 2, PAGE_H - 44 * mm, title, size, bold=True, char_space=spacing, align="center")
        if self.spec.subtitle:
            self.text(PAGE_W / 2, PAGE_H - 53 * mm, self.fill_text(self.spec.subtitle), 12, color=GREY,
                      align="center")

    def paragraph(self, text: str, size: float, leading: float, what: str, *, indent: bool, justify: bool,
                  color: Color = black) -> None:
        first_indent = 2 * size if indent else 0.0
        lines = layout.wrap(text, self.width, lambda s: self.measure(s, size), first_indent)
        for i, line in enumerate(lines):
            self.advance(leading if i or self.y < BODY_TOP else size, what)
            x = MARGIN_X + (first_indent if i == 0 else 0)
            room = self.width - (first_indent if i == 0 else 0)
            if justify and i < len(lines) - 1:
                self.justified(x, self.y, line, size, room)
            else:
                self.text(x, self.y, line, size, color=color)

    def block_paragraph(self, block: BlockSpec, what: str) -> None:
        size = self.layout.body_size
        self.paragraph(self.fill_text(block.paragraph or ""), size, size * self.layout.line_spacing, what,
                       indent=self.zh, justify=self.zh)
        self.y -= size * 0.3

    def block_heading(self, block: BlockSpec, what: str) -> None:
        size = self.layout.body_size
        self.advance(size * 1.6, what)
        self.text(MARGIN_X, self.y, self.fill_text(block.heading or ""), size, bold=True)
        self.y -= size * 0.5

    def block_note(self, block: BlockSpec, what: str) -> None:
        size = max(self.layout.body_size * 0.75, 8)
        self.y -= size * 0.4
        self.paragraph(self.fill_text(block.note or ""), size, size * 1.6, what, indent=False, justify=False,
                       color=GREY)

    def block_facts(self, block: BlockSpec, what: str) -> None:
        size = self.layout.body_size
        leading = size * min(self.layout.line_spacing, 1.7)
        names = [n for n in block.facts or [] if self.filled.has(n)]
        labels = [self.label(self.t.fields[n]) + self.labels["colon"] for n in names]
        column = max((self.measure(label, size) for label in labels), default=0) + size * 0.3
        for name, label in zip(names, labels):
            value = self.filled.display(name, self.lang)
            lines = layout.wrap(value, self.width - column - size, lambda s: self.measure(s, size))
            for i, line in enumerate(lines):
                self.advance(leading, what)
                if i == 0:
                    self.text(MARGIN_X + size + column - size * 0.3, self.y, label, size, color=GREY,
                              align="right")
                self.text(MARGIN_X + size + column, self.y, line, size)
        self.y -= size * 0.6

    def block_table(self, block: BlockSpec, what: str) -> None:
        spec = self.t.fields[block.table or ""]
        rows = self.filled.rows(spec.name, self.lang)
        if not rows:
            return
        size = self.layout.table_size
        pad = 1.8 * mm
        leading = size * 1.35
        total = sum(c.width for c in spec.columns)
        widths = [self.width * c.width / total for c in spec.columns]
        self.y -= size * 0.9
        header = [self.label(c) for c in spec.columns]
        for r, cells in enumerate([header] + rows):
            wrapped = [layout.wrap(cell, w - 2 * pad, lambda s: self.measure(s, size)) for cell, w in zip(cells, widths)]
            height = max(len(lines) for lines in wrapped) * leading + 2 * pad - (leading - size)
            top = self.y
            self.advance(height, f"{what}, row {r}")
            c = self.c
            c.setLineWidth(0.6)
            c.setStrokeColor(GREY)
            if r == 0:
                c.setFillColor(FILL)
                c.rect(MARGIN_X, self.y, self.width, height, stroke=0, fill=1)
            x = MARGIN_X
            for lines, w in zip(wrapped, widths):
                c.rect(x, self.y, w, height, stroke=1, fill=0)
                for i, line in enumerate(lines):
                    self.text(x + pad, top - pad - size * 0.85 - i * leading, line, size,
                              color=GREY if r == 0 else black, bold=False)
                x += w
        self.y -= size * 0.8

    def block_code(self, block: BlockSpec, what: str) -> None:
        value = self.filled.display(block.code or "", self.lang)
        if not value:
            return
        side = 28 * mm
        caption = self.fill_text(block.caption) if block.caption else ""
        # 4 mm above and below: the code's quiet zone (4 modules) stays white
        self.advance(4 * mm + side + 4 * mm + (10 if caption else 0), what)
        draw_qr(self.c, qr.encode(value.encode("utf-8")), (PAGE_W - side) / 2, self.y + 4 * mm + 10, side)
        if caption:
            self.text(PAGE_W / 2, self.y + 2, caption, 10, color=GREY, align="center")
        self.y -= 2 * mm

    def label(self, spec) -> str:
        return spec.label if self.zh or not spec.label_en else spec.label_en

    # -- the footer ----------------------------------------------------------------
    # Bottom band: the verification QR with its captions on one side (qr_position),
    # fine print under it. The issuer block (seal slot, issuer's name, date) follows
    # the body on the other side, at the latest level with the QR: it is at most
    # ISSUER_WIDTH wide, so it never reaches the captions.
    QR_BOTTOM = 26 * mm
    ISSUER_WIDTH = 75 * mm
    SEAL = 36 * mm

    def issuer_block_height(self) -> float:
        return 8 * mm + (self.SEAL + 7 * mm if self.layout.seal else 10 * mm) + self.issuer_lines() * 8 * mm

    def issuer_lines(self) -> int:
        return len(self.issuer_wrapped())

    def issuer_wrapped(self) -> list[str]:
        size = self.layout.body_size
        return layout.wrap(self.fill_text(self.spec.issuer), self.ISSUER_WIDTH, lambda s: self.measure(s, size))

    def footer(self) -> None:
        self.issuer_block()
        self.verification()
        self.text(PAGE_W / 2, 15.5 * mm, self.labels["fine_print"], 7.5, color=LIGHT, align="center")

    def verification(self) -> None:
        labels = self.labels
        left = self.layout.qr_position == "left"
        side = self.layout.qr_mm * mm
        x = MARGIN_X if left else PAGE_W - MARGIN_X - side
        code = self.look.verify_url + self.stamp.text
        draw_qr(self.c, qr.encode(code.encode("ascii")), x, self.QR_BOTTOM, side)
        captions = [(labels["scan"], 10.0, black), (labels["serial"] + self.stamp.serial, 8.5, GREY)]
        if self.stamp.expires:
            captions.append((f"{labels['valid_until']} {format_date(self.stamp.expires, self.lang)}", 8.5, GREY))
        caption_x = x + side + 4 * mm if left else x - 4 * mm
        for i, (text, size, color) in enumerate(captions):
            self.text(caption_x, self.QR_BOTTOM + side - 5 * mm - i * 6 * mm, text, size, color=color,
                      align="left" if left else "right")

    def issuer_block(self) -> None:
        size = self.layout.body_size
        left = self.layout.qr_position == "left"
        lines = self.issuer_wrapped()
        width = max(self.measure(line, size) for line in lines)
        width = max(width, self.SEAL if self.layout.seal else 0)
        # right-aligned block on the issuer's side, lines centred within it
        centre = PAGE_W - MARGIN_X - width / 2 if left else MARGIN_X + width / 2
        top = self.y  # the body ended above QR_BOTTOM + issuer_block_height(): advance() checked
        y = top - 8 * mm
        if self.layout.seal:
            self.seal(centre, y - self.SEAL / 2, self.SEAL)
            y -= self.SEAL + 7 * mm
        else:
            y -= 10 * mm
        for line in lines:
            self.text(centre, y, line, size, align="center")
            y -= 8 * mm
        self.text(centre, y, format_date(self.stamp.issued_at.date(), self.lang), size, align="center")

    def seal(self, cx: float, cy: float, diameter: float) -> None:
        c = self.c
        if self.blank_seal:
            return
        if self.look.seal_image:
            seal_image(self.look.seal_image).draw(c, cx - diameter / 2, cy - diameter / 2, diameter)
            return
        c.saveState()
        c.setStrokeColor(LIGHT)
        c.setLineWidth(0.8)
        c.setDash(3, 2)
        c.circle(cx, cy, diameter / 2, stroke=1, fill=0)
        c.restoreState()
        self.text(cx, cy - 3, self.labels["seal"], 10, color=LIGHT, align="center")


def draw_qr(canvas: Canvas, matrix: np.ndarray, x: float, y: float, side: float) -> None:
    """A QR symbol as one filled path (no seams between modules); needs 4 modules of
    white around it, which the page layout keeps.

    Drawn in module units (a translate and a scale, then whole-number rectangles
    written as PDF operators): reportlab's rect() formats every coordinate in Python,
    which for a thousand rectangles costs more than the rest of the page."""
    n = matrix.shape[0]
    module = side / n
    ops = []
    for r, (starts, ends) in enumerate(_runs(matrix)):
        row = n - 1 - r
        ops.extend(f"{s} {row} {e - s} 1 re" for s, e in zip(starts.tolist(), ends.tolist()))
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(module, module)
    canvas.setFillColor(black)
    canvas.addLiteral("\n".join(ops) + "\nf")
    canvas.restoreState()


def _runs(matrix: np.ndarray) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    padded = np.zeros((matrix.shape[0], matrix.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = matrix
    edges = np.diff(padded, axis=1)
    for row in edges:
        yield np.flatnonzero(row == 1), np.flatnonzero(row == -1)
