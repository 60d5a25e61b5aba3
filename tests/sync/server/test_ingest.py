"""sync.server.ingest under concurrency: two transactions creating the same case, or
carrying the same new event, at the same moment (as two server processes would)."""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from sync.server import db, migrations
from sync.server.ingest import Device, apply_batch
from sync.server.models import Case, EventRow
from sync.wire import Event
from tests.sync.server.support import event


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.fixture
def engine(database_url):
    engine = db.create(database_url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def test_two_devices_creating_one_case_at_once_make_one_case(engine):
    for round_ in range(5):
        case = f"shared-{round_}"
        kiosk, locker = Device("kiosk-1", "示范社区"), Device("locker-1", "示范社区")
        a, b = run_together(
            lambda: apply_batch(engine, kiosk, [Event(**event(case, "created", 1 + round_))]),
            lambda: apply_batch(engine, locker, [Event(**event(case, "created", 1 + round_))]))
        # the locker announcing the case the kiosk made: one creates it, the other is the same fact
        assert [a[0].status, b[0].status] == ["applied", "applied"]
        assert sorted([a[0].reason or "", b[0].reason or ""]) == ["", "already created"]
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Case).where(Case.id == case)).scalar_one() == 1
        with engine.connect() as conn:
            assert conn.execute(select(Case.state).where(Case.id == case)).scalar_one() == "created"


def test_the_same_new_batch_twice_at_once_is_stored_once_with_one_answer(engine):
    device = Device("kiosk-1", "示范社区")
    batch = [Event(**event(f"c-{uuid.uuid4().hex[:6]}", "created", i + 1)) for i in range(50)]
    a, b = run_together(lambda: apply_batch(engine, device, batch), lambda: apply_batch(engine, device, batch))
    assert a == b
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EventRow)).scalar_one() == 50


def _push(engine, device, *events):
    return apply_batch(engine, device, [Event(**e) for e in events])


def _state(engine, case):
    with engine.connect() as conn:
        return conn.execute(select(Case.state).where(Case.id == case)).scalar_one()


@pytest.mark.parametrize("reached", ["collected", "in_review"])
def test_a_result_deposited_on_a_collected_or_reviewed_case_is_applied_as_an_implied_review(engine, reached):
    locker, console = Device("locker-1", "示范社区"), Device("console:wang", "示范社区")
    case = f"PAPER-{reached}"
    _push(engine, locker, event(case, "created", 1), event(case, "materials_deposited", 2),
          event(case, "collected", 3))
    if reached == "in_review":
        _push(engine, console, event(case, "in_review", 1))
    result, note = _push(engine, locker, event(case, "result_deposited", 4, payload={"worker": "wang", "door": 3}),
                         event(case, "pickup_code_issued", 5, payload={"door": 3}))
    assert (result.status, result.case_state) == ("applied", "result_deposited")
    assert result.reason == f"implied review: worker wang reviewed on paper (the case was {reached})"
    assert note.status == "applied" and _state(engine, case) == "result_deposited"
    with engine.connect() as conn:  # the timeline says so
        reason = conn.execute(select(EventRow.reason).where(EventRow.aggregate_id == case,
                                                             EventRow.event_type == "result_deposited")).scalar_one()
    assert reason.startswith("implied review: worker wang")
    # the resident can pick it up; a second result after the pickup is still refused
    assert _push(engine, locker, event(case, "picked_up", 6))[0].status == "applied"
    again = _push(engine, locker, event(case, "result_deposited", 7, payload={"worker": "wang"}))[0]
    assert (again.status, again.case_state) == ("quarantined", "picked_up")
    assert "transition refused" in again.reason


def test_a_result_deposited_before_the_collection_is_still_quarantined(engine):
    locker = Device("locker-1", "示范社区")
    _push(engine, locker, event("EARLY", "created", 1), event("EARLY", "materials_deposited", 2))
    result = _push(engine, locker, event("EARLY", "result_deposited", 3, payload={"worker": "wang"}))[0]
    assert (result.status, result.case_state) == ("quarantined", "materials_deposited")
