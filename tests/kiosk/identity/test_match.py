"""1:1 matching: the same person through the ways an ID photo and a camera degrade
her, against other people, at the configured threshold."""
import cv2
import numpy as np
import pytest

from appliance.config import IdentitySection
from kiosk.identity import BadReference, FaceEngine, Verdict, match_still, reference_from_bytes
from kiosk.identity.reference import decode_image

from .conftest import id_card_photo, jpeg

THRESHOLD = IdentitySection().threshold


def _crop(image):
    return image[20:260, 120:330]


def _dark(image):
    return cv2.convertScaleAbs(image, alpha=0.55)


def _bright(image):
    return cv2.convertScaleAbs(image, alpha=1.3, beta=30)


def _small_q40(image):
    return decode_image(jpeg(cv2.resize(image, (240, 240), interpolation=cv2.INTER_AREA), 40))


def _id_card(image):
    return decode_image(id_card_photo(image))


def _gray(image):
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def _q20(image):
    return decode_image(jpeg(image, 20))


@pytest.fixture(scope="module")
def reference(engine, astronaut):
    return reference_from_bytes(engine, jpeg(astronaut, 95), "file")


@pytest.mark.parametrize("degrade", [_crop, _dark, _bright, _small_q40, _id_card, _gray, _q20])
def test_the_same_person_degraded_matches(engine, reference, astronaut, degrade):
    decision = match_still(engine, reference, degrade(astronaut), THRESHOLD)
    assert decision.verdict is Verdict.MATCH, decision.reason


def test_the_id_card_photo_as_reference_matches_the_full_picture(engine, astronaut):
    reference = reference_from_bytes(engine, id_card_photo(astronaut), "idcard")
    assert match_still(engine, reference, astronaut, THRESHOLD).matched


def test_another_person_does_not_match(engine, reference, cameraman):
    decision = match_still(engine, reference, cameraman, THRESHOLD)
    assert decision.verdict is Verdict.NO_MATCH and decision.score < THRESHOLD - 0.1


def test_no_stranger_of_the_lfw_subset_matches(engine, reference, strangers):
    scores = []
    for face in strangers:
        scaled, faces = engine.portrait(face)
        if faces:
            scores.append(FaceEngine.similarity(reference.embedding, engine.embed(scaled, faces[0])))
    assert len(scores) >= 80  # the detector finds most of these tiny faces
    assert max(scores) < THRESHOLD, sorted(scores)[-3:]


def test_a_reference_without_a_face_is_refused(engine):
    with pytest.raises(BadReference, match="no face"):
        reference_from_bytes(engine, jpeg(np.full((200, 160, 3), 128, np.uint8), 90), "household")


def test_bytes_that_are_not_an_image_are_refused(engine):
    with pytest.raises(BadReference, match="not an image"):
        reference_from_bytes(engine, b"\0" * 1024, "idcard")


def test_a_group_photo_is_not_a_reference(engine, astronaut):
    pair = np.hstack([astronaut, astronaut])
    with pytest.raises(BadReference, match="2 faces"):
        reference_from_bytes(engine, jpeg(pair, 90), "household")
