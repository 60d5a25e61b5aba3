"""What a template file may say: the schema of ``assets/forms/NAME.toml``.

A template is data a community admin edits without code. Its parts::

    [template]                 name, name_en, version, valid_days
    [[fields]]                 one per datum: name, type, label, label_en, required, …
    [[fields.options]]         a choice field's options: value, zh, en
    [[fields.columns]]         a table field's columns (fields themselves, no tables)
    [layout]                   optional: type sizes, QR side, seal slot
    [zh] / [en]                the page in Chinese (required) and English (optional):
                               title, issuer (the issuer block, with placeholders)
    [[zh.blocks]]              the body, top to bottom: one of paragraph, heading,
                               note (text with {field} placeholders, optional `when`),
                               facts (a list of fields shown as "label: value"),
                               table (a table field), code (a field shown as a QR code)

Field types: ``text`` (max_length, pattern), ``id_number`` (checked, printed masked as
``[forms] id_mask`` says), ``date``, ``datetime``, ``month``, ``integer`` (min, max),
``money`` (min, max), ``choice`` (options), ``table`` (columns, max_rows).

Validation is strict, like the appliance's configuration: an unknown key, a wrong
type or a placeholder naming no field rejects the template with one line naming the
file, the line and the field (:mod:`forms.templates` does the naming).
"""
from __future__ import annotations

import re
import string
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

IDENT = r"^[a-z][a-z0-9_]{0,39}$"
FieldType = Literal["text", "id_number", "date", "datetime", "month", "integer", "money", "choice", "table"]
CONFIG_VALUES = ("issuer", "issuer_en", "community")  # what from_config may name


class Spec(BaseModel):
    # strict: TOML carries types; "16" must not quietly become 16.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OptionSpec(Spec):
    value: Annotated[str, Field(pattern=IDENT)]
    zh: Annotated[str, Field(min_length=1, max_length=40)]
    en: Annotated[str, Field(max_length=60)] = ""


class ColumnSpec(Spec):
    """A field, or a column of a table field."""

    name: Annotated[str, Field(pattern=IDENT)]
    type: FieldType
    label: Annotated[str, Field(min_length=1, max_length=20)]
    label_en: Annotated[str, Field(max_length=40)] = ""
    required: bool = True
    max_length: Annotated[int, Field(ge=1, le=400)] | None = None  # text
    pattern: str | None = None  # text: a regular expression the whole value matches
    min: int | float | None = None  # integer, money
    max: int | float | None = None
    options: list[OptionSpec] = []  # choice
    width: Annotated[float, Field(gt=0, le=10)] = 1.0  # a table column's relative width


class FieldSpec(ColumnSpec):
    columns: list[ColumnSpec] = []  # table
    max_rows: Annotated[int, Field(ge=1, le=40)] | None = None  # table
    from_config: Literal["issuer", "issuer_en", "community"] | None = None


class BlockSpec(Spec):
    paragraph: str | None = None
    heading: str | None = None
    note: str | None = None
    facts: list[Annotated[str, Field(pattern=IDENT)]] | None = None
    table: Annotated[str, Field(pattern=IDENT)] | None = None
    code: Annotated[str, Field(pattern=IDENT)] | None = None
    caption: str = ""  # under a code
    when: Annotated[str, Field(pattern=IDENT)] | None = None  # only when this field has a value

    @property
    def kind(self) -> str:
        kinds = [k for k in BLOCK_KINDS if getattr(self, k) is not None]
        return kinds[0] if len(kinds) == 1 else ""


BLOCK_KINDS = ("paragraph", "heading", "note", "facts", "table", "code")


class LanguageSpec(Spec):
    title: Annotated[str, Field(min_length=1, max_length=40)]
    subtitle: Annotated[str, Field(max_length=80)] = ""
    issuer: Annotated[str, Field(min_length=1)]  # the issuer block's name line
    blocks: Annotated[list[BlockSpec], Field(min_length=1)]


class LayoutSpec(Spec):
    title_size: Annotated[float, Field(ge=12, le=40)] = 26
    body_size: Annotated[float, Field(ge=8, le=20)] = 14
    table_size: Annotated[float, Field(ge=7, le=16)] = 11
    line_spacing: Annotated[float, Field(ge=1.0, le=3.0)] = 1.9
    qr_position: Literal["left", "right"] = "left"  # the issuer block takes the other side
    qr_mm: Annotated[float, Field(ge=20, le=50)] = 30
    seal: bool = True  # a seal slot (the configured seal image, or a circle to stamp in)


class TemplateInfo(Spec):
    name: Annotated[str, Field(min_length=1, max_length=40)]
    name_en: Annotated[str, Field(max_length=80)] = ""
    version: Annotated[int, Field(ge=1)] = 1
    valid_days: Annotated[int, Field(ge=0, le=3650)] = 0  # 0: no expiry
    description: str = ""


class TemplateSpec(Spec):
    template: TemplateInfo
    fields: Annotated[list[FieldSpec], Field(min_length=1)]
    layout: LayoutSpec = LayoutSpec()
    zh: LanguageSpec
    en: LanguageSpec | None = None


class Problem(ValueError):
    """A cross-reference problem found after the schema check; ``loc`` is its key path."""

    def __init__(self, loc: tuple, value: object, message: str) -> None:
        self.loc, self.value, self.message = loc, value, message
        super().__init__(message)


_FORMATTER = string.Formatter()


