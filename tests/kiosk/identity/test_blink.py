"""The blink challenge: a rehearsal resident who blinks as asked passes; a still
picture, a face that never blinks, one hidden behind a hand instead, eyes shut for
too long, and a face swapped during the blink fail. The eye reader and its
cascades' start-up check."""
import random
import shutil

import cv2
import numpy as np
import pytest

from appliance.config import IdentitySection
from kiosk.identity import IdentityCheck, StillFeed, Verdict, reference_from_bytes
from kiosk.identity.challenge import TEXTS, ChallengeKind, draw, prompt
from kiosk.identity.errors import ModelMissing, ModelTampered
from kiosk.identity.eyes import CASCADES, Eye, cascades_dir, check_cascades
from kiosk.identity.sim import RehearsalFace, head

from .conftest import id_card_photo


@pytest.fixture
def blink_settings(settings) -> IdentitySection:
    return settings.model_copy(update={"challenges": ["blink"]})


@pytest.fixture
def check(engine, blink_settings, astronaut, rng):
    reference = reference_from_bytes(engine, id_card_photo(astronaut), "idcard")
    with IdentityCheck(engine, blink_settings, reference, rng=rng) as check:
        yield check


def test_a_resident_who_blinks_as_asked_matches(check, engine, astronaut):
    resident = RehearsalFace(engine, astronaut)
    decision = check.run(resident, on_prompt=resident.hear)
    assert decision.verdict is Verdict.MATCH, decision.reason
    attempt = decision.attempts[0]
    assert len(decision.attempts) == 1 and attempt.challenges == ["blink"]
    assert [p.kind for p in resident.prompts] == ["look_ahead", "blink", "hold_still"]
    assert attempt.during > 0.5 and attempt.after >= decision.threshold
    assert attempt.resident_ms < 3000  # frame timeline: the budget


def test_a_slow_camera_still_sees_a_one_frame_blink(engine, blink_settings, astronaut):
    reference = reference_from_bytes(engine, id_card_photo(astronaut), "idcard")
    resident = RehearsalFace(engine, astronaut, fps=7.5, blink_frames=1)
    with IdentityCheck(engine, blink_settings, reference) as check:
        decision = check.run(resident, on_prompt=resident.hear)
    assert decision.matched, decision.reason


def test_the_blink_prompt_is_chinese_first():
    shown = prompt("blink", 1, 1)
    assert (shown.zh, shown.en) == ("请眨眨眼", "Please blink")
    assert TEXTS["blink"] == ("请眨眨眼", "Please blink")  # zh first, as every prompt
    assert prompt("hold_still", 1).zh == "请保持不动"


def test_a_still_picture_never_blinks(check, astronaut):
    frame = np.full((480, 640, 3), 120, np.uint8)
    frame[:, 64:576] = cv2.resize(astronaut, (512, 480))
    decision = check.run(StillFeed(frame))
    assert decision.verdict is Verdict.NOT_LIVE
    assert len(decision.attempts) == 3
    assert all(a.before >= decision.threshold and "no blink" in a.reason for a in decision.attempts)


@pytest.mark.parametrize("behaviour", [{"blink": "none"}, {"obey": False}])
def test_a_face_that_does_not_blink_fails(check, engine, astronaut, behaviour):
    resident = RehearsalFace(engine, astronaut, **behaviour)
    decision = check.run(resident, on_prompt=resident.hear)
    assert decision.verdict is Verdict.NOT_LIVE and "no blink" in decision.reason


def test_a_face_that_blinks_by_disappearing_fails(check, engine, astronaut):
    hider = RehearsalFace(engine, astronaut, blink="occlude")
    decision = check.run(hider, on_prompt=hider.hear)
    assert decision.verdict is Verdict.NOT_LIVE
    assert all("hidden" in a.reason for a in decision.attempts)


def test_eyes_shut_for_too_long_are_no_blink(check, engine, astronaut):
    sleeper = RehearsalFace(engine, astronaut, blink_frames=20)  # 1.3 s: a shut-eye photo held up
    decision = check.run(sleeper, on_prompt=sleeper.hear)
    assert decision.verdict is Verdict.NOT_LIVE and "longer" in decision.reason


def test_a_face_swapped_during_the_blink_fails(check, engine, astronaut, stranger):
    swapper = RehearsalFace(engine, astronaut, faces={"turn": stranger})  # another person from the prompt on
    decision = check.run(swapper, on_prompt=swapper.hear)
    assert not decision.matched
    assert all(a.verdict is Verdict.NOT_LIVE and "changed during" in a.reason for a in decision.attempts), \
        [a.reason for a in decision.attempts]


def test_another_face_on_the_shut_eye_frames_fails(check, engine, astronaut, stranger):
    # The stranger (a blurry 25-pixel LFW face, scaled up) shows only while the eyes
    # are shut. Its painted lids may not read as shut (then no blink is seen); when
    # they do, its embedding is not the settled face's. Either way: not live.
    swapper = RehearsalFace(engine, astronaut, faces={"blink": stranger})
    decision = check.run(swapper, on_prompt=swapper.hear)
    assert not decision.matched
    assert all(a.verdict is Verdict.NOT_LIVE for a in decision.attempts)
    assert all("changed during" in a.reason or "no blink" in a.reason for a in decision.attempts)


