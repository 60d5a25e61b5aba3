"""The outbox: events appended with their state change, pushed in order, idempotent by UUID."""
import uuid

import pytest

from sync.errors import OutboxError
from sync.store import append_event, get_event, mark_failed, mark_sent, pending
from sync.store import outbox

from .conftest import names


def append(db, n: int, **extra) -> str:
    return append_event(db, aggregate_type="case", aggregate_id=f"case-{n}", event_type="created",
                        payload={"n": n, "note": "居住证明"}, **extra)


def test_events_are_appended_with_their_state_change_and_pending_in_order(store):
    with store.atomic() as db:
        db["things"].insert({"id": 1, "name": "case-1"})
        first = append(db, 1)
    with store.atomic() as db:
        second = append(db, 2)
        third = append(db, 3)
    events = pending(store)
    assert [e.id for e in events] == [first, second, third]
    assert [e.seq for e in events] == [1, 2, 3]
    event = events[0]
    assert uuid.UUID(event.id).version == 4
    assert (event.aggregate_type, event.aggregate_id, event.event_type) == ("case", "case-1", "created")
    assert event.payload == {"n": 1, "note": "居住证明"}
    assert event.sent_at is None and event.attempts == 0 and event.last_error is None
    assert event.created_at.endswith("+00:00")
    assert [e.id for e in pending(store, limit=2)] == [first, second]


def test_an_event_rolls_back_with_its_state_change(store):
    with pytest.raises(RuntimeError):
        with store.atomic() as db:
            db["things"].insert({"id": 1, "name": "case-1"})
            append(db, 1)
            raise RuntimeError("the door did not open")
    assert names(store) == [] and pending(store) == []


def test_append_order_survives_a_clock_jumping_back(store, monkeypatch):
    times = iter(["2026-01-01T00:00:09.000+00:00", "2020-01-01T00:00:00.000+00:00"])
    monkeypatch.setattr(outbox, "_now", lambda: next(times))
    with store.atomic() as db:
        first, second = append(db, 1), append(db, 2)
    assert [e.id for e in pending(store)] == [first, second]


def test_appending_the_same_event_twice_is_a_noop(store):
    event_id = str(uuid.uuid4())
    with store.atomic() as db:
        assert append(db, 1, event_id=event_id) == event_id
    with store.atomic() as db:
        assert append(db, 1, event_id=event_id.upper()) == event_id  # one UUID, any spelling
    assert [e.id for e in pending(store)] == [event_id]
    with pytest.raises(OutboxError, match="other content"):
        with store.atomic() as db:
            append(db, 2, event_id=event_id)
    with pytest.raises(ValueError):
        with store.atomic() as db:
            append(db, 3, event_id="not-a-uuid")
    assert [e.payload["n"] for e in pending(store)] == [1]


def test_mark_sent_is_idempotent(store):
    with store.atomic() as db:
        ids = [append(db, n) for n in range(3)]
    assert mark_sent(store, ids[:2]) == 2
    assert mark_sent(store, ids[:2]) == 0
    assert mark_sent(store, [str(uuid.uuid4())]) == 0  # unknown: ignored
    assert [e.id for e in pending(store)] == [ids[2]]
    sent = get_event(store, ids[0])
    assert sent is not None and sent.sent_at is not None
    assert mark_sent(store, ids) == 1 and pending(store) == []
    assert get_event(store, ids[0]).sent_at == sent.sent_at  # not moved by the repeat


def test_mark_failed_counts_attempts_and_keeps_a_masked_error(store):
    with store.atomic() as db:
        event_id = append(db, 1)
    mark_failed(store, event_id, "HTTP 503")
    mark_failed(store, event_id, "HTTP 422: duplicate resident 11010519491231002X " + "x" * 1000)
    event = get_event(store, event_id)
    assert event.attempts == 2
    assert "1101**********002X" in event.last_error and "19491231" not in event.last_error
    assert len(event.last_error) == outbox.MAX_ERROR_CHARS
    mark_sent(store, [event_id])
    mark_failed(store, event_id, "late failure of a sent event")
    assert get_event(store, event_id).attempts == 2


def test_mark_sent_inside_a_larger_transaction_rolls_back_with_it(store):
    with store.atomic() as db:
        event_id = append(db, 1)
    with pytest.raises(RuntimeError):
        with store.atomic():
            mark_sent(store, [event_id])
            raise RuntimeError
    assert [e.id for e in pending(store)] == [event_id]
