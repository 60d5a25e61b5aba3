"""The typed resident record read from an ID card, and the rules it must pass.

Owns the 256-byte text block layout (UCS-2 little-endian, space padded), the GB 11643
ID number check, and :class:`IdCardRecord`. A record exists only when the whole
block is consistent: a check character that fails, or a birth date or sex in the
number that disagrees with the text block, is a reader fault (:class:`InvalidIdNumber`),
never a resident. repr/str mask the ID number and the name and never show the photo
or fingerprint bytes, so a record may be logged.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from appliance.privacy import mask_id_number
from drivers.idcard.codec import PHOTO_SIZE, TEXT_SIZE, CardBlocks
from drivers.idcard.errors import BadRecord, InvalidIdNumber
from drivers.idcard.ethnicity import ethnicity_name

# (field, bytes in the text block), in order; 256 bytes in all.
TEXT_FIELDS: tuple[tuple[str, int], ...] = (
    ("name", 30), ("sex", 2), ("ethnicity", 4), ("birth", 16), ("address", 70),
    ("id_number", 36), ("authority", 30), ("valid_from", 16), ("valid_to", 16), ("reserved", 36),
)
assert sum(size for _, size in TEXT_FIELDS) == TEXT_SIZE

SEXES = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}
LONG_TERM = "长期"

# GB 11643: weights of the first 17 digits; sum mod 11 indexes the check characters.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


# -- the text block ------------------------------------------------------------------
def parse_text_block(block: bytes) -> dict[str, str]:
    """The text block's fields as strings, trailing padding removed."""
    if len(block) != TEXT_SIZE:
        raise BadRecord(f"文字信息长度错误 / text block of {len(block)} bytes, expected {TEXT_SIZE}")
    fields, at = {}, 0
    for name, size in TEXT_FIELDS:
        try:
            fields[name] = block[at:at + size].decode("utf-16-le").rstrip(" \x00")
        except UnicodeDecodeError as exc:
            raise BadRecord(f"文字信息不是UCS-2 / field {name} is not UCS-2: {exc.reason}") from None
        at += size
    return fields


def encode_text_block(fields: dict[str, str]) -> bytes:
    """The inverse of :func:`parse_text_block` (simulators, tests); missing fields are blank."""
    out = bytearray()
    for name, size in TEXT_FIELDS:
        raw = fields.get(name, "").encode("utf-16-le")
        if len(raw) > size:
            raise ValueError(f"{name} {fields[name]!r} needs {len(raw)} bytes; the card holds {size}")
        out += raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)
    return bytes(out)


# -- GB 11643 --------------------------------------------------------------------------
def check_character(first17: str) -> str:
    """The check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"need 17 digits, got {len(first17)} characters")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def is_valid_id_number(number: str) -> bool:
    try:
        validate_id_number(number)
    except InvalidIdNumber:
        return False
    return True


def validate_id_number(number: str) -> str:
    """Check format, check character and the birth date inside; return it upper-cased."""
    number = number.strip().upper()
    masked = mask_id_number(number)
    if len(number) != 18 or not number.isascii() or not number[:17].isdigit() \
            or number[17] not in "0123456789X":
        raise InvalidIdNumber(f"身份证号码格式错误 / ID number {masked} is not 17 digits and a check character")
    if check_character(number[:17]) != number[17]:
        raise InvalidIdNumber(f"身份证号码校验位错误 / ID number {masked} fails its GB 11643 check character")
    _date(number[6:14], "ID number's birth date", cls=InvalidIdNumber)
    return number


def id_sex_code(number: str) -> str:
    """"1" (男) when the sequence (digits 15–17) is odd, "2" (女) when even."""
    return "1" if int(number[14:17]) % 2 else "2"


def _date(text: str, what: str, *, cls: type[BadRecord] = BadRecord) -> date:
    try:
        if len(text) != 8 or not text.isascii() or not text.isdigit():
            raise ValueError
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise cls(f"日期无效 / {what} {text!r} is not a YYYYMMDD date") from None


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``: enough to recognise a test card in a log, no more."""
    return name[:1] + "*" * (len(name) - 1)