def test_a_shut_eye_frame_of_another_face_is_caught_by_its_embedding(check, engine, astronaut, stranger,
                                                                     monkeypatch):
    # Make the eye reader call the stranger's eyes shut, to reach the embedding check.
    from kiosk.identity import eyes as eyes_module

    swapper = RehearsalFace(engine, astronaut, faces={"blink": stranger})
    shut_frames = {id(swapper.heads["blink"].blinked(1.0))}
    read = engine.eyes.read

    def reading(image, face, opened=(None, None)):
        result = read(image, face, opened)
        if id(image) in shut_frames:
            return eyes_module.EyeReading(Eye.CLOSED, (Eye.CLOSED, Eye.CLOSED), result.band)
        return result

    monkeypatch.setattr(engine.eyes, "read", reading)
    decision = check.run(swapper, on_prompt=swapper.hear)
    assert all(a.verdict is Verdict.NOT_LIVE and "eyes shut" in a.reason for a in decision.attempts), \
        [a.reason for a in decision.attempts]


def test_blink_and_turn_in_one_attempt(engine, settings, astronaut, rng):
    settings = settings.model_copy(update={"challenges": ["turn_left", "turn_right", "blink"],
                                           "challenge_count": 3})
    reference = reference_from_bytes(engine, id_card_photo(astronaut), "idcard")
    resident = RehearsalFace(engine, astronaut)
    with IdentityCheck(engine, settings, reference, rng=rng) as check:
        decision = check.run(resident, on_prompt=resident.hear)
    assert decision.matched, decision.reason
    assert len(decision.attempts[0].challenges) == 3


def test_blink_is_drawn_among_the_configured_kinds():
    kinds = ["turn_left", "turn_right", "blink"]
    seen = {draw(kinds, 1, random.Random(seed))[0] for seed in range(60)}
    assert seen == set(ChallengeKind)
    assert draw(["blink"], 2) == [ChallengeKind.BLINK, ChallengeKind.BLINK]  # no other choice


def test_the_config_accepts_blink():
    assert IdentitySection(challenges=["blink", "turn_left"]).challenges == ["blink", "turn_left"]
    assert "blink" not in IdentitySection().challenges  # opt-in until calibrated on real cameras


# -- the eye reader ------------------------------------------------------------------
@pytest.fixture(scope="module")
def rehearsal_head(engine, astronaut):
    return head(engine, astronaut)


def _read(engine, image):
    faces = engine.detect(image)
    assert len(faces) == 1
    return engine.eyes.read(image, faces[0])


def test_open_and_shut_eyes_are_told_apart(engine, rehearsal_head):
    open_ = _read(engine, rehearsal_head.turned(0))
    shut = _read(engine, rehearsal_head.blinked(1.0))
    assert open_.state is Eye.OPEN and open_.eyes == (Eye.OPEN, Eye.OPEN)
    assert shut.state is Eye.CLOSED and max(shut.band) < min(open_.band)


def test_camera_noise_on_open_eyes_never_reads_as_shut(engine, rehearsal_head):
    # A still photo passes only if its open eyes read shut on some frame: sensor
    # noise must not do that, even against the open band seen just before.
    image = rehearsal_head.turned(0)
    face = engine.detect(image)[0]
    first = engine.eyes.read(image, face)
    noise = np.random.default_rng(6)
    for _ in range(20):
        noisy = np.clip(image + noise.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
        faces = engine.detect(noisy)
        assert engine.eyes.read(noisy, faces[0], first.band).state is not Eye.CLOSED


def test_a_black_bar_over_the_eyes_is_not_shut_eyes(engine, rehearsal_head):
    image = rehearsal_head.turned(0).copy()
    faces = engine.detect(image)
    eyes = faces[0].landmarks[:2]
    distance = faces[0].eye_distance
    x0, x1 = int(eyes[:, 0].min() - 0.4 * distance), int(eyes[:, 0].max() + 0.4 * distance)
    y0, y1 = int(eyes[:, 1].mean() - 0.15 * distance), int(eyes[:, 1].mean() + 0.15 * distance)
    image[y0:y1, x0:x1] = 20
    faces = engine.detect(image)
    if faces:  # YuNet may or may not still see a face behind the bar; if it does, no shut eyes
        assert engine.eyes.read(image, faces[0]).state is not Eye.CLOSED


def test_a_hand_over_the_face_hides_it_from_the_detector(engine, rehearsal_head):
    assert engine.detect(rehearsal_head.blinked(-1.0)) == []


# -- the cascades' start-up check ----------------------------------------------------
def test_the_shipped_cascades_pass_their_sha256():
    paths = check_cascades()
    assert {path.name for path in paths.values()} == {c.name for c in CASCADES}


def test_a_changed_cascade_stops_start_up_naming_the_file(tmp_path):
    for cascade in CASCADES:
        shutil.copy(cascades_dir() / cascade.name, tmp_path / cascade.name)
    target = tmp_path / CASCADES[0].name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ModelTampered) as caught:
        check_cascades(tmp_path)
    assert CASCADES[0].name in caught.value.message and CASCADES[0].sha256 in caught.value.message
    assert "opencv-python-headless<5" in caught.value.hint


def test_a_missing_cascade_names_the_file(tmp_path):
    shutil.copy(cascades_dir() / CASCADES[0].name, tmp_path / CASCADES[0].name)
    with pytest.raises(ModelMissing) as caught:
        check_cascades(tmp_path)
    assert CASCADES[1].name in caught.value.message and "cv2.data.haarcascades" in caught.value.hint
