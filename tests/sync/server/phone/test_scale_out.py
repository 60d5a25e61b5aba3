"""Two server processes on one PostgreSQL share the sign-in limits: wrong codes sent
alternately to each are counted together, and the number is locked on both."""
from __future__ import annotations

import re

import requests

from sync.server.phone.throttle import Policy
from tests.sync.server.phone.conftest import ZHANG
from tests.sync.server.phone.support import seed, sms_code
from tests.sync.server.support import ServerProcess, postgresql_database


def test_wrong_codes_are_counted_across_server_processes(tmp_path, monkeypatch):
    log = tmp_path / "sms.jsonl"
    monkeypatch.setenv("SYNC_NOTIFY_LOG_FILE", str(log))
    monkeypatch.setenv("SYNC_NOTIFY_INTERVAL_S", "0.1")
    with postgresql_database() as url, ServerProcess(url) as one, ServerProcess(url) as two:
        seed(url, one.url)
        phone = requests.Session()

        def csrf(base: str) -> str:
            return re.search(r'name="csrf" value="([^"]+)"', phone.get(f"{base}/phone/signin").text).group(1)
        assert phone.get(f"{one.url}/phone/d/locker-fxl-01").status_code == 200
        sent = phone.post(f"{one.url}/phone/signin", data={"phone": ZHANG["phone"], "csrf": csrf(one.url)})
        assert sent.status_code == 200, sent.text[:500]
        code = sms_code(log, ZHANG["phone"])
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        answers = []
        for n in range(Policy().wrong_per_phone.count):
            base = (one.url, two.url)[n % 2]
            answers.append(phone.post(f"{base}/phone/signin/verify", allow_redirects=False,
                                      data={"phone": ZHANG["phone"], "code": wrong, "csrf": csrf(base)}).status_code)
        assert answers == [400] * Policy().wrong_per_phone.count
        for base in (one.url, two.url):  # locked on both, even for the right code
            answer = phone.post(f"{base}/phone/signin/verify", allow_redirects=False,
                                data={"phone": ZHANG["phone"], "code": code, "csrf": csrf(base)})
            assert answer.status_code == 429 and "错误次数太多" in answer.text


def test_parallel_guesses_at_one_number_are_each_counted():
    """Twelve wrong codes for one number at the same instant, each on its own
    connection as twelve server processes would send them: five are told the code is
    wrong, the other seven are throttled. Counting and recording are two statements;
    without the per-key hold they would all count the same zero and all get a guess."""
    import threading

    from sync.server import db, migrations
    from sync.server.phone import signin
    from sync.server.phone.errors import Throttled, WrongCode

    policy = Policy()
    with postgresql_database() as url:
        engine = db.create(url, pool_size=12)
        try:
            migrations.upgrade(engine)
            with engine.begin() as conn:
                signin.send_code(conn, ZHANG["phone"], "10.0.0.1", policy)
            start = threading.Barrier(12)
            results: list[object] = []

            def guess(n: int) -> None:
                with engine.connect() as conn:
                    start.wait(10)
                    with conn.begin():
                        results.append(signin.verify_code(conn, ZHANG["phone"], "000000", f"10.0.1.{n}", policy))

            threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        finally:
            engine.dispose()
    kinds = sorted(type(r).__name__ for r in results)
    assert kinds.count(WrongCode.__name__) == policy.wrong_per_phone.count, kinds
    assert kinds.count(Throttled.__name__) == 12 - policy.wrong_per_phone.count, kinds
