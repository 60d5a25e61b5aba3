"""Report a problem (报事): category, place, description picked or typed; it becomes a
case with a ``created`` event for the grid worker, followed in My progress."""
from __future__ import annotations

import tomllib

import pytest

from kiosk.flows.progress import ProgressFlow
from kiosk.flows.report import CATEGORIES, ReportFlow, load_places, phrase_keys
from kiosk.store import cases
from sync.store import pending
from tests.kiosk.journeys import kiosk_store  # noqa: F401
from tests.support import ROOT

ZHANG = cases.Resident.of("110101198503120033", "张晓明")


def test_every_category_and_phrase_is_in_the_catalogue():
    catalogue = tomllib.loads((ROOT / "assets" / "i18n" / "report.toml").read_text("utf-8"))
    keys = [f"report.category_{c}" for c in CATEGORIES] + [k for c in CATEGORIES for k in phrase_keys(c)]
    keys += ["report.need_identify", "report.need_category", "report.need_place", "report.need_description"]
    for key in keys:
        entry = catalogue.get(key.removeprefix("report."))
        assert entry and entry["zh"] and entry["en"] and entry["note"], key
    assert {"street_lamp", "manhole_cover", "litter", "noise", "facilities"} <= set(CATEGORIES)


def test_a_report_becomes_a_case_for_the_grid_worker(kiosk_store):
    flow = ReportFlow(kiosk_store, ZHANG)
    assert flow.problems() == ["report.need_category", "report.need_place", "report.need_description"]
    flow.choose_category("street_lamp")
    flow.choose_place("building-3", "3单元门口")
    flow.pick_phrase(0)
    flow.pick_phrase(1)
    flow.pick_phrase(1)  # tapped again: dropped
    flow.type_text("已经三天了，晚上很黑")
    assert flow.problems() == []
    case = flow.submit()
    assert case.kind == "report" and case.item == "路灯" and case.id.startswith("BS-")
    [event] = [e for e in pending(kiosk_store, 100) if e.aggregate_id == case.id]
    assert event.event_type == "created" and event.aggregate_type == "case"
    assert event.payload["description"] == "路灯不亮；已经三天了，晚上很黑"
    assert event.payload["where"] == "3号楼 3单元门口" and event.payload["category"] == "street_lamp"
    assert event.payload["for"] == "grid_worker" and event.payload["resident"] == ZHANG.key

    [row] = ProgressFlow(kiosk_store, ZHANG.key).load()
    assert row.case.id == case.id and row.next_key == "progress.next_report_created"


def test_a_typed_description_alone_will_do_but_not_two_characters(kiosk_store):
    flow = ReportFlow(kiosk_store, ZHANG)
    flow.choose_category("other")
    flow.choose_place("square")
    flow.type_text("太吵")
    assert flow.problems() == ["report.need_description"]
    with pytest.raises(ValueError, match="need_description"):
        flow.submit()
    flow.type_text("广场的长椅坏了一条腿" * 20)
    assert len(flow.text) == 120 and flow.submit().item == "其他"


def test_bad_choices_and_no_resident_are_refused(kiosk_store):
    flow = ReportFlow(kiosk_store, None)
    with pytest.raises(ValueError, match="category"):
        flow.choose_category("ufo")
    with pytest.raises(ValueError, match="no place"):
        flow.choose_place("moon")
    assert "report.need_identify" in flow.problems()
    assert len(load_places()) >= 10
