"""The locker's events at the server: case notes applied without moving the case,
``pickup_expired`` moving it to ``expired`` (back on the worker's list), and the
locker's door, opening and board events recorded. The end-to-end proof (the real
locker daemon's agent pushing to a real server, nothing quarantined) is
tests/e2e/test_locker_journey.py."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from locker.states import CaseState as LockerCase
from sync import lifecycle
from sync.server import db, migrations
from sync.server.ingest import Device, apply_batch
from sync.server.models import Case
from sync.wire import Event
from tests.sync.server.support import event

LOCKER = Device("locker-1", "示范社区")


@pytest.fixture
def engine(database_url):
    engine = db.create(database_url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def push(engine, device, *events) -> list:
    return apply_batch(engine, device, [Event(**e) for e in events])


def state(engine, case: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(Case.state).where(Case.id == case)).scalar()


def test_case_notes_are_applied_and_move_nothing(engine):
    push(engine, LOCKER, event("N-1", "created", 1), event("N-1", "materials_deposited", 2),
         event("N-1", "collected", 3), event("N-1", "in_review", 4), event("N-1", "approved", 5),
         event("N-1", "result_deposited", 6))
    notes = sorted(lifecycle.CASE_NOTES)
    results = push(engine, LOCKER, *[event("N-1", n, 10 + i, payload={"door": 3}) for i, n in enumerate(notes)])
    assert [(r.status, r.case_state) for r in results] == [("applied", "result_deposited")] * len(notes)
    assert state(engine, "N-1") == "result_deposited"


def test_a_pickup_not_made_in_time_is_expired_then_may_be_returned_again(engine):
    push(engine, LOCKER, *[event("X-1", s, i + 1) for i, s in enumerate(
        ["created", "materials_deposited", "collected", "in_review", "approved", "result_deposited"])])
    expired, retrieved, again, picked = push(engine, LOCKER, event("X-1", "pickup_expired", 7),
                                             event("X-1", "retrieved", 8), event("X-1", "result_deposited", 9),
                                             event("X-1", "picked_up", 10))
    assert (expired.status, expired.case_state) == ("applied", "expired")
    assert (retrieved.status, retrieved.case_state) == ("applied", "expired")  # a note: the worker has it
    assert (again.status, again.case_state) == ("applied", "result_deposited")
    assert picked.case_state == "picked_up" and state(engine, "X-1") == "picked_up"


def test_a_note_about_a_case_of_another_community_is_quarantined(engine):
    push(engine, Device("kiosk-9", "别的社区"), event("O-1", "created", 1))
    (result,) = push(engine, LOCKER, event("O-1", "case_moved", 1))
    assert result.status == "quarantined" and "another community" in result.reason


def test_an_unknown_case_event_is_still_quarantined(engine):
    (result,) = push(engine, LOCKER, event("U-1", "teleported", 1))
    assert result.status == "quarantined" and "not a case event" in result.reason


def test_the_locker_s_door_opening_and_board_events_are_recorded(engine):
    batch = [event(f"bus0/0/{i}", t, i + 1, aggregate_type=kind)
             for i, (kind, t) in enumerate((k, t) for k, types in lifecycle.LOCKER_EVENTS.items() for t in types)]
    assert {r.status for r in push(engine, LOCKER, *batch)} == {"applied"}


def test_every_state_the_locker_sets_is_a_server_state_or_a_note():
    for s in LockerCase:
        assert s.value in {c.value for c in lifecycle.CaseState} or lifecycle.is_note(s.value), s
    assert lifecycle.next_state("result_deposited", "pickup_expired") is lifecycle.CaseState.EXPIRED
    assert lifecycle.ALARMS <= set().union(*lifecycle.LOCKER_EVENTS.values(), lifecycle.CASE_NOTES)


def test_a_case_announced_again_is_the_same_case_but_created_later_is_a_collision(engine):
    kiosk = Device("kiosk-1", "示范社区")
    push(engine, kiosk, event("A-1", "created", 1))
    (again,) = push(engine, LOCKER, event("A-1", "created", 1))  # the locker took the kiosk's case
    assert (again.status, again.reason, again.case_state) == ("applied", "already created", "created")
    push(engine, LOCKER, event("A-1", "materials_deposited", 2))
    (late,) = push(engine, Device("locker-2", "示范社区"), event("A-1", "created", 1))
    assert late.status == "quarantined" and late.case_state == "materials_deposited"
    assert state(engine, "A-1") == "materials_deposited"


def test_the_kiosks_created_pushed_after_its_lockers_deposit_is_the_same_case(engine):
    """One appliance, two agents (kiosk and locker, two queues): the kiosk's created,
    carrying the resident, may reach the server after the locker's created and deposit."""
    push(engine, LOCKER, event("B-1", "created", 1))
    push(engine, LOCKER, event("B-1", "materials_deposited", 2))
    (late,) = push(engine, LOCKER, event("B-1", "created", 1, event_id="00000000-0000-4000-8000-0000000000b1"))
    assert (late.status, late.reason, late.case_state) == ("applied", "already created", "materials_deposited")
    assert state(engine, "B-1") == "materials_deposited"


def test_the_kiosks_rating_that_overtook_its_lockers_pickup_is_applied_once_the_pickup_arrives(engine):
    for seq, step in enumerate(("created", "materials_deposited", "collected", "in_review", "approved",
                                "result_deposited"), 1):
        push(engine, LOCKER, event("C-1", step, seq))
    (rating,) = push(engine, LOCKER, event("C-1", "evaluated", 1, payload={"rating": 5}))  # the kiosk's queue
    assert rating.status == "quarantined"
    (pickup,) = push(engine, LOCKER, event("C-1", "picked_up", 7))
    assert pickup.status == "applied" and state(engine, "C-1") == "evaluated"
    other = Device("locker-2", "示范社区")  # another appliance's early event is not taken for this one's
    push(engine, LOCKER, event("C-2", "created", 8))
    (early,) = push(engine, other, event("C-2", "collected", 1))
    push(engine, LOCKER, event("C-2", "materials_deposited", 9))
    assert early.status == "quarantined" and state(engine, "C-2") == "materials_deposited"
