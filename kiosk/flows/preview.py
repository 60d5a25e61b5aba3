"""A certificate's text before it is issued, for the screen's preview: the
template's blocks with the checked data filled in (ID numbers masked as printed),
without taking a serial or rendering a PDF. Plain Python."""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Preview:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    issuer: str = ""


def _format(text: str, filled: Any, lang: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return text.format(**{name: filled.display(name, lang) for name in names})


def preview(office: Any, template_id: str, data: Mapping[str, Any], lang: str = "zh") -> Preview:
    """Raises :class:`forms.errors.DataError` (naming the field) for bad data."""
    filled = office.fill(template_id, data)
    template = office.catalogue.get(template_id)
    spec = template.language(lang)
    paragraphs, notes, facts = [], [], []
    for block in spec.blocks:
        if block.when and not filled.has(block.when):
            continue
        if block.paragraph:
            paragraphs.append(_format(block.paragraph, filled, lang))
        elif block.note:
            notes.append(_format(block.note, filled, lang))
        elif block.facts:
            for name in block.facts:
                field_spec = template.fields[name]
                facts.append((field_spec.label if lang == "zh" else (field_spec.label_en or field_spec.label),
                              filled.display(name, lang)))
    return Preview(spec.title, paragraphs, notes, facts, _format(spec.issuer, filled, lang))
