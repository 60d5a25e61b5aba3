"""Spreadsheets in and out of the admin console, as CSV: pure functions, no database.

A :class:`Sheet` names its columns (Chinese header first; the English header or the
field name is accepted too). :func:`read_csv` decodes the upload (UTF-8, with or
without BOM, or GB18030 as Excel saves it in China), checks the header and each
cell, and answers every problem at once as :class:`Problem` rows: the spreadsheet's
row number (the header is row 1), the column, and what to fix, in Chinese and
English. The caller writes nothing when there is any problem.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable

from forms.fields import valid_id_number

MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    row: int  # the spreadsheet's row number (1 is the header); 0: the whole file
    column: str  # the column's Chinese header, or ""
    zh: str
    en: str


class CellError(ValueError):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


Check = Callable[[str], Any]


@dataclass(frozen=True)
class Column:
    name: str  # the field name in the record
    zh: str  # the header as exported
    en: str
    required: bool = False
    check: Check | None = None  # text -> value, or raise CellError

    def headers(self) -> set[str]:
        return {self.zh, self.en.lower(), self.name.lower()}


@dataclass(frozen=True)
class Row:
    number: int
    values: dict[str, Any]


@dataclass
class Reading:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, row: int, column: str, zh: str, en: str) -> None:
        self.problems.append(Problem(row, column, zh, en))


@dataclass(frozen=True)
class Sheet:
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# -- cell checks ------------------------------------------------------------------
def text(limit: int) -> Check:
    def check(value: str) -> str:
        if len(value) > limit:
            raise CellError(f"不能超过 {limit} 个字（现有 {len(value)} 个）",
                            f"at most {limit} characters (it has {len(value)})")
        return value
    return check


def identifier(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}", value):
        raise CellError("只能用字母、数字、- 和 _，最多 40 个", "letters, digits, - and _ only, at most 40")
    return value


def id_number(value: str) -> str:
    value = value.replace(" ", "").upper()
    if not valid_id_number(value):
        raise CellError("不是有效的 18 位居民身份证号（请核对每一位和最后一位校验码）",
                        "not a valid 18-character resident ID number (check every digit and the check character)")
    return value


def phone(value: str) -> str:
    if not re.fullmatch(r"\+?[0-9][0-9 -]{5,19}", value):
        raise CellError("电话号码只能有数字、空格和 -", "a phone number has digits, spaces and - only")
    return value


def day(value: str) -> str:
    try:
        return date.fromisoformat(value.replace("/", "-")).isoformat()
    except ValueError:
        raise CellError("日期写成 2026-12-31 这样", "write the date like 2026-12-31") from None


def amount(value: str) -> float:
    try:
        number = float(value.replace(",", ""))
    except ValueError:
        raise CellError("金额写成数字，如 100 或 100.50", "write the amount as a number, e.g. 100 or 100.50") from None
    if not 0 <= number <= 1_000_000:
        raise CellError("金额应在 0 到 1000000 之间", "the amount must be between 0 and 1000000")
    return round(number, 2)


def one_of(choices: dict[str, str]) -> Check:
    """Accepts a key or its label (``{"active": "发放中"}``); answers the key."""
    by_label = {label: key for key, label in choices.items()}

    def check(value: str) -> str:
        if value in choices:
            return value
        if value in by_label:
            return by_label[value]
        raise CellError(f"应为 {'、'.join(choices.values())} 之一", f"must be one of {', '.join(choices)}")
    return check


# -- reading and writing ------------------------------------------------------------
def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CellError("文件编码无法识别：请另存为 CSV UTF-8", "unknown text encoding: save the file as CSV UTF-8")


def read_csv(sheet: Sheet, data: bytes) -> Reading:
    """Every row's checked values, or every problem (then ``rows`` must not be written)."""
    reading = Reading()
    if not data.strip():
        reading.problem(0, "", "文件是空的", "the file is empty")
        return reading
    if len(data) > MAX_BYTES:
        reading.problem(0, "", f"文件太大（最多 {MAX_BYTES // 1024 // 1024} MB），请分成几个文件导入",
                        f"the file is too large (at most {MAX_BYTES // 1024 // 1024} MB): split it")
        return reading
    try:
        lines = list(csv.reader(io.StringIO(decode(data), newline="")))
    except CellError as exc:
        reading.problem(0, "", exc.zh, exc.en)
        return reading
    except csv.Error as exc:
        reading.problem(0, "", f"不是有效的 CSV 文件（{exc}）", f"not a valid CSV file ({exc})")
        return reading
    header = [h.strip() for h in lines[0]]
    by_header = {h: c for c in sheet.columns for h in c.headers()}
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        found = by_header.get(title) or by_header.get(title.lower())
        if found is None:
            if title:
                reading.problem(1, title, f"不认识的列“{title}”；可用的列：{'、'.join(c.zh for c in sheet.columns)}",
                                f"unknown column {title!r}; the columns are "
                                f"{', '.join(c.en for c in sheet.columns)}")
            continue
        if found.name in positions:
            reading.problem(1, title, f"列“{found.zh}”出现了两次", f"column {found.en} appears twice")
        positions[found.name] = index
    for column in sheet.columns:
        if column.required and column.name not in positions:
            reading.problem(1, column.zh, f"缺少必填的列“{column.zh}”", f"the required column {column.en} is missing")
    if reading.problems:
        return reading
    body = [(n, cells) for n, cells in enumerate(lines[1:], start=2) if any(c.strip() for c in cells)]
    if not body:
        reading.problem(0, "", "文件只有表头，没有数据行", "the file has a header but no rows")
    if len(body) > MAX_ROWS:
        reading.problem(0, "", f"行数太多（{len(body)}，最多 {MAX_ROWS}），请分成几个文件导入",
                        f"too many rows ({len(body)}, at most {MAX_ROWS}): split the file")
        return reading
    for number, cells in body:
        values: dict[str, Any] = {}
        for column in sheet.columns:
            index = positions.get(column.name)
            raw = cells[index].strip() if index is not None and index < len(cells) else ""
            if not raw:
                if column.required:
                    reading.problem(number, column.zh, f"“{column.zh}”不能为空", f"{column.en} must not be empty")
                values[column.name] = ""
                continue
            try:
                values[column.name] = column.check(raw) if column.check else raw
            except CellError as exc:
                reading.problem(number, column.zh, f"“{column.zh}”{exc.zh}：{raw}", f"{column.en}: {exc.en}: {raw}")
                values[column.name] = raw  # kept, so checks across rows do not add a consequence of this one
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            reading.problem(number, "", "这一行比表头多出了几格", "this row has more cells than the header")
        reading.rows.append(Row(number, values))
    return reading


def write_csv(sheet: Sheet, rows: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with a BOM (Excel then opens Chinese text right), Chinese headers."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([c.zh for c in sheet.columns])
    for row in rows:
        writer.writerow(["" if row.get(c.name) is None else row.get(c.name) for c in sheet.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