# -- the record ------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class IdCardRecord:
    name: str
    sex_code: str  # "0" 未知, "1" 男, "2" 女, "9" 未说明
    ethnicity_code: str  # GB 3304, two digits
    birth_date: date
    address: str
    id_number: str  # 18 characters, GB 11643 checked; log masked_id, never this
    authority: str  # 签发机关
    valid_from: date
    valid_to: date | None  # None: 长期 (long-term, no expiry)
    photo: bytes = field(compare=False)  # 1024-byte vendor WLT, raw; never written to disk
    fingerprint: bytes | None = field(default=None, compare=False)  # None: not read; b"": none on card

    # -- derived -------------------------------------------------------------------
    @property
    def sex(self) -> str:
        return SEXES[self.sex_code]

    @property
    def ethnicity(self) -> str:
        return ethnicity_name(self.ethnicity_code) or ""

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def valid_to_text(self) -> str:
        return LONG_TERM if self.valid_to is None else self.valid_to.isoformat()

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    # -- parsing -------------------------------------------------------------------
    @classmethod
    def from_blocks(cls, blocks: CardBlocks) -> "IdCardRecord":
        """Type and check a read's blocks; raise :class:`BadRecord` / :class:`InvalidIdNumber`."""
        if len(blocks.photo) != PHOTO_SIZE:
            raise BadRecord(f"照片长度错误 / photo of {len(blocks.photo)} bytes, expected {PHOTO_SIZE}")
        f = parse_text_block(blocks.text)
        if not f["name"]:
            raise BadRecord("姓名为空 / the name field is empty")
        if f["sex"] not in SEXES:
            raise BadRecord(f"性别代码无效 / sex code {f['sex']!r} is not 0, 1, 2 or 9")
        if ethnicity_name(f["ethnicity"]) is None:
            raise BadRecord(f"民族代码无效 / ethnicity code {f['ethnicity']!r} is not in GB 3304")
        birth = _date(f["birth"], "birth date")
        number = validate_id_number(f["id_number"])
        masked = mask_id_number(number)
        if number[6:14] != f["birth"]:
            raise InvalidIdNumber(f"号码与出生日期不一致 / ID number {masked} disagrees with the birth date "
                                  f"in the text block: the reader is faulty")
        if f["sex"] in ("1", "2") and id_sex_code(number) != f["sex"]:
            raise InvalidIdNumber(f"号码与性别不一致 / ID number {masked} disagrees with the sex "
                                  f"in the text block: the reader is faulty")
        valid_from = _date(f["valid_from"], "valid-from date")
        valid_to = None if f["valid_to"] == LONG_TERM else _date(f["valid_to"], "valid-to date")
        if valid_to is not None and valid_to < valid_from:
            raise BadRecord(f"有效期限颠倒 / valid to {valid_to} is before valid from {valid_from}")
        return cls(name=f["name"], sex_code=f["sex"], ethnicity_code=f["ethnicity"], birth_date=birth,
                   address=f["address"], id_number=number, authority=f["authority"],
                   valid_from=valid_from, valid_to=valid_to, photo=blocks.photo,
                   fingerprint=blocks.fingerprint)

    # -- showing ---------------------------------------------------------------------
    def __repr__(self) -> str:
        fp = "not read" if self.fingerprint is None else f"{len(self.fingerprint)} bytes"
        return (f"IdCardRecord(id_number={self.masked_id!r}, name={mask_name(self.name)!r}, "
                f"photo={len(self.photo)} bytes WLT, fingerprint={fp})")

    __str__ = __repr__

    def summary(self, *, show_id: bool = False) -> dict:
        """A JSON-ready dict. Photo and fingerprint appear as size and SHA-256 only;
        the ID number is masked unless ``show_id``."""
        def digest(data: bytes | None) -> dict | None:
            if data is None:
                return None
            return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

        return {
            "name": self.name, "sex": self.sex, "sex_code": self.sex_code,
            "ethnicity": self.ethnicity, "ethnicity_code": self.ethnicity_code,
            "birth_date": self.birth_date.isoformat(), "address": self.address,
            "id_number": self.id_number if show_id else self.masked_id, "id_number_masked": not show_id,
            "authority": self.authority, "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to_text,
            "photo": {"format": "wlt", **digest(self.photo)},  # type: ignore[dict-item]
            "fingerprint": digest(self.fingerprint),
        }
