"""The keyboard-wedge codec: input_event records ⇄ codes. Golden records, round trips
over any split, and garbage in never raising anything but the scanner's own error."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from drivers.scanner.errors import BadCode, ScannerConfigError, ScannerError
from drivers.scanner.wedge_codec import (EV_KEY, EV_MSC, EV_SYN, EVENT, GS, KEY_ENTER, KEY_KPENTER, KEY_LEFTSHIFT,
                                         SYN_DROPPED, SYN_REPORT, TYPEABLE, US_LAYOUT, WedgeCodec, keystrokes)


def ev(kind: int, code: int, value: int) -> bytes:
    return EVENT.pack(1700000000, 250000, kind, code, value)


def tap(code: int) -> bytes:
    return ev(EV_KEY, code, 1) + ev(EV_SYN, SYN_REPORT, 0) + ev(EV_KEY, code, 0) + ev(EV_SYN, SYN_REPORT, 0)


def decode(data: bytes, **options) -> list:
    return WedgeCodec(**options).feed(data, 0.0)


def test_the_record_is_struct_input_event():
    assert EVENT.size == 24  # 64-bit Linux: timeval (2 × 8) + type + code (2 × 2) + value (4)


@pytest.mark.parametrize("records,codes", [
    # a, 1, Enter
    (tap(30) + tap(2) + tap(KEY_ENTER), ["a1"]),
    # Shift held around a: A; Shift+1: !
    (ev(EV_KEY, KEY_LEFTSHIFT, 1) + tap(30) + tap(2) + ev(EV_KEY, KEY_LEFTSHIFT, 0) + tap(30) + tap(KEY_ENTER),
     ["A!a"]),
    # right Shift works the same; keypad digits and keypad Enter
    (ev(EV_KEY, 54, 1) + tap(44) + ev(EV_KEY, 54, 0) + tap(79) + tap(82) + tap(KEY_KPENTER), ["Z10"]),
    # Caps Lock flips letters, not digits; Shift under Caps Lock gives lower case
    (tap(58) + tap(30) + tap(2) + ev(EV_KEY, KEY_LEFTSHIFT, 1) + tap(30) + ev(EV_KEY, KEY_LEFTSHIFT, 0)
     + tap(58) + tap(30) + tap(KEY_ENTER), ["A1aa"]),
    # MSC_SCAN and autorepeat records: scan codes ignored, a repeat is another key
    (ev(EV_MSC, 4, 0x70004) + ev(EV_KEY, 30, 1) + ev(EV_KEY, 30, 2) + ev(EV_KEY, 30, 0) + tap(KEY_ENTER), ["aa"]),
    # Ctrl+] is GS, the GS1 separator
    (tap(2) + ev(EV_KEY, 29, 1) + tap(27) + ev(EV_KEY, 29, 0) + tap(3) + tap(KEY_ENTER), ["1" + GS + "2"]),
    # Enter on nothing: no code
    (tap(KEY_ENTER) + tap(KEY_ENTER), []),
    # two codes in one read
    (tap(16) + tap(KEY_ENTER) + tap(17) + tap(KEY_ENTER), ["q", "w"]),
])
def test_golden_records(records, codes):
    assert decode(records) == codes


@pytest.mark.parametrize("records,reason", [
    (tap(30) + tap(63) + tap(31) + tap(KEY_ENTER), "unmapped_key"),  # F5 inside
    (tap(30) + ev(EV_KEY, 56, 1) + tap(79) + ev(EV_KEY, 56, 0) + tap(KEY_ENTER), "unmapped_key"),  # Alt+keypad
    (tap(30) + ev(EV_SYN, SYN_DROPPED, 0) + tap(31) + tap(KEY_ENTER), "dropped_events"),
    (tap(30) + ev(0x7F, 1, 1) + tap(KEY_ENTER), "garbage"),
    (tap(30) + ev(EV_KEY, 31, 7) + tap(KEY_ENTER), "garbage"),
    (tap(2) * 5 + tap(KEY_ENTER), "overlong"),
])
def test_a_spoilt_code_is_one_bad_code_with_its_reason_and_the_next_is_intact(records, reason):
    out = decode(records + tap(32) + tap(KEY_ENTER), max_length=4)
    assert len(out) == 2 and isinstance(out[0], BadCode) and out[0].reason == reason and out[0].hint
    assert out[1] == "d"


def test_a_partial_code_times_out_and_never_glues_to_the_next():
    codec = WedgeCodec(line_timeout=0.5)
    assert codec.feed(keystrokes("CUT", enter=False), 10.0) == [] and codec.pending == 3
    assert codec.expire(10.4) == []  # not yet
    dropped = codec.expire(10.5)
    assert [d.reason for d in dropped] == ["unterminated"] and codec.pending == 0
    assert codec.feed(keystrokes("WHOLE"), 11.0) == ["WHOLE"]
    # also when the next keys come late without an idle check in between
    assert codec.feed(keystrokes("AB", enter=False), 20.0) == []
    out = codec.feed(keystrokes("NEXT"), 21.0)
    assert isinstance(out[0], BadCode) and out[0].reason == "unterminated" and out[1:] == ["NEXT"]


def test_keystrokes_golden_bytes_and_what_cannot_be_typed():
    records = list(EVENT.iter_unpack(keystrokes("A", at=1.5)))
    keys = [(kind, code, value) for _, _, kind, code, value in records if kind == EV_KEY]
    assert keys == [(EV_KEY, KEY_LEFTSHIFT, 1), (EV_KEY, 30, 1), (EV_KEY, 30, 0), (EV_KEY, KEY_LEFTSHIFT, 0),
                    (EV_KEY, KEY_ENTER, 1), (EV_KEY, KEY_ENTER, 0)]
    assert records[0][:2] == (1, 500000)  # the time of the keystroke
    with pytest.raises(ScannerConfigError, match="U\\+5C45"):
        keystrokes("居民")
    with pytest.raises(ScannerConfigError):
        WedgeCodec(max_length=0)


codes_text = st.text(alphabet=sorted(TYPEABLE), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(codes_text, max_size=6), st.data())
def test_codes_round_trip_over_any_split(codes, data):
    stream = b"".join(keystrokes(code) for code in codes)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    codec, out = WedgeCodec(), []
    for start, end in zip([0, *cuts], [*cuts, len(stream)]):
        out += codec.feed(stream[start:end], 0.0)
    assert out == codes and codec.pending == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=100), max_size=10))
def test_random_bytes_raise_nothing_and_yield_only_typeable_codes(chunks):
    codec = WedgeCodec(max_length=64)
    for i, chunk in enumerate(chunks):
        for item in codec.feed(chunk, i * 0.1) + codec.expire(i * 0.1):
            assert isinstance(item, (str, BadCode))
            if isinstance(item, str):
                assert item and len(item) <= 64 and set(item) <= TYPEABLE


key_codes = st.sampled_from(sorted(US_LAYOUT) + [KEY_ENTER, KEY_KPENTER, 42, 54, 29, 97, 56, 100, 58, 69, 63, 1, 500])
records = st.one_of(
    st.tuples(st.just(EV_KEY), key_codes, st.sampled_from([0, 1, 2])),
    st.tuples(st.just(EV_SYN), st.sampled_from([SYN_REPORT, SYN_DROPPED]), st.just(0)),
    st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(-2**31, 2**31 - 1)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(records, max_size=80))
def test_any_event_stream_raises_nothing_but_scanner_errors(events):
    data = b"".join(ev(*e) for e in events)
    try:
        out = WedgeCodec(max_length=32).feed(data, 0.0)
    except ScannerError:  # the only kind allowed; the codec in fact hands bad codes out
        return
    assert all(isinstance(i, BadCode) or (isinstance(i, str) and set(i) <= TYPEABLE and len(i) <= 32) for i in out)
