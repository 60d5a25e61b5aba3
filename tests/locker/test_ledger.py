"""set_state: transitions checked, and the row, the outbox event and the audit
entry written together or not at all."""
from __future__ import annotations

import pytest

from locker import audit, schema
from locker.errors import TransitionError
from locker.ledger import CASE, Ledger
from locker.states import CASE_TRANSITIONS, CaseState
from sync.store import Store, pending


@pytest.fixture
def ledger(tmp_path):
    store = Store(tmp_path / "locker.db", [schema.migrations])
    yield Ledger(store, "locker-test-01")
    store.close()


def test_a_transition_writes_row_outbox_and_audit_together(ledger):
    with ledger.atomic() as db:
        ledger.set_state(db, CASE, "SF-1", CaseState.CREATED, insert={"created_at": 0.0})
    with ledger.atomic() as db:
        ledger.set_state(db, CASE, "SF-1", CaseState.MATERIALS_DEPOSITED, detail={"door": 3})
    assert ledger.store.query("SELECT state FROM cases") == [{"state": "materials_deposited"}]
    events = pending(ledger.store)
    assert [(e.event_type, e.payload["from"], e.payload["door"] if "door" in e.payload else None)
            for e in events] == [("created", None, None), ("materials_deposited", "created", 3)]
    assert audit.verify(ledger.store.path) == 2


def test_a_forbidden_transition_writes_nothing(ledger):
    with ledger.atomic() as db:
        ledger.set_state(db, CASE, "SF-2", CaseState.CREATED, insert={"created_at": 0.0})
    with pytest.raises(TransitionError, match="created → picked_up"):
        with ledger.atomic() as db:
            ledger.set_state(db, CASE, "SF-2", CaseState.PICKED_UP)
    with pytest.raises(TransitionError):
        with ledger.atomic() as db:  # a new case can only start as created or with a result
            ledger.set_state(db, CASE, "SF-3", CaseState.COLLECTED, insert={"created_at": 0.0})
    assert len(pending(ledger.store)) == 1 and audit.verify(ledger.store.path) == 1


def test_a_failure_later_in_the_transaction_rolls_everything_back(ledger):
    with pytest.raises(RuntimeError):
        with ledger.atomic() as db:
            ledger.set_state(db, CASE, "SF-4", CaseState.CREATED, insert={"created_at": 0.0})
            raise RuntimeError("the door write failed")
    assert ledger.store.query("SELECT * FROM cases") == []
    assert pending(ledger.store) == [] and audit.verify(ledger.store.path) == 0


def test_every_case_state_is_reachable_and_none_is_a_dead_end_but_the_terminal_ones():
    reachable = {CaseState.CREATED, CaseState.RESULT_DEPOSITED}
    for targets in CASE_TRANSITIONS.values():
        reachable |= targets
    assert reachable == set(CaseState)
    assert [s for s in CaseState if not CASE_TRANSITIONS[s]] == [CaseState.CANCELLED]
