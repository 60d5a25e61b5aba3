"""The locker's tables in the appliance store (``Migrations("locker")``).

=============  ==================================================================
doors          one row per configured door: where it is, its size, its use, the
               case whose paper it holds
cases          cases as this locker knows them: state, size, door, worker, deadline
openings       every unlock: what was commanded, what the reply showed, whether and
               when the door was seen open and closed (commanded and observed apart),
               and whether it went unwatched (its board offline) before it was seen open
used_codes     (code nonce, door) pairs that opened, or are opening, a door: a code
               never opens the same door twice
pickup_codes   pickup codes this locker issued: nonce, 8-digit short form, expiry,
               live / used / expired / superseded / held (its opening's outcome is
               unknown: a worker decides, :meth:`locker.flows.Locker.resolve`)
receipts       drop-off receipts waiting for, or done with, the printer
audit          the append-only, hash-chained audit log (triggers refuse UPDATE and
               DELETE; :mod:`locker.audit` checks the chain)
=============  ==================================================================
"""
from __future__ import annotations

from sqlite_utils import Database

from sync.store import Migrations

migrations = Migrations("locker")


@migrations.add("0001_locker")
def _tables(db: Database) -> None:
    db.execute("""
        CREATE TABLE doors (
            id TEXT PRIMARY KEY,              -- BUS/BOARD/DOOR, e.g. bus0/0/3
            number INTEGER NOT NULL UNIQUE,   -- the bank-wide number on the door
            bus TEXT NOT NULL, board INTEGER NOT NULL, door INTEGER NOT NULL,
            size TEXT NOT NULL CHECK (size IN ('S', 'M', 'L')),
            use TEXT NOT NULL,
            case_id TEXT,
            reason TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL
        )""")
    db.execute("""
        CREATE TABLE cases (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            size TEXT NOT NULL DEFAULT 'M',
            door_id TEXT REFERENCES doors (id),
            worker TEXT,
            item TEXT NOT NULL DEFAULT '',
            resident TEXT NOT NULL DEFAULT '',   -- a display name for the receipt, never an ID number
            deadline REAL,                       -- pickup deadline (unix time) while result_deposited
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""")
    db.execute("""
        CREATE TABLE openings (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            door_id TEXT NOT NULL REFERENCES doors (id),
            case_id TEXT,
            purpose TEXT NOT NULL,
            state TEXT NOT NULL,
            nonce TEXT,                      -- the code that asked for it (NULL: the kiosk)
            worker TEXT,
            source TEXT NOT NULL DEFAULT '',
            commanded_at REAL NOT NULL,      -- written before the unlock frame went out
            reply TEXT,                      -- what the unlock's reply showed: open, closed; NULL none
            outcome TEXT,                    -- the driver's verdict: opened, unknown
            opened_at REAL, closed_at REAL,
            left_open_level INTEGER NOT NULL DEFAULT 0,
            note TEXT NOT NULL DEFAULT ''
        )""")
    db.execute("CREATE INDEX openings_unfinished ON openings (door_id) "
               "WHERE state IN ('commanded', 'opened')")
    db.execute("""
        CREATE TABLE used_codes (
            nonce TEXT NOT NULL,
            door_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            opening_id INTEGER NOT NULL,
            used_at REAL NOT NULL,
            PRIMARY KEY (nonce, door_id)
        )""")
    db.execute("""
        CREATE TABLE pickup_codes (
            nonce TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            short TEXT NOT NULL,
            code TEXT NOT NULL,
            expires_at REAL NOT NULL,
            state TEXT NOT NULL DEFAULT 'live'   -- live, used, expired, superseded
        )""")
    db.execute("CREATE UNIQUE INDEX pickup_codes_live_short ON pickup_codes (short) WHERE state = 'live'")
    db.execute("""
        CREATE TABLE receipts (
            case_id TEXT NOT NULL,
            opening_id INTEGER PRIMARY KEY,
            data TEXT NOT NULL CHECK (json_valid(data)),
            state TEXT NOT NULL DEFAULT 'pending',  -- pending, printed, failed
            error TEXT NOT NULL DEFAULT ''
        )""")
    db.execute("""
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            event TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL CHECK (json_valid(detail)),
            prev TEXT NOT NULL,
            hash TEXT NOT NULL
        )""")
    db.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
    db.execute("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")


@migrations.add("0002_open_at_command")
def _open_at_command(db: Database) -> None:
    # Whether the door was seen standing open when its unlock was commanded: then a
    # poll showing it open proves nothing, and one showing it shut before the unlock
    # was seen to work is ``closed_in_flight``.
    db.execute("ALTER TABLE openings ADD COLUMN open_at_command INTEGER NOT NULL DEFAULT 0")


@migrations.add("0003_unwatched")
def _unwatched(db: Database) -> None:
    # Why an unlock in flight went unwatched for a while (its board offline: at the
    # daemon's start-up, or between the command and the door seen open); NULL: watched
    # throughout. Such an opening, never seen open, is judged by the restart rules when
    # its board answers again (the door may have opened and shut unseen), not as a jam.
    db.execute("ALTER TABLE openings ADD COLUMN unwatched TEXT")
