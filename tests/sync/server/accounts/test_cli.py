"""``python -m sync.server account add|list|disable|enable|password``."""
from __future__ import annotations

import io
import subprocess
import sys

from sync.server import accounts, db
from sync.server.__main__ import main
from sync.server.accounts.sessions import sign_in
from tests.support import ROOT


def test_account_commands(database_url, capsys, monkeypatch):
    def run(*args: str, stdin: str | None = None) -> int:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return main(["account", *args, "--database", database_url])

    assert run("add", "--username", "Alice", "--role", "admin", "--name", "李敏", "--community", "示范社区",
               "--password-stdin", stdin="admin-pass-1\n") == 0
    assert "account alice added (admin)" in capsys.readouterr().out
    assert run("add", "--username", "wang", "--role", "worker", "--name", "王芳", "--community", "示范社区",
               "--password-stdin", stdin="worker-pass-1\n") == 2
    assert "needs a grid" in capsys.readouterr().err
    assert run("add", "--username", "li", "--role", "staff", "--name", "李", "--department", "民政",
               "--password-stdin", stdin="short\n") == 2
    assert "at least 8" in capsys.readouterr().err
    assert run("list") == 0
    assert capsys.readouterr().out == "alice\tadmin\t李敏\tcommunity=示范社区\tactive\n"
    assert run("disable", "--username", "alice") == 0
    assert run("list", "--community", "示范社区") == 0
    assert capsys.readouterr().out.endswith("\tdisabled\n")
    assert run("enable", "--username", "alice") == 0
    assert run("password", "--username", "alice", "--password-stdin", stdin="a-new-password\n") == 0
    assert "sessions ended" in capsys.readouterr().out
    assert run("password", "--username", "nobody", "--password-stdin", stdin="a-new-password\n") == 1
    assert "no account nobody" in capsys.readouterr().err
    engine = db.create(database_url)
    try:
        assert sign_in(engine, "alice", "a-new-password", "127.0.0.1").role == "admin"
    finally:
        engine.dispose()


def test_the_prompt_asks_twice(database_url, capsys, monkeypatch):
    answers = iter(["first-password", "second-password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["account", "add", "--username", "bob", "--role", "staff", "--name", "Bob", "--department", "民政",
                 "--database", database_url]) == 2
    assert "the two passwords differ" in capsys.readouterr().err


def test_as_a_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'server.db'}"
    added = subprocess.run([sys.executable, "-m", "sync.server", "account", "add", "--username", "zhao", "--role",
                            "worker", "--name", "赵", "--community", "示范社区", "--grid", "一网格",
                            "--password-stdin", "--database", url],
                           input="worker-pass-1\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert added.returncode == 0, added.stderr
    engine = db.create(url)
    try:
        with engine.connect() as conn:
            found = accounts.find_account(conn, "zhao").account
        assert (found.role, found.community, found.grid) == ("worker", "示范社区", "一网格")
    finally:
        engine.dispose()
