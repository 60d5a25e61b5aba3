"""The appliance's data and its way to the server: the local store (SQLite, one
writer, WAL, named migrations per package) and its outbox of events
(:mod:`sync.store`), and, as they arrive, the sync agent, the wire schema shared by
both ends, the central server and its web consoles. Never imports Qt."""
