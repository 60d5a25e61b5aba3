"""Personal data: during a whole session (reference decoded, frames checked,
decision made) nothing is written to disk, and the reference is wiped after."""
import os
import sys
import tempfile
from pathlib import Path

import pytest

from kiosk.identity import IdentityCheck, reference_from_bytes
from kiosk.identity.sim import RehearsalFace
from tests.support import ROOT

from .conftest import id_card_photo

_watching: list[list[str]] = []


def _audit(event: str, args: tuple) -> None:
    # Python's own file opens: any open for writing while a session runs is a leak.
    if _watching and event == "open" and len(args) >= 2:
        path, mode = args[0], args[1]
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            _watching[-1].append(str(path))
        elif isinstance(args[2] if len(args) > 2 else None, int) and args[2] & (os.O_WRONLY | os.O_RDWR):
            _watching[-1].append(str(path))


sys.addaudithook(_audit)  # hooks cannot be removed; this one only records while _watching


def _files(folder: Path) -> set[str]:
    # os.walk, not rglob: other processes (parallel test workers) remove their own
    # files from /tmp while we walk, and walk just skips what vanished
    return {os.path.join(root, name) for root, dirs, files in os.walk(folder)
            for name in dirs + files}


@pytest.fixture
def watched(tmp_path, tmp_path_factory, monkeypatch):
    """The session's working and temporary folders, and every Python open for writing."""
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    system_tmp = Path("/tmp")
    before = _files(system_tmp) if system_tmp.exists() else set()
    writes: list[str] = []
    _watching.append(writes)
    try:
        yield writes
    finally:
        _watching.remove(writes)
    assert _files(work) == set() and _files(tmp) == set(), "a file appeared during the session"
    # other test workers' pictures are theirs: screenshots kept for a person (the
    # repository's test-artifacts/, under /tmp when it is cloned there) and their own tmp_path
    theirs = (str(ROOT / "test-artifacts") + os.sep, str(tmp_path_factory.getbasetemp().parent) + os.sep)
    new = {p for p in _files(system_tmp) - before
           if Path(p).suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".webp", ".npy"}
           and not p.startswith(theirs)}
    assert not new, f"pictures appeared in /tmp: {sorted(new)}"


def test_a_whole_session_writes_nothing(watched, engine, settings, astronaut, rng):
    resident = RehearsalFace(engine, astronaut)
    reference = reference_from_bytes(engine, id_card_photo(astronaut), "idcard")
    with IdentityCheck(engine, settings, reference, rng=rng) as check:
        decision = check.run(resident, on_prompt=resident.hear)
    assert decision.matched
    assert not reference.embedding.any()
    assert watched == [], f"opened for writing during the session: {watched}"
    record = decision.record()
    assert "embedding" not in str(record) and all(not isinstance(v, bytes) for v in record.values())
