"""Data against a template: every key checked, values normalised, canonical bytes."""
from __future__ import annotations

import json

import pytest

from forms.errors import DataError
from forms.fields import IssuerInfo, canonical_bytes, fill, mask, valid_id_number
from tests.forms.conftest import ISSUER


@pytest.fixture
def proof(catalogue):
    return catalogue.get("residence_proof")


@pytest.fixture
def subsidy(catalogue):
    return catalogue.get("elderly_subsidy")


def test_a_missing_required_field_is_named(proof):
    data = proof.example()
    del data["living_since"]
    with pytest.raises(DataError) as caught:
        fill(proof, data, issuer=ISSUER)
    assert caught.value.field == "living_since"
    assert "required field is missing (起始居住日期)" in str(caught.value)


def test_an_unknown_key_is_named(proof):
    data = {**proof.example(), "adress": "x"}
    with pytest.raises(DataError) as caught:
        fill(proof, data, issuer=ISSUER)
    assert caught.value.field == "adress"
    assert "unknown key" in str(caught.value) and "address" in str(caught.value)


def test_an_unknown_column_is_named_with_its_row(subsidy):
    data = subsidy.example()
    data["payments"][2]["amout"] = "1"
    with pytest.raises(DataError) as caught:
        fill(subsidy, data, issuer=ISSUER)
    assert caught.value.field == "payments[2].amout"


@pytest.mark.parametrize("field, value, message", [
    ("living_since", "2016/05/20", "date like 2019-03-15"),
    ("living_since", "2016-02-30", "not a real date"),
    ("id_number", "110101198503120034", "check digit"),
    ("id_number", 110101198503120033, "should be text"),
    ("name", "张" * 21, "at most 20 fit"),
    ("name", "张晓\n明", "line break"),
])
def test_a_bad_value_is_named_without_repeating_it(proof, field, value, message):
    with pytest.raises(DataError) as caught:
        fill(proof, {**proof.example(), field: value}, issuer=ISSUER)
    assert caught.value.field == field and message in str(caught.value)
    assert "198503120034" not in str(caught.value)


@pytest.mark.parametrize("column, value, message", [
    ("amount", "300.001", "two decimals"),
    ("amount", True, "amount like 300"),
    ("amount", "-5", "below the minimum"),
    ("status", "lost", "one of paid, pending, withheld"),
    ("month", "2025-13", "month like 2025-01"),
])
def test_bad_table_cells_are_named(subsidy, column, value, message):
    data = subsidy.example()
    data["payments"][1][column] = value
    with pytest.raises(DataError) as caught:
        fill(subsidy, data, issuer=ISSUER)
    assert caught.value.field == f"payments[1].{column}" and message in str(caught.value)


def test_too_many_rows(subsidy):
    data = subsidy.example()
    data["payments"] = data["payments"] * 2
    with pytest.raises(DataError, match="at most 6"):
        fill(subsidy, data, issuer=ISSUER)


def test_integers_are_whole_numbers_in_range(subsidy):
    for value, message in ((75.0, "whole number"), (True, "whole number"), (59, "below the minimum")):
        with pytest.raises(DataError, match=message):
            fill(subsidy, {**subsidy.example(), "age": value}, issuer=ISSUER)


def test_values_are_normalised_to_what_is_printed(subsidy):
    data = subsidy.example()
    data["monthly_amount"] = 300
    data["payments"][0]["amount"] = 1200.5
    data["name"] = "  李秀兰 "
    filled = fill(subsidy, data, issuer=ISSUER)
    assert filled.values["monthly_amount"] == "300.00"
    assert filled.values["payments"][0]["amount"] == "1200.50"
    assert filled.values["name"] == "李秀兰"
    assert filled.values["id_number"] == "1101**********002X"
    assert filled.rows("payments", "zh")[0] == ["2025年2月", "1,200.50元", "待发放", "社保卡 ****6128"]
    assert filled.rows("payments", "en")[0] == ["February 2025", "CNY 1,200.50", "pending", "社保卡 ****6128"]
    assert filled.display("certified_on", "zh") == "2025年2月26日"
    assert filled.display("certified_on", "en") == "26 February 2025"
    assert filled.display("method", "en") == "face check at the community kiosk"


def test_from_config_fills_the_issuer_unless_the_data_names_one(proof):
    filled = fill(proof, proof.example(), issuer=ISSUER)
    assert filled.values["issuer"] == "示范社区居民委员会"
    other = fill(proof, {**proof.example(), "issuer": "和平里社区居民委员会"}, issuer=ISSUER)
    assert other.values["issuer"] == "和平里社区居民委员会"
    with pytest.raises(DataError, match="required field is missing"):
        fill(proof, proof.example(), issuer=IssuerInfo(""))


def test_canonical_bytes_are_compact_sorted_utf8_and_language_independent(proof):
    filled = fill(proof, proof.example(), issuer=ISSUER)
    raw = filled.canonical()
    assert raw == canonical_bytes(json.loads(raw))
    assert raw.startswith(b'{"address":"') and b" " not in raw.replace(b"Shifan Community Residents' Committee", b"")
    assert "张晓明".encode() in raw
    # the same data in another key order is the same certificate
    shuffled = dict(reversed(list(proof.example().items())))
    assert fill(proof, shuffled, issuer=ISSUER).canonical() == raw


@pytest.mark.parametrize("style, printed", [
    ("middle", "1101**********0033"), ("last4", "**************0033"), ("none", "110101198503120033")])
def test_id_numbers_are_printed_masked_as_configured(proof, style, printed):
    assert mask("110101198503120033", style) == printed
    assert fill(proof, proof.example(), issuer=ISSUER, id_mask=style).values["id_number"] == printed


def test_id_number_check_digit():
    assert valid_id_number("11010519491231002X")
    assert valid_id_number("110101198503120033")
    assert not valid_id_number("11010519491231002x")  # fill() upper-cases first
    assert not valid_id_number("1101051949123100")


def test_lower_case_x_is_accepted(subsidy):
    filled = fill(subsidy, {**subsidy.example(), "id_number": "11010519491231002x"}, issuer=ISSUER)
    assert filled.values["id_number"].endswith("002X")
