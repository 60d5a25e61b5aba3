"""The service guide: the synced guide (or the shipped demo), browsing and search over
Chinese names and keywords, and the materials checklist printed through a real
private cupsd."""
from __future__ import annotations

import pytest

from kiosk.flows.guide import GuideFlow
from kiosk.flows.printing import CertificatePrinting
from kiosk.store.guide import DEMO, Guide, GuideError, parse_item
from sync.agent import state as agent_state
from sync.wire import Change
from tests.support import require


@pytest.fixture(scope="module")
def demo() -> Guide:
    return Guide.from_file(DEMO)


def test_the_demo_guide_has_items_in_categories_with_materials(demo):
    assert len(demo) >= 10
    assert [c.id for c in demo.categories][:2] == ["elderly", "household"]
    for item in demo.items:
        assert item.materials and item.place and item.hours and item.department, item.id
        assert item.name_en and item.place_en and item.hours_en, item.id
        assert len(item.materials) <= 7  # the checklist form's table
    assert {i.id for i in demo.droppable()} >= {"elderly-subsidy", "low-income"}
    assert "residence-proof" not in {i.id for i in demo.droppable()}  # printed at the kiosk


@pytest.mark.parametrize("query, first, absent", [
    ("补贴", None, "residence-proof"),
    ("高龄", "elderly-subsidy", "low-income"),
    ("低保", "low-income", "elderly-subsidy"),
    ("居住证", "residence-permit", "elderly-subsidy"),
    ("医保", "medical-insurance", "low-income"),
    ("subsidy", "elderly-subsidy", "medical-insurance"),
    ("ELDERLY", "elderly-subsidy", "unemployment"),
    ("身份证 户口簿", None, "senior-card"),  # every word, materials too
    ("　补贴，残疾　", "disability-subsidy", "elderly-subsidy"),  # full-width space and comma
])
def test_search_finds_by_name_keyword_department_and_material(demo, query, first, absent):
    found = [i.id for i in demo.search(query)]
    assert found, query
    if first:
        assert found[0] == first, found
    assert absent not in found


def test_search_of_nothing_is_everything_and_of_nonsense_is_nothing(demo):
    assert len(demo.search("")) == len(demo) and demo.search("量子计算机") == []
    assert len(demo.search("补贴", limit=2)) == 2


def test_browsing_a_category_and_searching_within_it(demo):
    flow = GuideFlow(demo)
    assert {i.category for i in flow.choose_category("social")} == {"social"}
    assert [i.id for i in flow.search("补贴")] == ["disability-subsidy"]
    assert len(flow.choose_category(None)) == len(demo.search("补贴"))
    item = flow.open("elderly-subsidy")
    assert item.text("place", "en").startswith("Community service centre")
    assert item.text("contact", "en") == item.contact  # no English of its own: the Chinese
    flow.reset()
    assert flow.item is None and flow.query == "" and len(flow.results) == len(demo)


def test_the_synced_guide_wins_over_the_demo_and_a_bad_record_is_left_out(tmp_path, demo):
    store = agent_state.open_state(str(tmp_path / "appliance.sync.db"))
    changes = [Change(seq=1, kind="guide_item", key="residence-proof",
                      data={"title": "居住证明", "materials": ["身份证"], "category": "household"},
                      changed_at="2026-01-01T00:00:00Z"),
               Change(seq=2, kind="guide_item", key="broken", data={"materials": [{"form": "x"}]},
                      changed_at="2026-01-01T00:00:00Z")]
    agent_state.apply_changes(store, changes, 2)
    try:
        synced = Guide.from_synced(tmp_path / "appliance.sync.db", demo)
    finally:
        store.close()
    assert [i.name for i in synced.items] == ["居住证明"] and synced.skipped == ["broken"]
    assert synced.items[0].materials[0].material == "身份证" and synced.items[0].materials[0].form == "copy"
    assert [c.name for c in synced.categories] == ["户籍与居住"]
    assert Guide.from_synced(tmp_path / "none.sync.db", demo) is None


def test_a_bad_guide_file_names_itself(tmp_path):
    path = tmp_path / "guide.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(GuideError, match="guide.json"):
        Guide.from_file(path)
    with pytest.raises(GuideError, match="copies"):
        parse_item("x", {"name": "某事项", "materials": [{"material": "身份证", "copies": 99}]})


def test_the_checklist_prints_through_cups(cupsd, make_config, demo, artifacts):
    from forms.register import migrations
    from sync.store import Store

    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    config = make_config(cupsd.url(cupsd.pdf_queue))
    with Store(config.store_path, [migrations]) as store:
        flow = GuideFlow(demo, CertificatePrinting.from_config(config, store))
        flow.open("low-income")
        result = flow.print_checklist()
        assert result.printed, result.as_dict()
        assert result.outcome.ok and cupsd.pdf_output(result.outcome.job_id).stat().st_size > 1000
        (artifacts / "checklist.pdf").write_bytes(result.certificate.pdf)
        english = flow.print_checklist("en")
        assert english.printed and english.serial != result.serial
