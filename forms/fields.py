"""Data → the values a certificate prints: checked against the template, normalised,
and put in canonical form for the digest the QR code signs.

``fill(template, data, issuer=…, id_mask=…)`` checks every key (except ``_comment``,
a note for people): a missing required field, an unknown key or a bad value raises :class:`DataError` naming the field
(``payments[2].amount``); messages never repeat a personal value.

The canonical values are what is PRINTED, language-independent: an ID number already
masked as configured, dates as ``2019-03-15``, money as ``"300.00"``, choices by their
value. Their canonical bytes are compact JSON with sorted keys, UTF-8, NFC text::

    {"address":"…","id_number":"1101**********0033","living_since":"2019-03-15",…}

so the same certificate has one digest whichever language it is printed in, and the
digest can be recomputed from a PDF's record or from the data as printed.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from appliance.privacy import mask_id_number
from forms.errors import DataError
from forms.schema import ColumnSpec, FieldSpec
from forms.templates import Template

IdMask = Literal["middle", "last4", "none"]
COMMENT = "_comment"  # a data file may carry a note for people under this key
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")


@dataclass(frozen=True)
class IssuerInfo:
    """What the appliance fills in from its configuration (``from_config`` fields)."""

    issuer: str
    issuer_en: str = ""
    community: str = ""

    def get(self, key: str) -> str:
        return getattr(self, key)


@dataclass(frozen=True)
class Filled:
    """A template's data, checked and normalised: what the certificate prints."""

    template: Template
    values: dict[str, Any]  # canonical values of the fields that have one

    def canonical(self) -> bytes:
        return canonical_bytes(self.values)

    def has(self, name: str) -> bool:
        return name in self.values

    def display(self, name: str, lang: str) -> str:
        """A field's value as printed in ``lang`` ("" when it has none)."""
        if name not in self.values:
            return ""
        return display(self.template.fields[name], self.values[name], lang)

    def rows(self, name: str, lang: str) -> list[list[str]]:
        spec = self.template.fields[name]
        return [[display(column, row[column.name], lang) if column.name in row else ""
                 for column in spec.columns] for row in self.values.get(name, [])]


def canonical_bytes(values: Mapping[str, Any]) -> bytes:
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def fill(template: Template, data: Mapping[str, Any], *, issuer: IssuerInfo,
         id_mask: IdMask = "middle") -> Filled:
    """Check ``data`` against ``template``; the printed values in canonical form."""
    if not isinstance(data, Mapping):
        raise DataError(template.id, "", "the data must be a JSON object of field values")
    known = template.fields
    for key in data:
        if key == COMMENT:
            continue
        if key not in known:
            raise DataError(template.id, str(key), f"unknown key (a typo? the fields are: {', '.join(known)})")
    values: dict[str, Any] = {}
    for spec in template.spec.fields:
        raw = data.get(spec.name)
        if _empty(raw) and spec.from_config:
            raw = issuer.get(spec.from_config)
        value = _field(template.id, spec, spec.name, raw, id_mask)
        if value is not None:
            values[spec.name] = value
    return Filled(template, values)


def from_canonical(template: Template, values: Mapping[str, Any]) -> Filled:
    """A certificate record's values back as :class:`Filled` (for verifying a PDF).

    They were printed values already: only their shape is checked, and masked ID
    numbers are taken as they are."""
    for key in values:
        if key not in template.fields:
            raise DataError(template.id, str(key), "the record has a field this template does not")
    return Filled(template, dict(values))


def _empty(raw: Any) -> bool:
    return raw is None or raw == "" or raw == []


def _field(template_id: str, spec: FieldSpec | ColumnSpec, where: str, raw: Any, id_mask: IdMask) -> Any:
    if _empty(raw):
        if spec.required:
            raise DataError(template_id, where, f"required field is missing ({spec.label})")
        return None
    if spec.type == "table":
        assert isinstance(spec, FieldSpec)
        return _table(template_id, spec, where, raw, id_mask)
    return _scalar(template_id, spec, where, raw, id_mask)


def _table(template_id: str, spec: FieldSpec, where: str, raw: Any, id_mask: IdMask) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise DataError(template_id, where, f"should be a list of rows (objects), not {_kind(raw)}")
    if spec.max_rows is not None and len(raw) > spec.max_rows:
        raise DataError(template_id, where, f"{len(raw)} rows; the template fits at most {spec.max_rows}")
    columns = {c.name: c for c in spec.columns}
    rows = []
    for i, row in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(row, Mapping):
            raise DataError(template_id, at, f"should be an object of column values, not {_kind(row)}")
        for key in row:
            if key not in columns:
                raise DataError(template_id, f"{at}.{key}", f"unknown column (the columns are: {', '.join(columns)})")
        out = {}
        for column in spec.columns:
            value = _field(template_id, column, f"{at}.{column.name}", row.get(column.name), id_mask)
            if value is not None:
                out[column.name] = value
        rows.append(out)
    return rows


