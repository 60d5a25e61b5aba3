import os

import pytest

pytest_plugins = ["tests.browser"]  # live_server, browser, page, phone_page, sign_in

# Qt tests render offscreen unless a test starts its own Xvfb.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="module", autouse=True)
def _leaks_fail_their_own_file():
    """Collect garbage as each test file ends: an unclosed socket or a task left
    pending then fails the file that left it (filterwarnings = error), not whichever
    test of another file the collector happens to run in."""
    yield
    import gc

    gc.collect()


@pytest.fixture(autouse=True)
def _root_logger_as_it_was():
    """A command's ``main()`` run in this process (``python -m locker audit …``) sets the
    root logger up as its process would: its level and handlers. Put back after each
    test, so a later test's INFO lines still reach the handlers it relies on (the
    kiosk's recent-logs view)."""
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    for handler in [h for h in root.handlers if h not in handlers and not _pytests(h)]:
        root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)


def _pytests(handler) -> bool:
    return type(handler).__module__.startswith("_pytest")


@pytest.fixture
def artifacts(request):
    """A folder for files a person should look at after the run (screenshots, PDFs)."""
    from tests.support import ROOT

    path = ROOT / "test-artifacts" / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def cupsd():
    """A private cupsd for the whole session (drivers.printer.sim.PrivateCups): a PDF
    queue and a fault queue on its own Unix socket. Skips with the reason when cupsd
    is missing; fails under CI=true."""
    from drivers.printer.errors import SimUnavailable
    from drivers.printer.sim import PrivateCups
    from tests.support import require

    sim = PrivateCups()
    try:
        sim.start()
    except SimUnavailable as exc:
        sim.stop()
        require("cupsd", False, str(exc))
    try:
        yield sim
    finally:
        sim.stop()
