"""One resident's face check: up to ``attempts`` tries, each a settle → challenge(s)
→ look-back sequence on live frames, and the :class:`Decision`.

An attempt, frame by frame:

1. **settle**: ``steady_frames`` frames in a row with exactly one face, holding
   still. That face's yaw is the baseline, and its embedding must match the
   reference (``threshold``), or the attempt ends at once as ``no_match``.
2. **challenge** (``challenge_count`` of them, drawn at random): the yaw must move
   ``turn_ratio`` eye distances the asked way and hold for two frames; the other
   way fails. On the way, one frame is embedded and must still be the face of
   step 1 (a photo held up for step 1 and a live face for the turn fails here).
   A **blink** (:mod:`kiosk.identity.eyes`): with the head still (yaw within
   ``turn_ratio / 2`` of the baseline) the eyes are seen open, then shut for at
   most ``BLINK_MAX`` seconds on frames where the face is still detected, then open
   again. A frame without the face cancels the blink under way (a hand over the
   face is no blink). The first face frame, every shut-eye frame and the
   reopened frame are embedded and must be the face of step 1.
3. **look back**: ``steady_frames`` frontal frames; the last is embedded and must
   match the reference again and the face of step 1 (a photo swapped in after the
   turn fails here).

On every frame from step 1 on, any second face in view fails the attempt, and so
does a face that jumps across the picture or vanishes for longer than a blink of
the detector. Time limits count frame timestamps, not wall time.

The score of an attempt is the lower of its two reference similarities. Frames are
looked at and dropped; the reference's embedding is wiped by :meth:`IdentityCheck.close`.
"""
from __future__ import annotations

import logging
import random
import statistics
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

import numpy as np

from drivers.camera import Frame
from kiosk.identity import challenge as challenges
from kiosk.identity.challenge import DIRECTION, ChallengeKind, Prompt
from kiosk.identity.eyes import Eye
from kiosk.identity.faces import Face, FaceEngine
from kiosk.identity.feeds import FrameFeed
from kiosk.identity.reference import Reference

log = logging.getLogger("kiosk.identity")

FRAME_WAIT = 2.0  # seconds of wall time to wait for one frame before the camera counts as lost
SECOND_FACE = 0.33  # a face at least this fraction of the main one's width counts as a second person
HOLD_FRAMES = 2  # a turn must be held this many frames
MAX_GAP = 0.5  # seconds without a face (from step 1 on) that end the attempt
CONTINUITY_TURNED = 0.4  # live-to-live similarity, half-turned frame vs the settled face
CONTINUITY_FRONTAL = 0.6  # live-to-live similarity, looking back vs the settled face
JUMP = 0.5  # face widths the face may move between frames 0.1 s apart
BLINK_MAX = 1.0  # seconds the eyes may stay shut in a blink (a real one: 0.1–0.4 s)
STILL = 0.25  # face widths the face may move between frames while blinking


class Verdict(str, Enum):
    MATCH = "match"
    NO_MATCH = "no_match"  # a live face that is not the reference's
    NOT_LIVE = "not_live"  # the challenge was not met: a still picture, a wrong turn, a swapped face
    NO_FACE = "no_face"  # nobody held still in front of the camera in time
    MULTIPLE_FACES = "multiple_faces"
    NO_REFERENCE = "no_reference"  # no photo to compare with: the config's fallback applies


