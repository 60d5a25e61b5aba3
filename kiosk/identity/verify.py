"""The entry points a flow calls: verify the resident on the card, or compare two
still pictures (the maintainer's check, no liveness)."""
from __future__ import annotations

import time

import numpy as np

from kiosk.identity.errors import BadReference, NoReference
from kiosk.identity.faces import FaceEngine
from kiosk.identity.feeds import FrameFeed
from kiosk.identity.reference import HouseholdPhotos, Reference, find_reference
from kiosk.identity.session import (AttemptListener, Decision, IdentityCheck, PromptListener, Verdict)


def no_reference(settings, why: str) -> Decision:
    """No photo to compare with: the decision says which fallback the flow offers."""
    fallback = None if settings.fallback == "none" else settings.fallback
    return Decision(Verdict.NO_REFERENCE, settings.threshold, reason=why, fallback=fallback, liveness="not checked")


def verify_resident(engine: FaceEngine, settings, record, feed: FrameFeed, *, reader=None,
                    household: HouseholdPhotos | None = None, on_prompt: PromptListener | None = None,
                    on_attempt: AttemptListener | None = None) -> Decision:
    """The whole check for the resident whose ID card ``record`` was just read."""
    try:
        reference = find_reference(engine, record, sources=settings.reference_sources, reader=reader,
                                   household=household)
    except NoReference as exc:
        return no_reference(settings, exc.message)
    with IdentityCheck(engine, settings, reference) as check:
        return check.run(feed, on_prompt=on_prompt, on_attempt=on_attempt)


def match_still(engine: FaceEngine, reference: Reference, image: np.ndarray, threshold: float) -> Decision:
    """Compare a still picture with the reference: similarity only, no liveness."""
    started = time.perf_counter()
    scaled, faces = engine.portrait(image)
    if not faces:
        raise BadReference("no face found in the live picture")
    score = FaceEngine.similarity(reference.embedding, engine.embed(scaled, faces[0]))
    took = (time.perf_counter() - started) * 1000
    verdict = Verdict.MATCH if score >= threshold else Verdict.NO_MATCH
    reason = f"similarity {score:.3f} {'≥' if score >= threshold else '<'} threshold {threshold:.3f}"
    if len(faces) > 1:
        reason += f" ({len(faces)} faces in the live picture: the largest was compared)"
    return Decision(verdict, threshold, score, reason, reference.source, "not checked", None, [],
                    {"reference_ms": reference.took_ms, "live_ms": took, "total_ms": reference.took_ms + took})
