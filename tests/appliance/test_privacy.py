import logging

import pytest

from appliance.privacy import MaskingFilter, mask_id_number, mask_text


@pytest.mark.parametrize("number,masked", [
    ("11010519491231002X", "1101**********002X"),
    ("370102198001011234", "3701**********1234"),
    ("110105491231002", "1101*******1002"),
])
def test_mask_id_number(number, masked):
    assert mask_id_number(number) == masked


@pytest.mark.parametrize("text,expected", [
    ("read card 11010519491231002X ok", "read card 1101**********002X ok"),
    ("id=370102198001011234,name=x", "id=3701**********1234,name=x"),
    ("case 2026112200012345678 stays", "case 2026112200012345678 stays"),  # 19 digits: not an ID
    ("phone 13800138000", "phone 13800138000"),
])
def test_mask_text(text, expected):
    assert mask_text(text) == expected


def test_logs_never_carry_a_full_id_number(caplog):
    log = logging.getLogger("test.privacy")
    log.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO):
        log.info("resident %s identified", "11010519491231002X")
    assert "11010519491231002X" not in caplog.text and "1101**********002X" in caplog.text