def placeholders(text: str) -> list[str]:
    """The ``{field}`` names in a text (``{{`` and ``}}`` are literal braces)."""
    try:
        return [name for _, name, spec, conv in _FORMATTER.parse(text) if name is not None]
    except ValueError as exc:
        raise ValueError(f"unbalanced braces ({exc}); write {{{{ and }}}} for literal braces") from None


def check(spec: TemplateSpec) -> None:
    """Raise :class:`Problem` on the first reference that cannot work."""
    seen: dict[str, int] = {}
    for i, field in enumerate(spec.fields):
        loc = ("fields", i)
        if field.name in seen:
            raise Problem(loc + ("name",), field.name, f"fields[{seen[field.name]}] has this name already")
        seen[field.name] = i
        _check_field(field, loc)
        if field.type == "table":
            if not field.columns:
                raise Problem(loc + ("columns",), None, "a table field needs [[fields.columns]]")
            if field.max_rows is None:
                raise Problem(loc + ("max_rows",), None, "a table field needs max_rows (it must fit on the page)")
            names: set[str] = set()
            for j, column in enumerate(field.columns):
                cloc = loc + ("columns", j)
                if column.type == "table":
                    raise Problem(cloc + ("type",), column.type, "a column cannot be a table")
                if column.name in names:
                    raise Problem(cloc + ("name",), column.name, "two columns share this name")
                names.add(column.name)
                _check_field(column, cloc)
        else:
            for key in ("columns", "max_rows"):
                if getattr(field, key):
                    raise Problem(loc + (key,), getattr(field, key), "only a table field has this")
        if field.from_config and field.type != "text":
            raise Problem(loc + ("from_config",), field.from_config, "only a text field can come from the configuration")
    fields = {f.name: f for f in spec.fields}
    for lang in ("zh", "en"):
        language = getattr(spec, lang)
        if language is None:
            continue
        _check_text(fields, (lang, "title"), language.title)
        _check_text(fields, (lang, "subtitle"), language.subtitle)
        _check_text(fields, (lang, "issuer"), language.issuer)
        for b, block in enumerate(language.blocks):
            _check_block(fields, (lang, "blocks", b), block)


def _check_field(field: ColumnSpec, loc: tuple) -> None:
    if field.type == "choice":
        if not field.options:
            raise Problem(loc + ("options",), None, "a choice field needs [[fields.options]]")
        values = [o.value for o in field.options]
        for k, value in enumerate(values):
            if value in values[:k]:
                raise Problem(loc + ("options", k, "value"), value, "two options share this value")
    elif field.options:
        raise Problem(loc + ("options",), None, "only a choice field has options")
    if field.pattern is not None:
        if field.type != "text":
            raise Problem(loc + ("pattern",), field.pattern, "only a text field has a pattern")
        try:
            re.compile(field.pattern)
        except re.error as exc:
            raise Problem(loc + ("pattern",), field.pattern, f"not a regular expression: {exc}") from None
    if field.max_length is not None and field.type != "text":
        raise Problem(loc + ("max_length",), field.max_length, "only a text field has max_length")
    if field.type == "text" and field.max_length is None:
        raise Problem(loc + ("max_length",), None, "a text field needs max_length (it must fit on the page)")
    for key in ("min", "max"):
        value = getattr(field, key)
        if value is not None and field.type not in ("integer", "money"):
            raise Problem(loc + (key,), value, "only integer and money fields have min and max")
        if value is not None and field.type == "integer" and not isinstance(value, int):
            raise Problem(loc + (key,), value, "an integer field's bounds are whole numbers")
    if field.min is not None and field.max is not None and field.min > field.max:
        raise Problem(loc + ("max",), field.max, f"smaller than min ({field.min})")


def _check_text(fields: dict[str, FieldSpec], loc: tuple, text: str) -> None:
    try:
        names = placeholders(text)
    except ValueError as exc:
        raise Problem(loc, text, str(exc)) from None
    for name in names:
        if name not in fields:
            raise Problem(loc, text, f"placeholder {{{name}}} names no field (known: {', '.join(fields)})")
        if fields[name].type == "table":
            raise Problem(loc, text, f"{{{name}}} is a table: show it with a table block")


def _check_block(fields: dict[str, FieldSpec], loc: tuple, block: BlockSpec) -> None:
    given = [k for k in BLOCK_KINDS if getattr(block, k) is not None]
    if len(given) != 1:
        raise Problem(loc, None, f"a block is exactly one of {', '.join(BLOCK_KINDS)} "
                                 f"(this one has {', '.join(given) or 'none'})")
    kind = given[0]
    if block.when is not None:
        if block.when not in fields:
            raise Problem(loc + ("when",), block.when, "names no field")
        if fields[block.when].required and not fields[block.when].from_config:
            raise Problem(loc + ("when",), block.when, "a required field always has a value")
    if block.caption and kind != "code":
        raise Problem(loc + ("caption",), block.caption, "only a code block has a caption")
    if kind in ("paragraph", "heading", "note"):
        _check_text(fields, loc + (kind,), getattr(block, kind))
    elif kind == "facts":
        if not block.facts:
            raise Problem(loc + ("facts",), [], "list at least one field")
        for name in block.facts:
            if name not in fields:
                raise Problem(loc + ("facts",), name, "names no field")
            if fields[name].type == "table":
                raise Problem(loc + ("facts",), name, "a table cannot be a fact: use a table block")
    elif kind == "table":
        if block.table not in fields or fields[block.table].type != "table":
            raise Problem(loc + ("table",), block.table, "names no table field")
    elif kind == "code":
        if block.code not in fields or fields[block.code].type != "text":
            raise Problem(loc + ("code",), block.code, "names no text field")
