"""Templates are data: the shipped ones load; a broken one is rejected naming the
file, the line and the field."""
from __future__ import annotations

import pytest

from forms.errors import TemplateError, TemplateNotFound
from forms.templates import Catalogue, find_line, load_template
from tests.forms.conftest import TEMPLATE_IDS, TEMPLATES

GOOD = '''[template]
name = "测试证明"
name_en = "Test"

[[fields]]
name = "name"
type = "text"
label = "姓名"
max_length = 20

[[fields]]
name = "rows"
type = "table"
label = "记录"
required = false
max_rows = 3

[[fields.columns]]
name = "when"
type = "date"
label = "日期"

[[fields.columns]]
name = "kind"
type = "choice"
label = "类别"

[[fields.columns.options]]
value = "a"
zh = "甲"

[zh]
title = "测试证明"
issuer = "某某居委会"

[[zh.blocks]]
paragraph = "兹证明{name}。"

[[zh.blocks]]
table = "rows"
'''


def write(tmp_path, text: str, name: str = "broken.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_templates_load_with_both_languages_and_an_example():
    catalogue = Catalogue(TEMPLATES)
    assert catalogue.ids() == TEMPLATE_IDS
    for template in catalogue.all():
        assert template.languages == ["zh", "en"], template.id
        assert template.example(), template.id
        assert template.spec.template.name and template.spec.template.name_en


def test_a_good_template_loads(tmp_path):
    template = load_template(write(tmp_path, GOOD, "test_proof.toml"))
    assert template.id == "test_proof"
    assert [f["name"] for f in template.describe_fields()] == ["name", "rows"]
    assert len(template.fingerprint) == 64


def line_of(text: str, needle: str, nth: int = 1) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[nth - 1]


@pytest.mark.parametrize("old, new, key, needle, nth, message", [
    ('type = "date"', 'type = "dat"', "fields[1].columns[0].type", 'type = "dat"', 1, "should be"),
    ("max_length = 20", 'max_length = "20"', "fields[0].max_length", "max_length", 1, "valid integer"),
    ("max_length = 20", 'max_length = 20\ncolour = "red"', "fields[0].colour", "colour", 1, "unknown key"),
    ('paragraph = "兹证明{name}。"', 'paragraph = "兹证明{nmae}。"', "zh.blocks[0].paragraph", "{nmae}", 1,
     "placeholder {nmae} names no field"),
    ('name = "rows"', 'name = "name"', "fields[1].name", 'name = "name"', 2, "has this name already"),
    ("max_length = 20\n", "", "fields[0].max_length", "[[fields]]", 1, "needs max_length"),
    ('table = "rows"', 'table = "name"', "zh.blocks[1].table", 'table = "name"', 1, "names no table field"),
    ('table = "rows"', 'table = "rows"\nnote = "x"', "zh.blocks[1]", "[[zh.blocks]]", 2, "exactly one of"),
    ('value = "a"', 'value = "A"', "fields[1].columns[1].options[0].value", 'value = "A"', 1, "should match"),
    ('title = "测试证明"', 'title = ""', "zh.title", 'title = ""', 1, "at least 1 character"),
    ("max_rows = 3\n", "", "fields[1].max_rows", "[[fields]]", 2, "needs max_rows"),
    ('type = "choice"', 'type = "text"\nmax_length = 4', "fields[1].columns[1].options",
     "[[fields.columns.options]]", 1,
     "only a choice field has options"),
])
def test_a_broken_template_is_rejected_naming_file_line_and_field(tmp_path, old, new, key, needle, nth, message):
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    error = caught.value
    assert error.file == str(path)
    assert error.key == key, str(error)
    assert error.line == line_of(text, needle, nth), str(error)
    assert message in str(error)
    assert str(error).startswith(f"{path}:{error.line}: {key}")


def test_toml_syntax_error_names_the_line(tmp_path):
    text = GOOD.replace('label = "姓名"', 'label = "姓名', 1)
    with pytest.raises(TemplateError) as caught:
        load_template(write(tmp_path, text))
    assert caught.value.line == line_of(text, 'label = "姓名')
    assert "not valid TOML" in str(caught.value)


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "gbk.toml"
    path.write_bytes(GOOD.encode("gbk"))
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    assert caught.value.line == 2 and "UTF-8" in str(caught.value)


def test_a_file_name_is_the_template_id(tmp_path):
    with pytest.raises(TemplateError, match="file name is its id"):
        load_template(write(tmp_path, GOOD, "Residence Proof.toml"))


def test_unknown_template_lists_the_known_ones():
    with pytest.raises(TemplateNotFound, match="residence_proof"):
        Catalogue(TEMPLATES).get("residence_prof")


def test_an_edited_template_is_reloaded(tmp_path):
    path = write(tmp_path, GOOD, "test_proof.toml")
    catalogue = Catalogue(tmp_path)
    first = catalogue.get("test_proof")
    assert catalogue.get("test_proof") is first
    path.write_text(GOOD.replace("测试证明", "测试证明书"), encoding="utf-8")
    import os
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert catalogue.get("test_proof").name == "测试证明书"


def test_find_line_tracks_nested_arrays_of_tables():
    assert find_line(GOOD, ("fields", 1, "columns", 1, "options", 0, "zh")) == line_of(GOOD, 'zh = "甲"')
    assert find_line(GOOD, ("fields", 1, "columns", 0, "label")) == line_of(GOOD, 'label = "日期"')
    assert find_line(GOOD, ("zh", "blocks", 1)) == line_of(GOOD, "[[zh.blocks]]", 2)
    # a missing key: the line of the table that should hold it
    assert find_line(GOOD, ("fields", 0, "pattern")) == line_of(GOOD, "[[fields]]", 1)
