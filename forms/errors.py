"""Errors raised by forms/::

    FormsError                 base of everything forms/ raises
    ├── TemplateError          a template file is broken: names the file, the line and
    │                          the field (``residence_proof.toml:31: fields[2].type = "dat": …``)
    ├── TemplateNotFound       no template by that name in the templates folder
    ├── DataError              the data does not fit the template: a missing required
    │                          field, an unknown key, a bad value; names the field
    ├── FontMissing            the CJK font file is missing or unusable: names the file
    │                          and the Debian package that provides it
    ├── LayoutError            the content does not fit on one page
    ├── CodeError              a text is not a well-formed certificate code (QR)
    └── NotACertificate        a PDF carries no certificate record

Verification outcomes (valid, tampered, unknown key, revoked, expired) are not
errors: :class:`forms.verify.Verdict`. Messages never contain field values of the
personal kind (ID numbers are masked, names are not repeated).
"""
from __future__ import annotations


class FormsError(Exception):
    """Base of every forms/ error. ``hint`` says what to do next."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message + (f" — {hint}" if hint else ""))


class TemplateError(FormsError):
    """A template file is broken. ``str()`` is ``FILE:LINE: FIELD = VALUE: message``."""

    def __init__(self, file: str, message: str, *, key: str = "", value: object = None,
                 line: int | None = None) -> None:
        self.file, self.key, self.value, self.line = file, key, value, line
        where = f"{file}:{line}" if line else file
        what = f"{key} = {value!r}: " if key and value is not None else (f"{key}: " if key else "")
        super().__init__(f"{where}: {what}{message}")


class TemplateNotFound(FormsError):
    pass


class DataError(FormsError):
    """The data does not fit the template; ``field`` names the field (``payments[2].amount``)."""

    def __init__(self, template: str, field: str, message: str) -> None:
        self.template, self.field = template, field
        super().__init__(f"{template}: {field}: {message}" if field else f"{template}: {message}")


class FontMissing(FormsError):
    pass


class LayoutError(FormsError):
    pass


class CodeError(FormsError):
    """Not a well-formed certificate code; verification reports it as tampered."""


class NotACertificate(FormsError):
    pass
