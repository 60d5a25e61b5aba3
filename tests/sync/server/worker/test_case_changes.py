"""Every change of a case's state at the server is a ``case`` change in the feed for
the appliances of the case's community: an appliance's event, the console's actions.
Nothing personal goes out with it."""
from __future__ import annotations

import pytest

from sync.server.content import next_step
from tests.sync.server.support import Signed, new_code, new_key
from tests.sync.server.worker.conftest import csrf_of, deposit_case


def case_changes(signed: Signed, case_id: str) -> list[dict]:
    answer = signed("GET", "/changes?cursor=0&limit=1000")
    assert answer.status_code == 200, answer.text
    return [c for c in answer.json()["changes"] if c["kind"] == "case" and c["key"] == case_id]


def act(client, case_id: str, action: str) -> None:
    answer = client.post(f"/worker/cases/{case_id}/act", data={"action": action, "csrf": csrf_of(
        client, f"/worker/cases/{case_id}")}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_the_appliances_of_the_community_pull_each_state_the_console_sets(client, database_url, locker, household,
                                                                          staff):
    case_id = deposit_case(locker, household)
    pulled = case_changes(locker.signed, case_id)
    assert [c["data"]["state"] for c in pulled] == ["created", "materials_deposited"]
    assert pulled[-1]["data"]["event"] == "materials_deposited"

    wang = staff("wang")
    for action in ("collect", "review", "approve"):
        act(wang, case_id, action)
    pulled = case_changes(locker.signed, case_id)
    assert [c["data"]["state"] for c in pulled] == ["created", "materials_deposited", "collected", "in_review",
                                                    "approved"]
    last = pulled[-1]["data"]
    assert last["case"] == case_id and last["event"] == "approved" and last["next_step"] == "approved"
    assert last["item"] == "高龄补贴申请" and last["kind"] == "dropoff" and last["event_at"].startswith("20")
    # nothing personal: the resident's name, ID number, household and the worker stay on the server
    text = str(pulled)
    assert "张晓明" not in text and "110101198503120033" not in text and "hh-12-3-401" not in text
    assert set(last) == {"case", "state", "event", "event_at", "kind", "item_id", "item", "next_step"}

    # another community's appliance never sees it
    other = Signed(client, new_key())
    assert other.enrol(new_code(database_url, other.key.device_id, "别的社区")).status_code == 201
    assert case_changes(other, case_id) == []


def test_a_refused_event_publishes_nothing(locker, household):
    case_id = deposit_case(locker, household)
    before = len(case_changes(locker.signed, case_id))
    assert locker.push(case_id, "picked_up")["status"] == "quarantined"
    assert len(case_changes(locker.signed, case_id)) == before


@pytest.mark.parametrize("kind, state, step", [("dropoff", "approved", "approved"),
                                               ("report", "created", "report_created"),
                                               ("report", "closed", "report_closed"),
                                               ("report", "in_review", "in_review")])
def test_next_step_names_the_kiosks_words(kind, state, step):
    assert next_step(kind, state) == step
