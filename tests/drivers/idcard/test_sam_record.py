"""The typed record: GB 11643, the text block layout, consistency, masking."""
import dataclasses
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from drivers.idcard.codec import CardBlocks
from drivers.idcard.errors import BadRecord, IdCardError, InvalidIdNumber
from drivers.idcard.ethnicity import ETHNICITIES, ethnicity_name
from drivers.idcard.record import (IdCardRecord, TEXT_FIELDS, check_character, encode_text_block,
                                   is_valid_id_number, parse_text_block, validate_id_number)
from drivers.idcard.sim import fictional_card

PHOTO = bytes(1024)


def blocks(card, fingerprint=None):
    return CardBlocks(card.text_block(), card.wlt(), fingerprint)


@pytest.mark.parametrize("number,valid", [
    ("11010519491231002X", True),   # the notes' example: born 1949-12-31, female
    ("11010519491231002x", True),   # lower-case x is read as X
    ("110101198503120033", True),
    ("370102193810010012", True),
    ("110105194912310021", False),  # wrong check character
    ("11010519491231002", False),   # 17 characters
    ("1101051949123100X2", False),  # X not last
    ("110105194913310021", False),  # month 13, though the check character is right
    ("ABCDEFGHIJKLMNOPQR", False),
    ("１１０１０５１９４９１２３１００２X", False),  # full-width digits are not ASCII
])
def test_gb11643(number, valid):
    assert is_valid_id_number(number) is valid


def test_check_character_of_the_notes_example():
    assert check_character("11010519491231002") == "X"


def test_invalid_number_message_is_masked():
    with pytest.raises(InvalidIdNumber) as info:
        validate_id_number("110105194912310021")
    assert "110105194912310021" not in str(info.value) and "1101**********0021" in str(info.value)


def test_the_text_block_is_256_bytes_with_the_documented_widths():
    assert [size for _, size in TEXT_FIELDS] == [30, 2, 4, 16, 70, 36, 30, 16, 16, 36]
    block = encode_text_block({"name": "李秀兰", "sex": "2"})
    assert len(block) == 256 and block[:6] == "李秀兰".encode("utf-16-le")
    assert block[6:30] == " ".encode("utf-16-le") * 12  # space padded
    assert parse_text_block(block)["name"] == "李秀兰"


def test_ethnicity_table_is_complete():
    assert len(ETHNICITIES) == 58
    assert [f"{i:02d}" for i in range(1, 57)] + ["97", "98"] == list(ETHNICITIES)
    assert (ethnicity_name("01"), ethnicity_name("56"), ethnicity_name("97"), ethnicity_name("98")) == \
        ("汉", "基诺", "其他", "外国血统")
    assert ethnicity_name("57") is None


def test_a_card_becomes_a_typed_record():
    card = fictional_card(name="李秀兰", sex="2", birth="19491231", area="110105", sequence=1,
                          valid_to="长期", ethnicity="05", fingerprints=1)
    assert card.id_number == "11010519491231002X"
    record = IdCardRecord.from_blocks(blocks(card, card.fingerprint()))
    assert (record.name, record.sex, record.ethnicity, record.birth_date) == ("李秀兰", "女", "维吾尔", date(1949, 12, 31))
    assert (record.id_number, record.valid_to, record.valid_to_text) == ("11010519491231002X", None, "长期")
    assert record.photo == card.wlt() and len(record.fingerprint) == 512
    assert record.is_valid_on(date(2099, 1, 1))


@pytest.mark.parametrize("code,name", [("0", "未知"), ("1", "男"), ("2", "女"), ("9", "未说明")])
def test_sex_codes(code, name):
    card = fictional_card(sex=code)
    assert IdCardRecord.from_blocks(blocks(card)).sex == name


def test_repr_and_str_never_show_the_number_or_the_photo():
    card = fictional_card(name="李秀兰", birth="19491231", sequence=1)
    record = IdCardRecord.from_blocks(blocks(card))
    for text in (repr(record), str(record), f"{record}", repr([record])):
        assert "11010519491231002X" not in text and "19491231" not in text
        assert "1101**********002X" in text and "李**" in text and "李秀兰" not in text
        assert record.photo.hex()[:16] not in text and "SIMWLT" not in text
    assert record.masked_id == "1101**********002X"


def test_summary_masks_and_digests():
    record = IdCardRecord.from_blocks(blocks(fictional_card(birth="19491231", sequence=1)))
    out = record.summary()
    assert out["id_number"] == "1101**********002X" and out["id_number_masked"] is True
    assert out["photo"]["size"] == 1024 and len(out["photo"]["sha256"]) == 64
    assert record.summary(show_id=True)["id_number"] == "11010519491231002X"


@pytest.mark.parametrize("change,error", [
    ({"birth": "19491230"}, InvalidIdNumber),            # number says 1949-12-31
    ({"sex": "1"}, InvalidIdNumber),                     # sequence 002 is even: female
    ({"id_number": "110105194912310021"}, InvalidIdNumber),  # check character
    ({"id_number": "1101051949123100"}, InvalidIdNumber),
    ({"ethnicity": "60"}, BadRecord),
    ({"sex": "3"}, BadRecord),
    ({"name": ""}, BadRecord),
    ({"valid_from": "20201301"}, BadRecord),
    ({"valid_to": "20100101"}, BadRecord),               # before valid_from
    ({"valid_to": "永久"}, BadRecord),
])
def test_a_reader_that_disagrees_with_itself_is_refused(change, error):
    card = dataclasses.replace(fictional_card(birth="19491231", sequence=1, valid_from="20200101"), **change)
    with pytest.raises(error):
        IdCardRecord.from_blocks(blocks(card))


def test_short_blocks_are_bad_records():
    card = fictional_card()
    with pytest.raises(BadRecord):
        IdCardRecord.from_blocks(CardBlocks(card.text_block()[:200], PHOTO))
    with pytest.raises(BadRecord):
        IdCardRecord.from_blocks(CardBlocks(card.text_block(), PHOTO[:10]))


@settings(max_examples=150, deadline=None)
@given(st.dates(date(1900, 1, 1), date(2024, 12, 31)), st.sampled_from("12"), st.integers(0, 499),
       st.sampled_from(sorted(ETHNICITIES)))
def test_every_fictional_card_round_trips(born, sex, sequence, ethnicity):
    card = fictional_card(birth=born.strftime("%Y%m%d"), sex=sex, sequence=sequence, ethnicity=ethnicity)
    assert is_valid_id_number(card.id_number)
    record = IdCardRecord.from_blocks(blocks(card))
    assert (record.birth_date, record.sex_code, record.ethnicity_code) == (born, sex, ethnicity)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=256, max_size=256))
def test_garbage_text_raises_only_the_package_error(text):
    try:
        IdCardRecord.from_blocks(CardBlocks(text, PHOTO))
    except IdCardError:
        pass
