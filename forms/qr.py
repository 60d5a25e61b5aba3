"""QR code matrices (ISO/IEC 18004), byte mode, fast enough for every certificate.

Byte mode always, with an ECI header saying UTF-8 when the text is not ASCII. The
``qrcode`` package spends ~4 ms on Reed-Solomon and ~50 ms choosing the mask
(it rebuilds and scores the whole symbol eight times in pure Python); a certificate
needs its code in well under 5 ms, mask choice included. Here the per-version layout
(function patterns, the zigzag order of data modules, the eight masks) is built once
and cached as numpy arrays, Reed-Solomon works on whole integers with a table per generator, and the eight candidates
are placed and scored vectorised. The tables (error-correction blocks, alignment
positions, BCH codes) are ``qrcode``'s own; tests check that for every mask the
matrix equals ``qrcode``'s, that the penalties equal its ``lost_point``, and that
zbarimg, an independent decoder, reads it. (The mask chosen may differ from
``qrcode``'s: it scores candidates without their format bits; this module scores the
whole symbol, as the standard says.)
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from qrcode import constants as _c
from qrcode import util as _util
from qrcode.base import rs_blocks

LEVELS = {"L": _c.ERROR_CORRECT_L, "M": _c.ERROR_CORRECT_M, "Q": _c.ERROR_CORRECT_Q, "H": _c.ERROR_CORRECT_H}

# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def encode(data: bytes, level: str = "M", mask: int | None = None) -> np.ndarray:
    """The symbol for ``data`` as a square bool array (True = dark), no quiet zone.

    The smallest version that holds the data; the mask with the lowest penalty
    unless ``mask`` (0–7) is given."""
    if not data:
        raise ValueError("nothing to encode")
    ec = LEVELS[level]
    # Non-ASCII text says it is UTF-8 (ECI 26): decoders otherwise guess, and zbar
    # guesses Shift JIS for short Chinese text.
    eci = not data.isascii()
    version = _version_for(len(data), ec, eci)
    layout = _layout(version)
    bits = np.unpackbits(np.frombuffer(_codewords(data, version, ec, eci), dtype=np.uint8)).astype(bool)
    data_bits = np.zeros(len(layout.rows), dtype=bool)
    data_bits[: len(bits)] = bits[: len(data_bits)]
    masks = range(8) if mask is None else (mask,)
    candidates = np.repeat(layout.base[None], len(masks), axis=0)
    for k, m in enumerate(masks):
        candidates[k, layout.rows, layout.cols] = data_bits ^ layout.masks[m]
        candidates[k, layout.format_rows, layout.format_cols] = np.tile(_format_bits(ec, m), 2)
    if len(masks) == 1:
        return candidates[0]
    return candidates[int(np.argmin(penalties(candidates)))]


ECI_UTF8 = (0b0111 << 8) | 26  # ECI mode, designator 26 (UTF-8): 12 bits


def _version_for(length: int, ec: int, eci: bool = False) -> int:
    for version in range(1, 41):
        count_bits = 8 if version < 10 else 16
        if 12 * eci + 4 + count_bits + 8 * length <= _util.BIT_LIMIT_TABLE[ec][version]:
            return version
    raise ValueError(f"{length} bytes do not fit in a QR code at this error-correction level")


def _codewords(data: bytes, version: int, ec: int, eci: bool = False) -> bytes:
    blocks = rs_blocks(version, ec)
    capacity = sum(b.data_count for b in blocks)
    # [ECI], mode 0100 (byte), the length, the data, a terminator, padding to the capacity
    count_bits = 8 if version < 10 else 16
    header = (0b0100 << count_bits) | len(data)
    header_bits = 4 + count_bits
    if eci:
        header |= ECI_UTF8 << header_bits
        header_bits += 12
    value = int.from_bytes(data, "big") if data else 0
    total_bits = header_bits + 8 * len(data)
    stream = (header << (8 * len(data))) | value
    terminator = min(4, capacity * 8 - total_bits)
    stream <<= terminator
    total_bits += terminator
    pad = (-total_bits) % 8
    stream <<= pad
    total_bits += pad
    body = stream.to_bytes(total_bits // 8, "big")
    filler = bytes((0xEC, 0x11)) * capacity
    body += filler[: capacity - len(body)]
    # split into blocks, add each block's error correction, interleave
    data_blocks, ecc_blocks = [], []
    offset = 0
    for block in blocks:
        chunk = body[offset: offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ecc_blocks.append(_reed_solomon(chunk, block.total_count - block.data_count))
    out = bytearray()
    for i in range(max(len(b) for b in data_blocks)):
        out.extend(b[i] for b in data_blocks if i < len(b))
    for i in range(max(len(b) for b in ecc_blocks)):
        out.extend(b[i] for b in ecc_blocks if i < len(b))
    return bytes(out)


@lru_cache(maxsize=None)
def _generator(degree: int) -> tuple[int, ...]:
    """Log-coefficients of prod(x - a^i), i < degree, highest power first (leading 1 dropped)."""
    poly = [1]
    for i in range(degree):
        nxt = [0] * (len(poly) + 1)
        for j, coef in enumerate(poly):
            nxt[j] ^= coef
            if coef:
                nxt[j + 1] ^= _EXP[_LOG[coef] + i]
        poly = nxt
    return tuple(_LOG[c] for c in poly[1:])


@lru_cache(maxsize=None)
def _products(degree: int) -> tuple[int, ...]:
    """For each byte f, f times the generator, as one big-endian integer of ``degree`` bytes."""
    gen = _generator(degree)
    rows = [0]
    for factor in range(1, 256):
        lf = _LOG[factor]
        rows.append(int.from_bytes(bytes(_EXP[lf + g] for g in gen), "big"))
    return tuple(rows)


def _reed_solomon(data: bytes, degree: int) -> bytes:
    """The remainder of data·x^degree divided by the generator: polynomial long
    division with the remainder held as one Python integer, a table row per step."""
    products = _products(degree)
    top = 8 * (degree - 1)
    mask = (1 << (8 * degree)) - 1
    rem = 0
    for byte in data:
        rem = ((rem << 8) & mask) ^ products[byte ^ (rem >> top)]
    return rem.to_bytes(degree, "big")


class _Layout:
    """One version's fixed parts: function patterns, data module order, masks."""

    def __init__(self, version: int) -> None:
        n = version * 4 + 17
        self.n = n
        base = np.zeros((n, n), dtype=bool)
        function = np.zeros((n, n), dtype=bool)
        for row, col in ((0, 0), (n - 7, 0), (0, n - 7)):
            for r in range(-1, 8):
                for c in range(-1, 8):
                    rr, cc = row + r, col + c
                    if 0 <= rr < n and 0 <= cc < n:
                        function[rr, cc] = True
                        base[rr, cc] = ((0 <= r <= 6 and c in (0, 6)) or (0 <= c <= 6 and r in (0, 6))
                                        or (2 <= r <= 4 and 2 <= c <= 4))
        positions = _util.pattern_position(version)
        for row in positions:
            for col in positions:
                if function[row, col]:
                    continue
                for r in range(-2, 3):
                    for c in range(-2, 3):
                        function[row + r, col + c] = True
                        base[row + r, col + c] = max(abs(r), abs(c)) != 1
        for i in range(8, n - 8):
            if not function[i, 6]:
                function[i, 6] = True
                base[i, 6] = i % 2 == 0
            if not function[6, i]:
                function[6, i] = True
                base[6, i] = i % 2 == 0
        format_positions = _format_positions(n)
        for r, c in format_positions:
            function[r, c] = True
        self.format_rows = np.array([r for r, _ in format_positions], dtype=np.intp)
        self.format_cols = np.array([c for _, c in format_positions], dtype=np.intp)
        function[n - 8, 8] = True
        base[n - 8, 8] = True  # the dark module
        if version >= 7:
            bits = _util.BCH_type_number(version)
            for i in range(18):
                dark = (bits >> i) & 1 == 1
                for r, c in ((i // 3, i % 3 + n - 11), (i % 3 + n - 11, i // 3)):
                    function[r, c] = True
                    base[r, c] = dark
        rows, cols = [], []
        upward = True
        col = n - 1
        while col > 0:
            if col == 6:
                col -= 1
            for step in range(n):
                row = n - 1 - step if upward else step
                for c in (col, col - 1):
                    if not function[row, c]:
                        rows.append(row)
                        cols.append(c)
            upward = not upward
            col -= 2
        self.base = base
        self.rows = np.array(rows, dtype=np.intp)
        self.cols = np.array(cols, dtype=np.intp)
        i, j = self.rows, self.cols
        self.masks = [
            (i + j) % 2 == 0,
            i % 2 == 0,
            j % 3 == 0,
            (i + j) % 3 == 0,
            (i // 2 + j // 3) % 2 == 0,
            (i * j) % 2 + (i * j) % 3 == 0,
            ((i * j) % 2 + (i * j) % 3) % 2 == 0,
            ((i * j) % 3 + (i + j) % 2) % 2 == 0,
        ]


@lru_cache(maxsize=None)
def _layout(version: int) -> _Layout:
    return _Layout(version)


def _format_positions(n: int) -> list[tuple[int, int]]:
    """Where the 15 format bits go, bit i first for the vertical copy then the horizontal."""
    vertical = [(i, 8) if i < 6 else (i + 1, 8) if i < 8 else (n - 15 + i, 8) for i in range(15)]
    horizontal = [(8, n - i - 1) if i < 8 else (8, 15 - i) if i < 9 else (8, 15 - i - 1) for i in range(15)]
    return vertical + horizontal


@lru_cache(maxsize=None)
def _format_bits(ec: int, mask: int) -> np.ndarray:
    bits = _util.BCH_type_info((ec << 3) | mask)
    return np.array([(bits >> i) & 1 == 1 for i in range(15)], dtype=bool)


_FINDER_A_CODE = 0b10111010000  # dark light dark×3 light dark, then four light
_FINDER_B_CODE = 0b00001011101  # the same, light side first


def penalties(symbols: np.ndarray) -> np.ndarray:
    """The standard's mask penalty of each symbol in a stack (k, n, n): N1 runs of
    five or more, N2 2x2 blocks, N3 finder-like patterns, N4 dark/light balance."""
    k, n, _ = symbols.shape
    score = np.zeros(k, dtype=np.int64)
    for lines in (symbols, symbols.transpose(0, 2, 1)):
        # N1: 3 + (length - 5) for each run of >= 5. A sentinel ends every line, so
        # the whole stack is one flat sequence of runs; bincount sums per symbol.
        padded = np.full((k, n, n + 1), 2, dtype=np.int8)
        padded[:, :, :n] = lines
        flat = padded.ravel()
        starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
        lengths = np.diff(starts, append=flat.size)
        long = lengths >= 5
        score += np.bincount(starts[long] // (n * (n + 1)), weights=lengths[long] - 2, minlength=k).astype(np.int64)
        # N3: 1011101 with four light modules on either side: 40 each (each run of
        # 11 modules as an 11-bit code, compared with the two patterns)
        ints = lines.astype(np.int32)
        codes = ints[:, :, : n - 10] << 10
        for i in range(1, 11):
            codes |= ints[:, :, i: i + n - 10] << (10 - i)
        score += 40 * ((codes == _FINDER_A_CODE) | (codes == _FINDER_B_CODE)).sum(axis=(1, 2))
    # N2: 3 for each 2x2 block of one colour
    m = symbols
    same = (m[:, :-1, :-1] == m[:, 1:, :-1]) & (m[:, :-1, :-1] == m[:, :-1, 1:]) & (m[:, :-1, :-1] == m[:, 1:, 1:])
    score += 3 * same.sum(axis=(1, 2))
    # N4: 10 for every whole 5% the dark share is away from 50%
    dark = symbols.sum(axis=(1, 2))
    score += 10 * (np.abs(dark * 20 - n * n * 10) // (n * n))
    return score


def penalty(symbol: np.ndarray) -> int:
    return int(penalties(symbol[None])[0])
