"""Kill -9 a writer process mid-transaction, again and again: the reopened file holds
exactly the last committed state, every transaction all-or-nothing."""
import json
import os
import random
import signal
import subprocess
import sys
import time

from sync.store import Store
from tests.support import ROOT

from .crash_writer import migrations

ROWS = 5
ROUNDS = 6


def run_and_kill(path, delay: float) -> list[tuple[str, int]]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.sync.crash_writer", str(path), str(ROWS)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline()]  # the first "begin": it is writing
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        lines += proc.stdout.read().splitlines()
    finally:
        if proc.poll() is None:  # pragma: no cover - only when an assertion above broke
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return [(word, int(n)) for word, n in (line.split() for line in lines if line.strip())]


def committed_state(path) -> int:
    """Check the file is consistent; return the counter."""
    with Store(path, [migrations]) as store:
        assert store.integrity_check() == []
        with store.reader() as db:
            n = db.execute("SELECT n FROM counter").fetchone()[0]
            per_n = db.execute("SELECT n, count(*) FROM items GROUP BY n ORDER BY n").fetchall()
            events = db.execute("SELECT seq, payload, sent_at FROM outbox ORDER BY seq").fetchall()
    assert per_n == [(i, ROWS) for i in range(1, n + 1)]  # no half transaction anywhere
    assert [(seq, json.loads(payload)["n"], sent) for seq, payload, sent in events] == [
        (i, i, None) for i in range(1, n + 1)]  # one event per committed transaction
    return n


def test_sigkill_mid_transaction_keeps_exactly_the_last_committed_state(tmp_path):
    path = tmp_path / "crash.db"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    previous, killed_inside = 0, 0
    for round_ in range(ROUNDS):
        log = run_and_kill(path, rng.uniform(0.02, 0.25))
        commits = [n for word, n in log if word == "commit"]
        last_commit = commits[-1] if commits else previous
        last_word, last_n = log[-1]
        n = committed_state(path)
        context = f"seed {seed}, round {round_}, log tail {log[-3:]}, counter {n}"
        # Everything reported committed survived; at most the transaction whose
        # COMMIT returned just before the kill (not yet printed) is there too.
        assert n == last_commit or (last_word == "begin" and n == last_n), context
        assert n >= previous, context
        killed_inside += last_word == "begin" and n == last_n - 1
        previous = n
    assert previous > ROUNDS, f"seed {seed}: the writer barely wrote ({previous} transactions)"
    assert killed_inside, f"seed {seed}: no kill landed inside a transaction"
