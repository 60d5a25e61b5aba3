"""The liveness challenge on frame sequences: a rehearsal face that turns as asked
passes; a still picture, a wrong turn, a second face and swapped faces fail."""
import random

import cv2
import numpy as np
import pytest

from kiosk.identity import IdentityCheck, StillFeed, Verdict, reference_from_bytes
from kiosk.identity.challenge import ChallengeKind, draw
from kiosk.identity.sim import RehearsalFace

from .conftest import id_card_photo, jpeg


@pytest.fixture
def check(engine, settings, astronaut, rng):
    reference = reference_from_bytes(engine, id_card_photo(astronaut), "idcard")
    with IdentityCheck(engine, settings, reference, rng=rng) as check:
        yield check


def test_a_resident_who_turns_as_asked_matches(check, engine, astronaut):
    resident = RehearsalFace(engine, astronaut)
    decision = check.run(resident, on_prompt=resident.hear)
    assert decision.verdict is Verdict.MATCH, decision.reason
    assert len(decision.attempts) == 1 and decision.score >= decision.threshold
    attempt = decision.attempts[0]
    assert attempt.before >= decision.threshold and attempt.after >= decision.threshold and attempt.during > 0.5
    assert [p.kind for p in resident.prompts] == ["look_ahead", attempt.challenges[0], "look_back"]
    assert attempt.resident_ms < 3000  # frame timeline: the budget for the resident


@pytest.mark.parametrize("kind", ["turn_left", "turn_right"])
def test_each_challenge_kind_is_checked_both_ways(engine, settings, astronaut, kind):
    settings = settings.model_copy(update={"challenges": [kind], "attempts": 1})
    reference = reference_from_bytes(engine, id_card_photo(astronaut), "idcard")
    obeying = RehearsalFace(engine, astronaut)
    with IdentityCheck(engine, settings, reference) as check:
        assert check.run(obeying, on_prompt=obeying.hear).matched
        contrary = RehearsalFace(engine, astronaut, wrong_way=True)
        decision = check.run(contrary, on_prompt=contrary.hear)
    assert decision.verdict is Verdict.NOT_LIVE and "wrong way" in decision.reason


def test_two_challenges_in_one_attempt(engine, settings, astronaut, rng):
    settings = settings.model_copy(update={"challenge_count": 2})
    reference = reference_from_bytes(engine, id_card_photo(astronaut), "idcard")
    resident = RehearsalFace(engine, astronaut)
    with IdentityCheck(engine, settings, reference, rng=rng) as check:
        decision = check.run(resident, on_prompt=resident.hear)
    assert decision.matched, decision.reason
    assert len(decision.attempts[0].challenges) == 2


def test_a_still_picture_fails_liveness_in_every_attempt(check, astronaut):
    frame = np.full((480, 640, 3), 120, np.uint8)
    frame[:, 64:576] = cv2.resize(astronaut, (512, 480))
    decision = check.run(StillFeed(frame))
    assert decision.verdict is Verdict.NOT_LIVE
    assert len(decision.attempts) == 3 and all(a.verdict is Verdict.NOT_LIVE for a in decision.attempts)
    assert all(a.before >= decision.threshold for a in decision.attempts)  # the face matched; it never moved
    assert decision.fallback == "staff" and not decision.matched


def test_a_resident_who_ignores_the_prompt_fails(check, engine, astronaut):
    resident = RehearsalFace(engine, astronaut, obey=False)
    assert check.run(resident, on_prompt=resident.hear).verdict is Verdict.NOT_LIVE


def test_a_live_impostor_behind_the_owners_photo_fails_during_the_challenge(check, engine, astronaut, stranger):
    attacker = RehearsalFace(engine, astronaut, faces={"turn": stranger})
    decision = check.run(attacker, on_prompt=attacker.hear)
    assert not decision.matched
    assert decision.attempts[0].verdict is Verdict.NOT_LIVE and "changed during" in decision.attempts[0].reason


def test_a_photo_swapped_in_after_the_challenge_fails(check, engine, astronaut, stranger):
    swapper = RehearsalFace(engine, astronaut, faces={"after": stranger})
    decision = check.run(swapper, on_prompt=swapper.hear)
    assert not decision.matched
    assert all(a.verdict is Verdict.NOT_LIVE and a.during > 0.5 for a in decision.attempts)
    assert all("another face after" in a.reason for a in decision.attempts)


def test_another_person_who_turns_as_asked_does_not_match(check, engine, stranger):
    other = RehearsalFace(engine, stranger)
    decision = check.run(other, on_prompt=other.hear)
    assert decision.verdict is Verdict.NO_MATCH and decision.score < decision.threshold
    assert all(a.frames <= 10 for a in decision.attempts)  # told at once, before any challenge


def test_a_second_face_in_view_fails(check, engine, astronaut, strangers):
    frame = np.full((480, 640, 3), 120, np.uint8)
    frame[40:440, 20:420] = cv2.resize(astronaut, (400, 400))
    frame[120:350, 410:640] = strangers[0]
    decision = check.run(StillFeed(frame))
    assert decision.verdict is Verdict.MULTIPLE_FACES


def test_no_face_at_all(check):
    decision = check.run(StillFeed(np.full((480, 640, 3), 40, np.uint8)))
    assert decision.verdict is Verdict.NO_FACE and decision.score is None


def test_challenges_are_drawn_at_random():
    kinds = ["turn_left", "turn_right"]
    seen = {tuple(draw(kinds, 1)) for _ in range(60)}
    assert seen == {(ChallengeKind.TURN_LEFT,), (ChallengeKind.TURN_RIGHT,)}
    for _ in range(20):
        pair = draw(kinds, 2, random.Random())
        assert pair[0] is not pair[1]


def test_a_closed_check_has_wiped_its_reference(engine, settings, astronaut):
    reference = reference_from_bytes(engine, jpeg(astronaut, 90), "file")
    with IdentityCheck(engine, settings, reference):
        pass
    assert not reference.embedding.any()