def _scalar(template_id: str, spec: ColumnSpec, where: str, raw: Any, id_mask: IdMask) -> Any:
    def bad(message: str) -> DataError:
        return DataError(template_id, where, message)

    kind = spec.type
    if kind == "integer":
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise bad(f"should be a whole number, not {_kind(raw)}")
        _bounds(spec, raw, bad)
        return raw
    if kind == "money":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise bad(f"should be an amount like 300 or \"300.50\", not {_kind(raw)}")
        try:
            amount = Decimal(str(raw).strip())
        except InvalidOperation:
            raise bad("should be an amount like 300 or \"300.50\"") from None
        if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise bad("an amount has at most two decimals (fen)")
        _bounds(spec, amount, bad)
        return f"{amount.quantize(Decimal('0.01')):f}"
    if not isinstance(raw, str):
        raise bad(f"should be text, not {_kind(raw)}")
    text = unicodedata.normalize("NFC", raw).strip()
    if _CONTROL.search(text):
        raise bad("contains a line break or control character")
    if kind == "text":
        if spec.max_length is not None and len(text) > spec.max_length:
            raise bad(f"{len(text)} characters; at most {spec.max_length} fit")
        if spec.pattern is not None and not re.fullmatch(spec.pattern, text):
            raise bad(f"does not match the pattern {spec.pattern}")
        return text
    if kind == "id_number":
        number = text.upper()
        if not valid_id_number(number):
            raise bad("not a valid resident ID number (18 characters, check digit per GB 11643)")
        return mask(number, id_mask)
    if kind == "choice":
        values = [o.value for o in spec.options]
        if text not in values:
            raise bad(f"should be one of {', '.join(values)}")
        return text
    if kind == "date":
        if not _DATE.match(text):
            raise bad("should be a date like 2019-03-15")
        try:
            date.fromisoformat(text)
        except ValueError:
            raise bad("is not a real date") from None
        return text
    if kind == "datetime":
        match = _DATETIME.match(text)
        if not match:
            raise bad("should be a date and time like 2025-03-01T14:05")
        try:
            datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}")
        except ValueError:
            raise bad("is not a real date and time") from None
        return f"{match.group(1)}T{match.group(2)}"
    if kind == "month":
        match = _MONTH.match(text)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise bad("should be a month like 2025-01")
        return text
    raise AssertionError(kind)  # the schema allows no other type


def _bounds(spec: ColumnSpec, value: Any, bad) -> None:
    if spec.min is not None and value < Decimal(str(spec.min)):
        raise bad(f"below the minimum {spec.min}")
    if spec.max is not None and value > Decimal(str(spec.max)):
        raise bad(f"above the maximum {spec.max}")


def _kind(raw: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "an object", type(None): "null"}.get(type(raw), type(raw).__name__)


def valid_id_number(number: str) -> bool:
    """An 18-character resident ID number with a correct check character."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17]


def mask(number: str, style: IdMask) -> str:
    if style == "none":
        return number
    if style == "last4":
        return "*" * (len(number) - 4) + number[-4:]
    return mask_id_number(number)


# -- printing values ---------------------------------------------------------------
def display(spec: ColumnSpec, value: Any, lang: str) -> str:
    kind = spec.type
    zh = lang == "zh"
    if kind == "date":
        d = date.fromisoformat(value)
        return format_date(d, lang)
    if kind == "datetime":
        moment = datetime.fromisoformat(value)
        return (f"{format_date(moment.date(), lang)} {moment:%H:%M}" if zh
                else f"{format_date(moment.date(), lang)}, {moment:%H:%M}")
    if kind == "month":
        year, month = int(value[:4]), int(value[5:])
        return f"{year}年{month}月" if zh else f"{MONTHS_EN[month - 1]} {year}"
    if kind == "money":
        amount = f"{Decimal(value):,.2f}"
        return f"{amount}元" if zh else f"CNY {amount}"
    if kind == "choice":
        option = next(o for o in spec.options if o.value == value)
        return option.zh if zh or not option.en else option.en
    return str(value)


def format_date(d: date, lang: str) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"
