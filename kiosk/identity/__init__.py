"""Identity at the kiosk: 1:1 face verification of the resident against the photo
of their ID card (or household record), with an active liveness challenge.

Plain Python, no Qt: the kiosk's screens run it on a worker thread and show its
prompts. Frames come from :mod:`drivers.camera`; nothing here opens a camera.

==============  ====================================================================
``models``      the YuNet and SFace files that come with the install; SHA-256 check
``faces``       :class:`FaceEngine`: detect (five landmarks, head yaw), embed, compare
``eyes``        open or shut eyes for the blink challenge (Haar cascades; SHA-256 check)
``reference``   the reference photo: ID card (WLT decoder) or household record
``challenge``   the randomised liveness challenges and their prompts (Chinese, English)
``feeds``       where live frames come from: a :class:`drivers.camera.Camera`, a still
``session``     :class:`IdentityCheck`: attempts, the per-frame checks, :class:`Decision`
``sim``         :class:`RehearsalFace`: a portrait whose head turns (or eyes blink) when asked
``__main__``    ``python -m kiosk.identity verify …``, the maintainer's check
==============  ====================================================================

Personal data: the reference photo is decoded in memory, embedded and overwritten;
frames are looked at and dropped; :meth:`IdentityCheck.close` wipes the reference's
embedding. Only the decision, scores and timings leave (:meth:`Decision.record`).
"""
from kiosk.identity.challenge import ChallengeKind, Prompt
from kiosk.identity.errors import (BadReference, FeedError, IdentityError, ModelError, ModelMissing,
                                   ModelTampered, NoReference)
from kiosk.identity.faces import Face, FaceEngine
from kiosk.identity.feeds import CameraFeed, FrameFeed, StillFeed
from kiosk.identity.models import check_models
from kiosk.identity.reference import HouseholdPhotos, Reference, find_reference, reference_from_bytes
from kiosk.identity.session import AttemptResult, Decision, IdentityCheck, Verdict
from kiosk.identity.verify import match_still, no_reference, verify_resident

__all__ = ["ChallengeKind", "Prompt", "IdentityError", "ModelError", "ModelMissing", "ModelTampered",
           "NoReference", "BadReference", "FeedError", "Face", "FaceEngine", "CameraFeed", "FrameFeed",
           "StillFeed", "check_models", "HouseholdPhotos", "Reference", "find_reference", "reference_from_bytes",
           "AttemptResult", "Decision", "IdentityCheck", "Verdict", "match_still", "no_reference",
           "verify_resident"]
