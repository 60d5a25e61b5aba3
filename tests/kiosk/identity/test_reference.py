"""Where the reference photo comes from: the ID card (WLT decoder plug-in), else the
household record, else none and the configured fallback."""
from types import SimpleNamespace

import pytest

from appliance.config import IdentitySection
from drivers.idcard.device import IdCardReader
from drivers.idcard.wlt import SimDecoder, sim_wlt
from kiosk.identity import NoReference, StillFeed, Verdict, find_reference, verify_resident

from .conftest import id_card_photo, jpeg

ID_NUMBER = "11010519491231002X"


class Household:
    def __init__(self, photos: dict[str, bytes]) -> None:
        self.photos = photos
        self.asked: list[str] = []

    def photo_of(self, id_number: str) -> bytes | None:
        self.asked.append(id_number)
        return self.photos.get(id_number)


@pytest.fixture
def card(astronaut):
    photo = id_card_photo(astronaut)
    record = SimpleNamespace(id_number=ID_NUMBER, photo=sim_wlt(photo, ID_NUMBER))
    reader = IdCardReader("sim://idcard", decoder=SimDecoder([photo]))  # only its decoder is used
    return record, reader


def test_the_id_card_photo_comes_first(engine, card, astronaut):
    record, reader = card
    household = Household({ID_NUMBER: jpeg(astronaut, 90)})
    reference = find_reference(engine, record, sources=["idcard", "household"], reader=reader, household=household)
    assert reference.source == "idcard" and household.asked == []


def test_without_a_decoder_the_household_photo_is_used(engine, card, astronaut):
    record, _ = card
    reader = IdCardReader("sim://idcard", decoder=None)
    household = Household({ID_NUMBER: jpeg(astronaut, 90)})
    reference = find_reference(engine, record, sources=["idcard", "household"], reader=reader, household=household)
    assert reference.source == "household" and household.asked == [ID_NUMBER]


def test_a_photo_the_decoder_does_not_know_falls_through(engine, astronaut, cameraman):
    record = SimpleNamespace(id_number=ID_NUMBER, photo=sim_wlt(jpeg(cameraman, 80), ID_NUMBER))
    reader = IdCardReader("sim://idcard", decoder=SimDecoder([id_card_photo(astronaut)]))
    household = Household({ID_NUMBER: jpeg(astronaut, 90)})
    assert find_reference(engine, record, sources=["idcard", "household"], reader=reader,
                          household=household).source == "household"


def test_the_config_can_leave_the_card_out(engine, card):
    record, reader = card
    with pytest.raises(NoReference) as caught:
        find_reference(engine, record, sources=["household"], reader=reader, household=Household({}))
    assert "household: the record has no photo" in caught.value.message


def test_no_reference_is_a_decision_offering_the_fallback(engine, card, astronaut):
    record, _ = card
    for fallback, offered in (("staff", "staff"), ("video", "video"), ("none", None)):
        settings = IdentitySection(fallback=fallback)
        decision = verify_resident(engine, settings, record, StillFeed(astronaut), reader=None, household=None)
        assert decision.verdict is Verdict.NO_REFERENCE and decision.fallback == offered
        assert "no WLT photo decoder" in decision.reason and not decision.matched
        assert decision.record()["decision"] == "no_reference"
