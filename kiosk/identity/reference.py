"""The reference photo: whose face the live one must match.

Sources, in the order of ``[identity] reference_sources``:

* ``idcard``: the photo on the resident's ID card, decoded from its WLT bytes by the
  reader's decoder plug-in (``[idcard] wlt_decoder``; the simulator's in demo mode);
* ``household``: the photo in the resident's household record (一户一档), synced from
  the server, asked of anything with ``photo_of(id_number) -> bytes | None``.

When none gives a photo, :func:`find_reference` raises :class:`NoReference`, and the
flow offers the fallback the config allows (staff-assisted, video, or none).

The photo is decoded in memory, its face embedded, and the decoded pixels are
overwritten at once: a :class:`Reference` keeps only the embedding, and
:meth:`Reference.forget` wipes that when the session ends.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Iterable, Protocol

import cv2
import numpy as np

from kiosk.identity.errors import BadReference, NoReference
from kiosk.identity.faces import FaceEngine

log = logging.getLogger("kiosk.identity")

MAX_BYTES = 20 * 1024 * 1024


class HouseholdPhotos(Protocol):
    def photo_of(self, id_number: str) -> bytes | None:
        """The household record's photo of this resident (JPEG/PNG bytes), or None."""
        ...


class CardPhotos(Protocol):
    """What :class:`drivers.idcard.IdCardReader` offers: the decoder (None when no
    WLT library is configured) and the decoded photo."""

    decoder: object | None

    def photo_image(self, record) -> bytes: ...


@dataclass
class Reference:
    source: str  # "idcard" | "household" | "file"
    embedding: np.ndarray = field(repr=False)
    face_score: float
    face_width: float  # pixels, after scaling small photos up
    took_ms: float

    def forget(self) -> None:
        """Overwrite the embedding: it identifies a person as well as the photo does."""
        self.embedding.fill(0.0)


def decode_image(data: bytes, *, what: str = "reference photo") -> np.ndarray:
    """JPEG/PNG/BMP bytes → BGR array, in memory."""
    if not data:
        raise BadReference(f"the {what} is empty")
    if len(data) > MAX_BYTES:
        raise BadReference(f"the {what} is {len(data)} bytes; a photo is far smaller")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BadReference(f"the {what} is not an image OpenCV can read", hint="use a JPEG, PNG or BMP")
    return image


def enrol(engine: FaceEngine, image: np.ndarray, source: str) -> Reference:
    """Embed the one face of a reference picture, then wipe the picture's pixels.

    A group photo or a photo with no face is refused: with two faces we could
    verify against the wrong one."""
    started = time.perf_counter()
    scaled, faces = engine.portrait(image)
    try:
        if not faces:
            raise BadReference(f"no face found in the {source} photo",
                               hint="the photo must show one face, looking ahead")
        if len(faces) > 1 and faces[1].width > 0.6 * faces[0].width:
            raise BadReference(f"{len(faces)} faces in the {source} photo; a reference shows exactly one")
        face = faces[0]
        embedding = engine.embed(scaled, face)
    finally:
        if scaled is not image and scaled.flags.writeable:
            scaled.fill(0)
    return Reference(source, embedding, face.score, face.width, (time.perf_counter() - started) * 1000)


def reference_from_bytes(engine: FaceEngine, data: bytes, source: str) -> Reference:
    image = decode_image(data, what=f"{source} photo")
    try:
        return enrol(engine, image, source)
    finally:
        image.fill(0)  # our own decoded copy: gone before anything else runs


def find_reference(engine: FaceEngine, record, *, sources: Iterable[str], reader: CardPhotos | None = None,
                   household: HouseholdPhotos | None = None) -> Reference:
    """The first usable reference, in the order of ``sources``; :class:`NoReference`
    (listing why each source gave none) when there is none."""
    why: list[str] = []
    for source in sources:
        data: bytes | None = None
        if source == "idcard":
            if reader is None or getattr(reader, "decoder", None) is None:
                why.append("idcard: no WLT photo decoder configured")
                continue
            try:
                data = reader.photo_image(record)
            except Exception as exc:  # the decoder is a vendor plug-in: any failure means "no photo"
                why.append(f"idcard: the photo could not be decoded ({exc})")
                log.warning("ID card photo not decoded: %s", exc)
                continue
        elif source == "household":
            if household is None:
                why.append("household: no household records on this appliance")
                continue
            data = household.photo_of(record.id_number)
            if not data:
                why.append("household: the record has no photo")
                continue
        else:
            why.append(f"{source}: unknown source")
            continue
        try:
            return reference_from_bytes(engine, data, source)
        except BadReference as exc:
            why.append(f"{source}: {exc.message}")
            log.warning("reference from %s unusable: %s", source, exc.message)
    raise NoReference("no usable reference photo (" + "; ".join(why) + ")",
                      hint="offer staff-assisted or video verification")
