"""Loading templates: ``NAME.toml`` files in the templates folder, each with an
example data file ``NAME.example.json`` beside it (used by ``render --example``).

A broken template is rejected with ONE line naming the file, the line and the field::

    assets/forms/residence_proof.toml:27: fields[3].type = 'dat': should be 'text', 'id_number', …

The template's id is its file name without ``.toml``. Its fingerprint (the SHA-256 of
the file) goes into each PDF's certificate record, so ``verify`` knows whether the
page in a file can be compared with a fresh rendering of the same template.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from appliance.tomlpos import dotted, find_line
from forms.errors import TemplateError, TemplateNotFound
from forms.schema import IDENT, FieldSpec, LanguageSpec, Problem, TemplateSpec, check

EXAMPLE_SUFFIX = ".example.json"


@dataclass(frozen=True)
class Template:
    id: str
    path: Path
    spec: TemplateSpec
    fingerprint: str  # hex SHA-256 of the file
    fields: dict[str, FieldSpec] = field(repr=False)

    @property
    def name(self) -> str:
        return self.spec.template.name

    @property
    def languages(self) -> list[str]:
        return ["zh"] + (["en"] if self.spec.en is not None else [])

    def language(self, lang: str) -> LanguageSpec:
        spec = getattr(self.spec, lang, None) if lang in ("zh", "en") else None
        if spec is None:
            raise TemplateError(str(self.path), f"has no {lang!r} variant (it has {', '.join(self.languages)})")
        return spec

    @property
    def example_path(self) -> Path:
        return self.path.with_name(self.id + EXAMPLE_SUFFIX)

    def example(self) -> dict[str, Any]:
        """The example data shipped with the template (for previews and tests)."""
        path = self.example_path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TemplateError(str(path), f"no example data for template {self.id} "
                                           "(every template ships NAME.example.json beside it)") from None
        except json.JSONDecodeError as exc:
            raise TemplateError(str(path), f"not valid JSON: {exc.msg}", line=exc.lineno) from None
        if not isinstance(data, dict):
            raise TemplateError(str(path), "expected a JSON object of field values")
        data.pop("_comment", None)
        return data

    def describe_fields(self) -> list[dict[str, Any]]:
        """Each field's name, type, whether required, and labels (``fields --json``)."""
        out = []
        for spec in self.spec.fields:
            entry: dict[str, Any] = {"name": spec.name, "type": spec.type,
                                     "required": spec.required and not spec.from_config,
                                     "label": spec.label, "label_en": spec.label_en}
            if spec.from_config:
                entry["from_config"] = spec.from_config
            if spec.max_length is not None:
                entry["max_length"] = spec.max_length
            if spec.options:
                entry["options"] = [o.value for o in spec.options]
            if spec.type == "table":
                entry["max_rows"] = spec.max_rows
                entry["columns"] = [{"name": c.name, "type": c.type, "required": c.required,
                                     "label": c.label, "label_en": c.label_en} for c in spec.columns]
            out.append(entry)
        return out


def load_template(path: str | os.PathLike) -> Template:
    """Read and check one template file; raise :class:`TemplateError` naming the line."""
    path = Path(path)
    name = str(path)
    template_id = path.name.removesuffix(".toml")
    if not re.match(IDENT, template_id) or not path.name.endswith(".toml"):
        raise TemplateError(name, "a template's file name is its id: lower-case letters, digits and '_', "
                                  "then .toml (e.g. residence_proof.toml)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TemplateNotFound(f"{name}: no such template file") from None
    except OSError as exc:
        raise TemplateError(name, f"cannot read it ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TemplateError(name, "not UTF-8 text; save the file as UTF-8", line=line) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise TemplateError(name, f"not valid TOML: {exc}", line=int(match.group(1)) if match else None) from None
    try:
        spec = TemplateSpec.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            message, value = "unknown key (a typo? forms/schema.py lists the keys)", error.get("input")
        elif kind == "missing":
            message, value = "required key is missing", None
        else:
            message = error["msg"].replace("Input should be", "should be").replace("Value error, ", "")
            value = error.get("input")
        if isinstance(value, (dict, list)):
            value = None
        raise TemplateError(name, message, key=dotted(loc), value=value, line=find_line(text, loc)) from None
    try:
        check(spec)
    except Problem as problem:
        raise TemplateError(name, problem.message, key=dotted(problem.loc), value=problem.value,
                            line=find_line(text, problem.loc)) from None
    return Template(template_id, path, spec, hashlib.sha256(data).hexdigest(),
                    {f.name: f for f in spec.fields})


class Catalogue:
    """The templates in a folder, loaded once each (a changed file is reloaded)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self._cache: dict[str, tuple[float, Template]] = {}

    def ids(self) -> list[str]:
        if not self.folder.is_dir():
            raise TemplateNotFound(f"{self.folder}: no templates folder",
                                   hint="set [forms] templates_dir to the folder of NAME.toml files")
        return sorted(p.name.removesuffix(".toml") for p in self.folder.glob("*.toml"))

    def get(self, template_id: str) -> Template:
        path = self.folder / f"{template_id}.toml"
        if not re.match(IDENT, template_id) or not path.is_file():
            known = ", ".join(self.ids()) if self.folder.is_dir() else "none"
            raise TemplateNotFound(f"no template {template_id!r} in {self.folder} (known: {known})")
        mtime = path.stat().st_mtime_ns
        cached = self._cache.get(template_id)
        if cached and cached[0] == mtime:
            return cached[1]
        template = load_template(path)
        self._cache[template_id] = (mtime, template)
        return template

    def all(self) -> list[Template]:
        return [self.get(t) for t in self.ids()]

    def __repr__(self) -> str:
        return f"<Catalogue {self.folder}>"


