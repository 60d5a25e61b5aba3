"""The certificate code: what it holds, what it never holds, and that any change to
it is caught."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from appliance.keys import DeviceKey, TrustedKeys
from forms import stamp as stamps
from forms.errors import CodeError
from forms.verify import Verdict, verify_code
from tests.forms.conftest import BEIJING, ISSUED


@pytest.fixture
def stamp(issued):
    return issued("residence_proof").stamp


def test_the_code_holds_serial_template_time_device_digest_and_signature(stamp, issued):
    text = stamp.text
    parts = text.split(".")
    assert parts[:6] == ["CK1", "demo-kiosk-01", "42", "residence_proof", "20250301T060500Z", "20250530"]
    assert len(parts) == 9 and len(parts[7]) == 43 and len(parts[8]) == 86
    assert stamp.serial == "demo-kiosk-01-000042"
    assert stamp.expires == date(2025, 5, 30)  # 90 days, counted in the issuer's calendar
    filled = issued("residence_proof").filled
    assert stamp.digest == stamps.digest(stamp.salt, filled.canonical())


def test_the_code_never_holds_an_id_number_or_a_name(issued):
    for template in ("residence_proof", "elderly_subsidy", "dropoff_receipt"):
        one = issued(template)
        text = one.stamp.text
        assert text.isascii()  # so no name in Chinese characters, either
        for value in ("110101198503120033", "11010519491231002X", "1101**********"):
            assert value not in text
        # everything after the time and expiry is salt, digest and signature
        assert text.split(".")[:4] == ["CK1", "demo-kiosk-01", "42", template]


def test_parse_round_trips_and_skips_a_url_prefix(stamp):
    parsed = stamps.parse(stamp.text)
    assert parsed.text == stamp.text
    assert parsed.issued_at == stamp.issued_at and parsed.issued_at.tzinfo == timezone.utc
    assert stamps.parse("https://server.example/verify?c=" + stamp.text).text == stamp.text


def test_a_local_expiry_is_counted_in_the_issuers_days(key):
    late = datetime(2025, 3, 1, 23, 30, tzinfo=BEIJING)  # 15:30 UTC: still 1 March in Beijing
    made = stamps.make(key, template="t", number=1, canonical=b"{}", issued_at=late, valid_days=1)
    assert made.expires == date(2025, 3, 2)
    assert stamps.make(key, template="t", number=2, canonical=b"{}", issued_at=late).expires is None


def test_naive_times_are_refused(key):
    with pytest.raises(ValueError, match="time zone"):
        stamps.make(key, template="t", number=1, canonical=b"{}", issued_at=datetime(2025, 3, 1))


def test_the_same_inputs_sign_the_same_code_and_salts_differ_otherwise(key):
    a = stamps.make(key, template="t", number=1, canonical=b"{}", issued_at=ISSUED, salt=bytes(8))
    b = stamps.make(key, template="t", number=1, canonical=b"{}", issued_at=ISSUED, salt=bytes(8))
    c = stamps.make(key, template="t", number=1, canonical=b"{}", issued_at=ISSUED)
    assert a.text == b.text and c.salt != a.salt and c.digest != a.digest


def test_changing_any_one_character_of_the_code_is_caught(stamp, keys):
    text = stamp.text
    assert verify_code(text, keys, today=date(2025, 3, 2)).verdict is Verdict.VALID
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_."
    for i, ch in enumerate(text):
        other = alphabet[(alphabet.index(ch) + 17) % len(alphabet)]
        changed = text[:i] + other + text[i + 1:]
        result = verify_code(changed, keys, today=date(2025, 3, 2))
        assert result.verdict is not Verdict.VALID, (i, changed)


def test_dropping_or_adding_a_character_is_caught(stamp, keys):
    text = stamp.text
    for i in range(0, len(text), 7):
        assert not verify_code(text[:i] + text[i + 1:], keys).ok
        assert not verify_code(text[:i] + "A" + text[i:], keys).ok


def test_non_canonical_base64_is_refused(stamp):
    # the last base64 character of the salt carries 2 spare bits: a different
    # character with the same decoded bytes is not what any signer wrote
    parts = stamp.text.split(".")
    salt = parts[6]
    alternative = salt[:-1] + ("B" if salt[-1] == "A" else "A")
    with pytest.raises(CodeError):
        stamps.parse(".".join(parts[:6] + [alternative] + parts[7:]))


def test_verdicts(stamp, key):
    other = DeviceKey.generate("demo-kiosk-01")
    today = date(2025, 3, 2)
    assert verify_code(stamp.text, TrustedKeys(), today=today).verdict is Verdict.UNKNOWN_KEY
    assert verify_code(stamp.text, TrustedKeys().with_key("demo-kiosk-01", other.public_key),
                       today=today).verdict is Verdict.TAMPERED
    revoked = TrustedKeys().with_key("demo-kiosk-01", key.public_key, revoked=True)
    assert verify_code(stamp.text, revoked, today=today).verdict is Verdict.REVOKED
    trusted = TrustedKeys().with_key("demo-kiosk-01", key.public_key)
    assert verify_code(stamp.text, trusted, today=date(2025, 5, 30)).verdict is Verdict.VALID
    assert verify_code(stamp.text, trusted, today=date(2025, 5, 31)).verdict is Verdict.EXPIRED
    assert verify_code("hello", trusted).verdict is Verdict.TAMPERED


def test_a_code_for_other_content_is_tampered(stamp, keys, issued):
    other = issued("residence_proof", {**issued("residence_proof").template.example(), "purpose": "办理居住证"})
    result = verify_code(stamp.text, keys, today=date(2025, 3, 2), canonical=other.filled.canonical())
    assert result.verdict is Verdict.TAMPERED and "content differs" in result.reason
    same = verify_code(stamp.text, keys, today=date(2025, 3, 2), canonical=issued("residence_proof").filled.canonical())
    assert same.verdict is Verdict.VALID


def test_the_digest_depends_on_the_salt(stamp):
    again = replace(stamp, salt=bytes([1]) * 8)
    assert stamps.digest(again.salt, b"{}") != stamps.digest(stamp.salt, b"{}")