@dataclass
class AttemptResult:
    number: int
    verdict: Verdict
    reason: str
    challenges: list[str]
    score: float | None = None  # the lower of the two reference similarities (or the one measured)
    before: float | None = None  # reference similarity, settled face
    after: float | None = None  # reference similarity, looking back
    during: float | None = None  # similarity of the half-turned face to the settled one
    frames: int = 0
    first_at: float = 0.0  # frame timeline (the feed's clock, seconds)
    last_at: float = 0.0
    compute_ms: float = 0.0  # detection and embedding, wall time
    lag_ms: float = 0.0  # wall time from the last frame's arrival to the decision

    @property
    def resident_ms(self) -> float:
        """How long the resident stood there: first to last frame, plus the wait for
        the answer after the last one."""
        return (self.last_at - self.first_at) * 1000 + self.lag_ms

    def as_dict(self) -> dict:
        return {"attempt": self.number, "verdict": self.verdict.value, "reason": self.reason,
                "challenges": self.challenges, "score": _round(self.score), "before": _round(self.before),
                "after": _round(self.after), "during": _round(self.during), "frames": self.frames,
                "resident_ms": round(self.resident_ms, 1), "compute_ms": round(self.compute_ms, 1)}


@dataclass
class Decision:
    verdict: Verdict
    threshold: float
    score: float | None = None
    reason: str = ""
    reference_source: str | None = None
    liveness: str = "checked"  # "checked" | "not checked" (a still --live photo)
    fallback: str | None = None  # what the flow offers now: "staff" | "video" | None
    attempts: list[AttemptResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # ms

    @property
    def matched(self) -> bool:
        return self.verdict is Verdict.MATCH

    def record(self) -> dict:
        """What goes into the case record: the decision, score and timings; never a
        picture or an embedding."""
        return {"decision": self.verdict.value, "matched": self.matched, "score": _round(self.score),
                "threshold": self.threshold, "reason": self.reason, "reference": self.reference_source,
                "liveness": self.liveness, "fallback": self.fallback,
                "timings_ms": {k: round(v, 1) for k, v in self.timings.items()},
                "attempts": [a.as_dict() for a in self.attempts]}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class _Failed(Exception):
    def __init__(self, verdict: Verdict, reason: str) -> None:
        self.verdict, self.reason = verdict, reason
        super().__init__(reason)


PromptListener = Callable[[Prompt], None]
AttemptListener = Callable[[AttemptResult], None]


class IdentityCheck:
    """Verify the resident in front of the camera against one reference.

    ::

        with IdentityCheck(engine, config.identity, reference) as check:
            decision = check.run(CameraFeed(camera), on_prompt=screen.show_prompt)
        case.record_identity(decision.record())
    """

    def __init__(self, engine: FaceEngine, settings, reference: Reference, *,
                 rng: random.Random | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.reference: Reference | None = reference
        self.rng = rng
        self._seq = 0

    def __enter__(self) -> "IdentityCheck":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Wipe the reference: the session is over."""
        if self.reference is not None:
            self.reference.forget()
            self.reference = None

    # -- the whole check -------------------------------------------------------------
    def run(self, feed: FrameFeed, *, on_prompt: PromptListener | None = None,
            on_attempt: AttemptListener | None = None) -> Decision:
        """Up to ``attempts`` attempts; the first that passes is a match. Raises
        :class:`~kiosk.identity.errors.FeedError` when the camera stops."""
        if self.reference is None:
            raise RuntimeError("this IdentityCheck is closed")
        started = time.perf_counter()
        results: list[AttemptResult] = []
        for number in range(1, self.settings.attempts + 1):
            result = self.attempt(feed, number, on_prompt=on_prompt)
            results.append(result)
            log.info("identity attempt %d: %s (%s) score=%s", number, result.verdict.value, result.reason,
                     _round(result.score))
            if on_attempt is not None:
                on_attempt(result)
            if result.verdict is Verdict.MATCH:
                break
        final = results[-1]
        matched = final.verdict is Verdict.MATCH
        scored = [r.score for r in results if r.score is not None]
        fallback = None if matched or self.settings.fallback == "none" else self.settings.fallback
        timings = {"reference_ms": self.reference.took_ms, "total_ms": (time.perf_counter() - started) * 1000,
                   "resident_ms": sum(r.resident_ms for r in results),
                   "compute_ms": sum(r.compute_ms for r in results)}
        return Decision(final.verdict, self.settings.threshold, final.score if matched else max(scored, default=None),
                        final.reason, self.reference.source, "checked", fallback, results, timings)

    # -- one attempt -------------------------------------------------------------------
    def attempt(self, feed: FrameFeed, number: int = 1, *, on_prompt: PromptListener | None = None) -> AttemptResult:
        kinds = challenges.draw(self.settings.challenges, self.settings.challenge_count, self.rng)
        result = AttemptResult(number, Verdict.NOT_LIVE, "", [k.value for k in kinds])
        tell = on_prompt or (lambda p: None)
        run = _Run(self, feed, result)
        try:
            tell(challenges.prompt("look_ahead", number))
            run.settle()
            for step, kind in enumerate(kinds, start=1):
                tell(challenges.prompt(kind.value, number, step))
                if kind is ChallengeKind.BLINK:
                    run.blink()
                else:
                    run.turn(kind)
                last = step == len(kinds)
                if last:
                    tell(challenges.prompt("hold_still" if kind is ChallengeKind.BLINK else "look_back", number))
                run.look_back(final=last)
            result.verdict, result.reason = Verdict.MATCH, "live, and the same face as the reference"
        except _Failed as failed:
            result.verdict, result.reason = failed.verdict, failed.reason
        finally:
            result.lag_ms = (time.perf_counter() - run.last_arrival) * 1000 if run.last_arrival else 0.0
            if run.anchor is not None:
                run.anchor.fill(0.0)  # the live face's embedding: as personal as the frame
        return result


class _Run:
    """The frame loop of one attempt: the checks every frame gets, and the phases."""

    def __init__(self, check: IdentityCheck, feed: FrameFeed, result: AttemptResult) -> None:
        self.check, self.feed, self.result = check, feed, result
        self.engine = check.engine
        self.s = check.settings
        self.threshold = self.s.threshold
        self.baseline = 0.0
        self.anchor: np.ndarray | None = None  # the settled live face's embedding
        self.previous: tuple[Face, float] | None = None  # last face seen and its frame time
        self.last_arrival = 0.0

    # -- frames ------------------------------------------------------------------------
    def _next(self) -> tuple[Frame, list[Face]]:
        frame = self.feed.next_frame(self.check._seq, FRAME_WAIT)
        self.last_arrival = time.perf_counter()
        self.check._seq = frame.seq
        started = time.perf_counter()
        faces = self.engine.detect(frame.image)
        self.result.compute_ms += (time.perf_counter() - started) * 1000
        if not self.result.frames:
            self.result.first_at = frame.at
        self.result.frames += 1
        self.result.last_at = frame.at
        return frame, faces

    def _embed(self, frame: Frame, face: Face) -> np.ndarray:
        started = time.perf_counter()
        vector = self.engine.embed(frame.image, face)
        self.result.compute_ms += (time.perf_counter() - started) * 1000
        return vector

    def _similarity(self, vector: np.ndarray) -> float:
        assert self.check.reference is not None
        return FaceEngine.similarity(self.check.reference.embedding, vector)

    @staticmethod
    def _people(faces: list[Face]) -> int:
        if not faces:
            return 0
        return sum(1 for face in faces if face.width >= SECOND_FACE * faces[0].width)

    def _one_face(self, frame: Frame, faces: list[Face]) -> Face | None:
        """From step 1 on: the one face, or None for a frame without one (allowed
        for MAX_GAP); a second face or a jump ends the attempt."""
        people = self._people(faces)
        if people > 1:
            raise _Failed(Verdict.MULTIPLE_FACES, f"{people} faces in view; only the resident may be in front")
        if people == 0:
            if self.previous is not None and frame.at - self.previous[1] > MAX_GAP:
                raise _Failed(Verdict.NOT_LIVE, "the face left the picture")
            return None
        face = faces[0]
        if self.previous is not None:
            before, at = self.previous
            dx, dy = face.centre[0] - before.centre[0], face.centre[1] - before.centre[1]
            allowed = JUMP * before.width * max(1.0, (frame.at - at) / 0.1)
            if (dx * dx + dy * dy) ** 0.5 > allowed:
                raise _Failed(Verdict.NOT_LIVE, "the face jumped across the picture (swapped?)")
        self.previous = (face, frame.at)
        return face

    # -- phases ------------------------------------------------------------------------
    def settle(self) -> None:
        limit = self.s.settle_timeout_ms / 1000
        steady: list[tuple[Frame, Face]] = []
        crowded = False
        started: float | None = None
        while True:
            frame, faces = self._next()
            started = frame.at if started is None else started
            if frame.at - started > limit:
                if crowded:
                    raise _Failed(Verdict.MULTIPLE_FACES, "more than one face in view while settling")
                raise _Failed(Verdict.NO_FACE, "no single face held still in front of the camera in time")
            people = self._people(faces)
            crowded = crowded or people > 1
            if people != 1:
                steady.clear()
                continue
            face = faces[0]
            if abs(face.yaw) > self.s.turn_ratio:  # not looking at the screen: no baseline from that
                steady.clear()
                continue
            if steady:
                yaws = [f.yaw for _, f in steady]
                last = steady[-1][1]
                moved = ((face.centre[0] - last.centre[0]) ** 2 + (face.centre[1] - last.centre[1]) ** 2) ** 0.5
                if abs(face.yaw - statistics.median(yaws)) > self.s.turn_ratio / 2 or moved > 0.25 * last.width:
                    steady.clear()
            steady.append((frame, face))
            if len(steady) >= self.s.steady_frames:
                break
        self.baseline = statistics.median(f.yaw for _, f in steady)
        self.previous = (face, frame.at)
        self.anchor = self._embed(frame, face)
        self.result.before = self.result.score = self._similarity(self.anchor)
        if self.result.before < self.threshold:
            raise _Failed(Verdict.NO_MATCH, f"the face does not match the reference "
                                            f"({self.result.before:.3f} < {self.threshold:.3f})")

    def turn(self, kind: ChallengeKind) -> None:
        limit = self.s.challenge_timeout_ms / 1000
        need = self.s.turn_ratio
        sign = DIRECTION[kind]
        started: float | None = None
        held = 0
        while True:
            frame, faces = self._next()
            started = frame.at if started is None else started
            if frame.at - started > limit:
                raise _Failed(Verdict.NOT_LIVE, f"no {kind.value.replace('_', ' ')} within {limit:g} s")
            face = self._one_face(frame, faces)
            if face is None:
                held = 0
                continue
            moved = (face.yaw - self.baseline) * sign
            if moved <= -need:
                raise _Failed(Verdict.NOT_LIVE, f"turned the wrong way (asked: {kind.value.replace('_', ' ')})")
            if self.result.during is None and moved >= need / 2:
                # Half-way round the face still looks much like the settled one.
                self.result.during = FaceEngine.similarity(self.anchor, self._embed(frame, face))
                if self.result.during < CONTINUITY_TURNED:
                    raise _Failed(Verdict.NOT_LIVE, f"the face changed during the challenge "
                                                    f"({self.result.during:.3f} to the settled face)")
            held = held + 1 if moved >= need else 0
            if held >= HOLD_FRAMES:
                if self.result.during is None:  # turned in one frame: check the turned face itself
                    self.result.during = FaceEngine.similarity(self.anchor, self._embed(frame, face))
                    if self.result.during < CONTINUITY_TURNED:
                        raise _Failed(Verdict.NOT_LIVE, "the face changed during the challenge")
                return

    def _same_face(self, frame: Frame, face: Face, least: float, when: str) -> None:
        assert self.anchor is not None
        same = FaceEngine.similarity(self.anchor, self._embed(frame, face))
        self.result.during = same if self.result.during is None else min(self.result.during, same)
        if same < least:
            raise _Failed(Verdict.NOT_LIVE, f"the face changed during the challenge ({when}: "
                                            f"{same:.3f} to the settled face)")

    def blink(self) -> None:
        reader = self.engine.eyes
        if reader is None:
            raise RuntimeError("the blink challenge needs FaceEngine.load()'s eye reader (the Haar cascades)")
        limit = self.s.challenge_timeout_ms / 1000
        started: float | None = None
        seen = False  # the first face frame was embedded
        opened = False  # eyes seen open (since the last interruption)
        shut_at: float | None = None  # when the eyes were first seen shut in this blink
        hidden = longer = False
        opened_band: tuple[float | None, float | None] = (None, None)  # each eye's dark band, last seen open
        while True:
            frame, faces = self._next()
            started = frame.at if started is None else started
            if frame.at - started > limit:
                why = (" (the face was hidden, which is not a blink)" if hidden
                       else f" (eyes shut longer than {BLINK_MAX:g} s)" if longer else "")
                raise _Failed(Verdict.NOT_LIVE, f"no blink within {limit:g} s{why}")
            before = self.previous
            face = self._one_face(frame, faces)
            if face is None:  # hidden or lost: whatever was under way is no blink
                hidden = hidden or shut_at is not None or opened
                opened, shut_at = False, None
                continue
            moved = 0.0 if before is None else (
                (face.centre[0] - before[0].centre[0]) ** 2 + (face.centre[1] - before[0].centre[1]) ** 2) ** 0.5
            if abs(face.yaw - self.baseline) > self.s.turn_ratio / 2 or moved > STILL * face.width:
                opened, shut_at = False, None  # the head moved: start again, still
                continue
            if not seen:
                seen = True
                self._same_face(frame, face, CONTINUITY_FRONTAL, "asked to blink")
            reading = reader.read(frame.image, face, opened_band)
            opened_band = tuple(band if eye is Eye.OPEN else was  # type: ignore[assignment]
                                for eye, band, was in zip(reading.eyes, reading.band, opened_band))
            state = reading.state
            if state is Eye.OPEN:
                if shut_at is not None and frame.at - shut_at <= BLINK_MAX:  # open, shut, open: a blink
                    self._same_face(frame, face, CONTINUITY_FRONTAL, "after the blink")
                    return
                longer = longer or shut_at is not None
                opened, shut_at = True, None
            elif state is Eye.CLOSED and opened:
                # Every shut-eye frame is embedded: someone else's face with shut eyes fails here.
                self._same_face(frame, face, CONTINUITY_TURNED, "eyes shut")
                if shut_at is None:
                    shut_at = frame.at
                elif frame.at - shut_at > BLINK_MAX:
                    longer = True
                    opened, shut_at = False, None  # shut too long: not a blink; see them open again

    def look_back(self, *, final: bool) -> None:
        limit = self.s.challenge_timeout_ms / 1000
        started: float | None = None
        steady = 0
        while True:
            frame, faces = self._next()
            started = frame.at if started is None else started
            if frame.at - started > limit:
                raise _Failed(Verdict.NOT_LIVE, f"did not look back at the screen within {limit:g} s")
            face = self._one_face(frame, faces)
            if face is None or abs(face.yaw - self.baseline) > self.s.turn_ratio / 2:
                steady = 0
                continue
            steady += 1
            if steady >= (self.s.steady_frames if final else 1):
                break
        if not final:
            return
        vector = self._embed(frame, face)
        same = FaceEngine.similarity(self.anchor, vector)
        self.result.after = self._similarity(vector)
        self.result.score = min(self.result.before or 0.0, self.result.after)
        if same < CONTINUITY_FRONTAL:
            raise _Failed(Verdict.NOT_LIVE, f"another face after the challenge ({same:.3f} to the settled face)")
        if self.result.after < self.threshold:
            raise _Failed(Verdict.NO_MATCH, f"the face does not match the reference after the challenge "
                                            f"({self.result.after:.3f} < {self.threshold:.3f})")
