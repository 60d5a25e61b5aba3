"""``python -m forms``: list, fields, render, verify, public-key."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from forms.__main__ import main
from tests.forms.conftest import zbar, to_png
from tests.support import ROOT, require_program


@pytest.fixture
def config(tmp_path, monkeypatch):
    """The shipped configuration with data_dir in a temp folder."""
    text = (ROOT / "assets" / "appliance.toml").read_text(encoding="utf-8")
    data = tmp_path / "var"
    data.mkdir()
    path = tmp_path / "appliance.toml"
    path.write_text(text.replace('data_dir = "var"', f'data_dir = "{data}"'), encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(path))
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list(config, capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [t["id"] for t in listed] == ["dropoff_receipt", "elderly_subsidy", "materials_checklist", "residence_proof"]
    assert listed[3]["name"] == "居住证明" and listed[3]["languages"] == ["zh", "en"]


def test_fields_json_names_type_required_and_label(config, capsys):
    code, out, _ = run(capsys, "fields", "residence_proof", "--json")
    assert code == 0
    fields = {f["name"]: f for f in json.loads(out)}
    assert fields["name"] == {"name": "name", "type": "text", "required": True, "label": "姓名",
                              "label_en": "Name", "max_length": 20}
    assert fields["purpose"]["required"] is False
    assert fields["issuer"]["required"] is False and fields["issuer"]["from_config"] == "issuer"
    code, out, _ = run(capsys, "fields", "elderly_subsidy")
    assert code == 0 and ".status" in out


def test_render_then_verify(config, capsys, tmp_path):
    out_pdf = tmp_path / "proof.pdf"
    code, out, err = run(capsys, "render", "residence_proof", "--example", "-o", str(out_pdf))
    assert code == 0, err
    assert "demo-kiosk-01-000001" in out
    code, out, err = run(capsys, "verify", str(out_pdf))
    assert code == 0, out + err
    assert out.startswith("valid:") and "page text matches" in out
    # the QR as a phone sees it, read by an independent decoder, verifies too
    codes = zbar(to_png(out_pdf.read_bytes(), tmp_path / "proof.png"))
    code, out, _ = run(capsys, "verify", "--qr", codes[0], "--json")
    assert code == 0 and json.loads(out)["serial"] == "demo-kiosk-01-000001"
    # with the data, the content is checked too
    data = tmp_path / "data.json"
    example = json.loads((ROOT / "assets/forms/residence_proof.example.json").read_text(encoding="utf-8"))
    data.write_text(json.dumps(example), encoding="utf-8")
    assert run(capsys, "verify", "--qr", codes[0], "--data", str(data))[0] == 0
    data.write_text(json.dumps({**example, "purpose": "出国留学"}), encoding="utf-8")
    code, out, _ = run(capsys, "verify", "--qr", codes[0], "--data", str(data))
    assert code == 1 and out.startswith("tampered:")
    # a second render takes the next serial
    code, out, _ = run(capsys, "render", "residence_proof", "--example", "-o", str(out_pdf), "--lang", "en")
    assert code == 0 and "demo-kiosk-01-000002" in out


def test_verify_exit_status_per_verdict(config, capsys, tmp_path):
    pdf = tmp_path / "p.pdf"
    assert run(capsys, "render", "dropoff_receipt", "--example", "-o", str(pdf))[0] == 0
    code, out, _ = run(capsys, "verify", str(pdf), "--json")
    assert code == 0
    qr = json.loads(out)
    text = pdf.read_bytes()
    broken = tmp_path / "broken.pdf"
    i = text.index(b"<ck:code>") + 60
    broken.write_bytes(text[:i] + (b"A" if text[i:i + 1] != b"A" else b"B") + text[i + 1:])
    assert run(capsys, "verify", str(broken))[0] == 1
    keys = tmp_path / "keys.json"
    keys.write_text("{}", encoding="utf-8")
    assert run(capsys, "verify", str(pdf), "--keys", str(keys))[0] == 3
    code, out, _ = run(capsys, "public-key")
    entry = json.loads(out)
    entry[qr["device"]]["revoked"] = True
    keys.write_text(json.dumps(entry), encoding="utf-8")
    code, out, _ = run(capsys, "verify", str(pdf), "--keys", str(keys))
    assert code == 4 and out.startswith("revoked:")


def test_data_errors_name_the_field(config, capsys, tmp_path):
    data = tmp_path / "data.json"
    example = json.loads((ROOT / "assets/forms/residence_proof.example.json").read_text(encoding="utf-8"))
    del example["_comment"]
    data.write_text(json.dumps({k: v for k, v in example.items() if k != "living_since"}), encoding="utf-8")
    code, _, err = run(capsys, "render", "residence_proof", "--data", str(data), "-o", str(tmp_path / "x.pdf"))
    assert code == 1 and "living_since: required field is missing" in err
    data.write_text(json.dumps({**example, "adress": "x"}), encoding="utf-8")
    code, _, err = run(capsys, "render", "residence_proof", "--data", str(data), "-o", str(tmp_path / "x.pdf"))
    assert code == 1 and "adress: unknown key" in err
    assert not (tmp_path / "x.pdf").exists()
    # nothing was issued: the next certificate is still number 1
    code, out, _ = run(capsys, "render", "residence_proof", "--example", "-o", str(tmp_path / "x.pdf"))
    assert "demo-kiosk-01-000001" in out


def test_a_broken_template_is_one_line_naming_file_and_line(config, capsys, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    source = (ROOT / "assets/forms/residence_proof.toml").read_text(encoding="utf-8")
    (folder / "residence_proof.toml").write_text(source.replace('type = "date"', 'type = "dat"'), encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace('templates_dir = "assets/forms"', f'templates_dir = "{folder}"')
    config.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "fields", "residence_proof")
    line = next(i for i, ln in enumerate(source.splitlines(), 1) if ln == 'type = "date"')
    assert code == 1 and err.strip() == (f"{folder}/residence_proof.toml:{line}: fields[3].type = 'dat': "
                                         "should be 'text', 'id_number', 'date', 'datetime', 'month', "
                                         "'integer', 'money', 'choice' or 'table'")


def test_the_real_command_line(config):
    """Through the interpreter, as a person runs it (the README shows these)."""
    require_program("poppler-utils", "pdftotext")
    run = subprocess.run([sys.executable, "-m", "forms", "list"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "residence_proof" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "forms", "verify", "--qr", "CK1.nonsense"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stdout.startswith("tampered:")
