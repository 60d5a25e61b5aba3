"""Every catalogue loads in both languages; no zh string is untranslated; every
key the kiosk's code asks for exists."""
from __future__ import annotations

import re

import pytest

from kiosk.i18n import I18N_DIR, Catalogue, CatalogueError
from tests.support import ROOT

KEY_IN_CODE = re.compile(r"""(?:\bt|\.t|both|say)\(\s*["']([a-z][a-z0-9_]*\.[a-z0-9_]+)["']""")


def test_both_languages_load_and_no_zh_string_is_untranslated():
    catalogue = Catalogue(I18N_DIR)
    assert len(catalogue.entries) > 20
    assert catalogue.problems() == []
    for key, entry in catalogue.entries.items():
        assert catalogue.t(key, "zh") == entry.zh or "{" in entry.zh
        assert catalogue.t(key, "en") == entry.en or "{" in entry.en


def test_every_key_used_in_kiosk_code_is_in_a_catalogue():
    catalogue = Catalogue(I18N_DIR)
    missing = []
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        for key in KEY_IN_CODE.findall(path.read_text(encoding="utf-8")):
            if key not in catalogue.entries:
                missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert missing == []


def test_an_untranslated_entry_is_caught(tmp_path):
    (tmp_path / "demo.toml").write_text(
        '[ok]\nzh = "你好"\nen = "Hello"\nnote = "greeting"\n'
        '[english_only]\nzh = "Hello"\nen = "Hello"\nnote = "forgot"\n'
        '[no_note]\nzh = "好"\nen = "Good"\n'
        '[fields]\nzh = "{name}您好"\nen = "Hello {nam}"\nnote = "typo"\n', encoding="utf-8")
    problems = Catalogue(tmp_path).problems()
    assert any("demo.english_only" in p and "no Chinese" in p for p in problems)
    assert any("demo.no_note" in p and "translator note" in p for p in problems)
    assert any("demo.fields" in p and "placeholders" in p for p in problems)
    assert not any("demo.ok" in p for p in problems)


def test_a_broken_catalogue_names_its_file(tmp_path):
    (tmp_path / "broken.toml").write_text("[x\nzh = 1", encoding="utf-8")
    with pytest.raises(CatalogueError, match="broken.toml"):
        Catalogue(tmp_path)


def test_a_missing_key_shows_the_key_not_a_crash():
    catalogue = Catalogue(I18N_DIR)
    assert catalogue.t("nowhere.nothing") == "[nowhere.nothing]"
    catalogue.set_language("en")
    assert catalogue.t("common.home") == "Home"
