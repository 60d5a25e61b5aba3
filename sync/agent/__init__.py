"""The sync agent: drains an appliance store's outbox to the central server, pulls
what changed, sends heartbeats (:class:`Agent`, :mod:`sync.agent.agent`).

Where it runs — the decision
----------------------------
An appliance store has ONE writer process (:mod:`sync.store`), and an event must be
appended to the outbox in the same transaction as the change it records, so the
outbox lives in the file of the process that makes the changes (the kiosk's
``[store] path``, the locker daemon's ``[locker] store``). ``mark_sent`` writes to
that file. Hence:

- **The agent runs inside the process that owns the store, as a thread**: the
  daemon builds ``Agent.from_config(store, config)`` on its own :class:`~sync.store.Store`
  and calls ``agent.start()`` (and ``agent.wake()`` after appending events, to push at
  once when the server is healthy; a backoff in force is never cut short). A kiosk+locker box with two stores runs two agents, one in each daemon;
  both sign as the same device, each keeps its own order.
- **What the agent pulls, and its own progress, go to a file the agent owns**:
  ``<store>.sync.db`` beside the store (``appliance.sync.db``, ``locker.sync.db``),
  a Store of its own (:mod:`sync.agent.state`), so pulling never competes with the
  daemon's writes; the daemon reads it. Device keys pulled also go to
  ``DATA_DIR/trusted-keys.json`` (:mod:`appliance.keys`).
- ``python -m sync.agent`` runs the same Agent in the foreground on the store it
  opens itself: for an appliance whose daemon is not running (draining before a
  maintenance, a demo, tests). While a daemon owns the store it stops at once with
  :class:`~sync.errors.StoreInUse` naming the daemon's PID, and nothing is lost.

Nothing in the agent needs a second process: no socket between the daemon and it,
no second writer, no lock-step over files.

- :mod:`sync.agent.agent`   the Agent, its rounds, backoff with jitter
- :mod:`sync.agent.client`  signed HTTP through ``requests``, injectable adapter
- :mod:`sync.agent.state`   the agent's own file: cursor, enrolment, pulled records
"""
from sync.agent.agent import Agent, Backoff, Round

__all__ = ["Agent", "Backoff", "Round"]
