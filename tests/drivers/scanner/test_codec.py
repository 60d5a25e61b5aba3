"""The scanner's line protocol: golden framing tables and fuzzing of the framer."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.framing import Deframer, Scan
from drivers.scanner.codec import LineCodec, LineFormat, decode_line, encode_line
from drivers.scanner.errors import BadCode, ScannerConfigError

STX_ETX = LineFormat(prefix=b"\x02", suffix=b"\x03")


@pytest.mark.parametrize("buf,expected", [
    (b"ABC\r", Scan.frame(4)),
    (b"ABC\n", Scan.frame(4)),
    (b"ABC\r\n", Scan.frame(5)),
    (b"ABC\r\nDEF\r\n", Scan.frame(5)),
    (b"ABC\n\r", Scan.frame(4)),  # LF CR is two line ends, not one
    (b"ABC\rDEF", Scan.frame(4)),
    (b"\n", Scan.frame(1)),  # the LF of a CRLF split across reads: an empty line
    (b"ABC", Scan.need()),
    (b"", Scan.need()),
])
def test_scan_golden(buf, expected):
    assert LineCodec().scan(buf) == expected


@pytest.mark.parametrize("frame,fmt,text", [
    (b"ABC\r\n", LineFormat(), "ABC"),
    (b"ABC\r", LineFormat(), "ABC"),
    (b"ABC\n", LineFormat(), "ABC"),
    (b"\r\n", LineFormat(), None),
    (b"\n", LineFormat(), None),
    ("居住证明-0042\r\n".encode(), LineFormat(), "居住证明-0042"),
    ("居住证明\r".encode("gb18030"), LineFormat(encoding="gb18030"), "居住证明"),
    (b"\x02K1:abc\x03\r\n", STX_ETX, "K1:abc"),
    (b"K1:abc\r\n", STX_ETX, "K1:abc"),  # affixes are stripped when present, not required
    (b"]Q1https://x.example/v?s=1\r", LineFormat(prefix=b"]Q1"), "https://x.example/v?s=1"),
    (b"\x02\x03\r", STX_ETX, None),
    (b"(01)0950\x1d(10)AB\r", LineFormat(), "(01)0950\x1d(10)AB"),  # GS1 separator kept
    (b"A" * 8 + b"\r", LineFormat(max_length=8), "A" * 8),
])
def test_decode_golden(frame, fmt, text):
    assert decode_line(frame, fmt) == text


@pytest.mark.parametrize("frame,fmt,reason", [
    (b"\xff\xfeAB\r\n", LineFormat(), "not_text"),
    (b"\xe5\xb1\r\n", LineFormat(), "not_text"),  # a UTF-8 sequence cut short
    (b"AB\x07CD\r\n", LineFormat(), "control"),
    (b"\x1b[2J\r", LineFormat(), "control"),
    (b"AB\x00\r", LineFormat(), "control"),
    ("A\u0085B\r".encode(), LineFormat(), "control"),  # C1 control
    (b"A" * 9 + b"\r", LineFormat(max_length=8), "overlong"),
    (b"A" * 9, LineFormat(max_length=8), "overlong"),  # the head the framer cut off
])
def test_decode_rejects_garbage(frame, fmt, reason):
    with pytest.raises(BadCode) as info:
        decode_line(frame, fmt)
    assert info.value.reason == reason and info.value.hint


def lines(codec: LineCodec, chunks: list[bytes]) -> list[str | None | str]:
    """Feed chunks through a Deframer; decode each frame; BadCode shows as '!reason'."""
    deframer = Deframer(codec)
    out = []
    for chunk in chunks:
        for frame in deframer.feed(chunk):
            try:
                text = codec.decode(frame)
            except BadCode as exc:
                out.append(f"!{exc.reason}")
            else:
                if text is not None:
                    out.append(text)
    return out


@pytest.mark.parametrize("chunks,expected", [
    ([b"A1\r\nB2\r\n"], ["A1", "B2"]),
    ([b"A1\r", b"\nB2\r", b"\n"], ["A1", "B2"]),  # CRLF split across reads
    ([b"A", b"1", b"\r", b"\n"], ["A1"]),
    ([b"A1\rB2\nC3\r\n"], ["A1", "B2", "C3"]),  # mixed line ends
    ([b"\xff\xfe\r\nOK\r\n"], ["!not_text", "OK"]),
    ([b"X" * 20 + b"\r\nOK\r\n"], ["!overlong", "OK"]),
    # an overlong line spread over reads: its tail must not come out as a short code
    ([b"X" * 12, b"YYYY", b"12345\r\nOK\r\n"], ["!overlong", "OK"]),
    ([b"X" * 12, b"YY\r", b"\nOK\r"], ["!overlong", "OK"]),
])
def test_line_framing_table(chunks, expected):
    assert lines(LineCodec(LineFormat(max_length=10)), chunks) == expected


def test_format_rejects_impossible_options():
    with pytest.raises(ScannerConfigError):
        LineFormat(max_length=0)
    with pytest.raises(ScannerConfigError):
        LineFormat(encoding="no-such-codec")
    with pytest.raises(ScannerConfigError):
        LineFormat(suffix=b"\r")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20), st.integers(1, 40))
def test_random_bytes_only_raise_bad_code(chunks, max_length):
    codec = LineCodec(LineFormat(prefix=b"\x02", suffix=b"\x03", max_length=max_length))
    deframer = Deframer(codec)
    for chunk in chunks:
        for frame in deframer.feed(chunk):
            try:
                text = codec.decode(frame)
            except BadCode:
                continue
            assert text is None or (0 < len(text.encode()) <= max_length and "\r" not in text and "\n" not in text)


code_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(code_text, max_size=8), st.sampled_from([b"\r", b"\n", b"\r\n"]), st.data())
def test_codes_round_trip_however_the_bytes_are_split(codes, terminator, data):
    fmt = LineFormat(prefix=b"]Q1", max_length=200)
    wire = b"".join(encode_line(code, fmt, terminator) for code in codes)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    chunks = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)])]
    # a code that itself starts with the prefix loses it: a scanner's output has the same ambiguity
    expected = [code[3:] if code.startswith("]Q1") else code for code in codes]
    assert lines(LineCodec(fmt), chunks) == [c for c in expected if c]
