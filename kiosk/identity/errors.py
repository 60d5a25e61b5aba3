"""Errors of face verification::

    IdentityError                 base; ``hint`` says what a person should do next
    ├── ModelError                the face models cannot be used (start-up)
    │   ├── ModelMissing          a model file is not where the install put it
    │   └── ModelTampered         a model file's SHA-256 is not the pinned one
    ├── ReferenceError            the reference photo cannot be used
    │   ├── NoReference           no source gave a photo (the flow offers the fallback)
    │   └── BadReference          not an image, or not exactly one face in it
    └── FeedError                 the camera stopped delivering frames mid-check

A failed check (no match, not live) is not an error: it is a :class:`Decision`.
Camera errors are translated to :class:`FeedError` at this package's boundary.
"""
from __future__ import annotations


class IdentityError(Exception):
    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message + (f" — {hint}" if hint else ""))


class ModelError(IdentityError):
    pass


class ModelMissing(ModelError):
    pass


class ModelTampered(ModelError):
    pass


class ReferenceError(IdentityError):  # noqa: A001 - the domain's word; never the builtin here
    pass


class NoReference(ReferenceError):
    pass


class BadReference(ReferenceError):
    pass


class FeedError(IdentityError):
    pass
