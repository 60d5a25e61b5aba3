"""The appliance's data and its way to the server: the local store (SQLite, one
writer, WAL, named migrations per package) and its outbox of events
(:mod:`sync.store`); the case lifecycle table every part enforces
(:mod:`sync.lifecycle`); the wire schema shared by both ends (:mod:`sync.wire`);
the sync agent that drains the outbox, pulls and heartbeats (:mod:`sync.agent`,
``python -m sync.agent``); and the central server (:mod:`sync.server`,
``python -m sync.server``), with its web consoles to come. Never imports Qt."""
