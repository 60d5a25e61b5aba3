"""Rendering: deterministic PDFs with the CJK font embedded, the filled fields on the
page (read back by poppler), a QR that zbarimg decodes and verify accepts, and every
template fitting on one page with its longest data."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date

import pytest
import reportlab

from forms import layout
from forms.errors import DataError, FontMissing, LayoutError
from forms.fields import fill
from forms.render import DEFAULT_FONT, Look, render
from forms.verify import Verdict, verify_code
from tests.forms.conftest import ISSUER, SEAL, TEMPLATE_IDS, issue, pdffonts, pdftotext, squeeze, to_png, zbar
from tests.support import ROOT

GOLDEN = ROOT / "tests" / "forms" / "golden.json"
CASES = [(t, lang) for t in TEMPLATE_IDS for lang in ("zh", "en")]


def test_rendering_is_deterministic(issued):
    first = issued("residence_proof", look=Look(seal_image=SEAL)).pdf
    assert issued("residence_proof", look=Look(seal_image=SEAL)).pdf == first
    assert b"/CreationDate (D:20000101000000+00'00')" in first  # reportlab's invariant mode


def test_rendering_is_deterministic_across_processes(issued):
    """Another interpreter, another hash seed: the same bytes."""
    script = ("import hashlib, sys; sys.path.insert(0, '.');"
              "from tests.forms.conftest import issue, TEMPLATES; from forms.templates import Catalogue;"
              "from appliance.keys import DeviceKey;"
              "key = DeviceKey.from_seed('demo-kiosk-01', bytes(range(32)));"
              "print(hashlib.sha256(issue(Catalogue(TEMPLATES), key, 'elderly_subsidy').pdf).hexdigest())")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == hashlib.sha256(issued("elderly_subsidy").pdf).hexdigest()


def golden_key() -> dict[str, str]:
    with open(DEFAULT_FONT, "rb") as font:
        font_digest = hashlib.sha256(font.read()).hexdigest()
    return {"reportlab": reportlab.Version, "font_sha256": font_digest}


def test_golden_pdfs(issued):
    """The exact bytes of every template in both languages. After an intended change,
    look at the PNGs in test-artifacts/, then run with UPDATE_GOLDEN=1."""
    digests = {f"{t}/{lang}": hashlib.sha256(issued(t, lang=lang, look=Look(seal_image=SEAL)).pdf).hexdigest()
               for t, lang in CASES}
    current = {**golden_key(), "pdfs": digests}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert {k: expected[k] for k in golden_key()} == golden_key(), \
        "reportlab or the font changed: check the PNGs, then UPDATE_GOLDEN=1"
    assert expected["pdfs"] == digests


EXPECTED_TEXT = {
    "residence_proof": {"zh": ["居住证明", "张晓明", "1101**********0033", "2016年5月20日", "示范街道幸福里社区12号楼3单元401室",
                               "子女入学", "示范社区居民委员会", "2025年3月1日", "有效期至2025年5月30日",
                               "编号：demo-kiosk-01-000042"],
                        "en": ["PROOFOFRESIDENCE", "张晓明", "1101**********0033", "20May2016", "1March2025",
                               "Shifan Community Residents' Committee", "Validuntil30May2025"]},
    "elderly_subsidy": {"zh": ["高龄补贴资格认证结果", "李秀兰", "1101**********002X", "75周岁", "2025年2月26日",
                               "社区事务一体机人脸识别", "符合领取条件，继续发放", "300.00元", "2026年2月28日",
                               "2024年11月", "已发放", "待发放"],
                        "en": ["Eligible", "CNY300.00", "November2024", "paid", "pending", "28February2026"]},
    "materials_checklist": {"zh": ["办事材料清单", "高龄补贴申领", "示范街道社会事务办公室", "户口簿（户主页及本人页）",
                                   "原件及复印件", "他人代办时提供", "010-65000000"],
                            "en": ["MaterialsChecklist", "originalandcopy", "用于发放补贴", "Copies"]},
    "dropoff_receipt": {"zh": ["投递回执", "SF-20250301-0042", "幸福里社区1号云柜", "柜门：7", "2025年3月1日14:05",
                               "扫码查询办理进度"],
                        "en": ["DROP-OFFRECEIPT", "Door:7", "1March2025,14:05", "SF-20250301-0042"]},
}


@pytest.mark.parametrize("template_id, lang", CASES)
def test_the_page_shows_the_filled_fields_and_looks_right(issued, keys, tmp_path, artifacts, template_id, lang):
    one = issued(template_id, lang=lang, look=Look(seal_image=SEAL))
    text = squeeze(pdftotext(one.pdf, tmp_path))
    for expected in EXPECTED_TEXT[template_id][lang]:
        assert squeeze(expected).lower() in text.lower(), expected
    assert "110101198503120033" not in text and "11010519491231002X" not in text
    # the PNG a person looks at; zbarimg reads the verification QR from it
    png = to_png(one.pdf, artifacts / f"{template_id}-{lang}.png")
    codes = zbar(png)
    assert one.stamp.text in codes
    assert verify_code(one.stamp.text, keys, today=date(2025, 3, 2),
                       canonical=one.filled.canonical()).verdict is Verdict.VALID
    if template_id == "dropoff_receipt":
        assert one.template.example()["progress_code"] in codes


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_font_is_embedded(issued, tmp_path, template_id):
    fonts = pdffonts(issued(template_id).pdf, tmp_path)
    assert fonts, "no fonts at all?"
    for font in fonts:
        assert font["emb"] == "yes" and font["type"] == "TrueType", font
        assert "WenQuanYiZenHei" in font["name"]


ENGLISH = "Shifan Street Community Residents' Committee of the Model Dist"


def longest(spec) -> object:
    """The widest value a field allows: full-width characters up to max_length (an
    English name from the configuration: English words)."""
    kind = spec.type
    if kind == "text":
        if getattr(spec, "from_config", None) == "issuer_en":
            return ENGLISH[: spec.max_length]
        return "国" * spec.max_length
    if kind == "id_number":
        return "11010519491231002X"
    if kind in ("date",):
        return "2025-12-28"
    if kind == "datetime":
        return "2025-12-28T23:59"
    if kind == "month":
        return "2025-12"
    if kind == "integer":
        return int(spec.max if spec.max is not None else 999999)
    if kind == "money":
        return str(spec.max if spec.max is not None else 9999999)
    if kind == "choice":
        return max(spec.options, key=lambda o: max(len(o.zh) * 2, len(o.en))).value
    raise AssertionError(kind)


def worst_case(template) -> dict:
    data = {}
    for spec in template.spec.fields:
        if spec.type == "table":
            data[spec.name] = [{c.name: longest(c) for c in spec.columns}] * spec.max_rows
        elif spec.pattern:  # the case number: as long as its pattern allows
            data[spec.name] = "SF-" + "9" * (spec.max_length - 3)
        else:
            data[spec.name] = longest(spec)
    return data


@pytest.mark.parametrize("template_id, lang", CASES)
def test_the_longest_allowed_data_fits_on_one_page(catalogue, key, template_id, lang, tmp_path, artifacts):
    template = catalogue.get(template_id)
    one = issue(catalogue, key, template_id, worst_case(template), lang=lang, look=Look(seal_image=SEAL))
    to_png(one.pdf, artifacts / f"{template_id}-{lang}-longest.png", dpi=60)


def test_text_too_long_for_the_page_is_a_layout_error(catalogue, key, tmp_path):
    text = (catalogue.get("residence_proof").path.read_text(encoding="utf-8")
            .replace("max_length = 48", "max_length = 400"))
    path = tmp_path / "residence_proof.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "residence_proof.example.json").write_text("{}")
    from forms.templates import Catalogue
    data = {**catalogue.get("residence_proof").example(), "address": "国" * 400}
    with pytest.raises(LayoutError, match="does not fit on one page"):
        issue(Catalogue(tmp_path), key, "residence_proof", data)


def test_a_character_missing_from_the_font_is_named(catalogue, key):
    data = {**catalogue.get("residence_proof").example(), "name": "张\U0002B81D明"}  # a rare CJK Ext. D character
    with pytest.raises(DataError) as caught:
        issue(catalogue, key, "residence_proof", data)
    assert caught.value.field == "name" and "U+2B81D" in str(caught.value) and "box" in str(caught.value)


def test_a_missing_font_names_the_debian_package(catalogue, key):
    with pytest.raises(FontMissing, match="fonts-wqy-zenhei"):
        issue(catalogue, key, "residence_proof", look=Look(font="/nonexistent/wqy-zenhei.ttc"))


def test_a_font_reportlab_cannot_embed_is_refused_with_the_reason(catalogue, key):
    with pytest.raises(FontMissing, match="not a TrueType font reportlab can embed.*CFF"):
        issue(catalogue, key, "residence_proof", look=Look(font=SEAL))  # a PNG, say


def test_the_pdf_carries_its_record_and_no_id_number(issued):
    one = issued("residence_proof")
    assert one.stamp.text.encode() in one.pdf
    assert b"110101198503120033" not in one.pdf


def test_id_masking_none_prints_the_number(catalogue, key, tmp_path):
    template = catalogue.get("residence_proof")
    filled = fill(template, template.example(), issuer=ISSUER, id_mask="none")
    one = issue(catalogue, key, "residence_proof", id_mask="none")
    assert filled.values["id_number"] == "110101198503120033"
    assert "110101198503120033" in squeeze(pdftotext(one.pdf, tmp_path))


@pytest.mark.parametrize("text, width, lines", [
    ("兹证明张晓明，自2016年起居住。", 7, ["兹证明张晓明，", "自2016年起", "居住。"]),
    ("（公民身份号码）", 4, ["（公民身", "份号码）"]),
    ("a quick brown fox", 9, ["a quick", "brown fox"]),
    ("supercalifragilistic", 8, ["supercal", "ifragili", "stic"]),
    ("日期：" + layout.unbreakable("2025年3月1日"), 9, ["日期：", "2025年3月1日"]),
    ("日期：2025年3月1日", 9, ["日期：2025年3", "月1日"]),
])
def test_line_breaking(text, width, lines):
    # one unit per character: a monospace measure keeps the cases readable
    assert layout.wrap(text, width, len) == lines


def test_kinsoku_closing_marks_never_start_a_line():
    for width in range(5, 12):  # narrower than 「（女），」: cut by characters, the last resort
        for line in layout.wrap("兹证明张晓明（女），自2016年起居住，特此证明。", width, len)[1:]:
            assert line[0] not in layout.CLOSING, (width, line)
