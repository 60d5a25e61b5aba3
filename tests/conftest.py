import os

import pytest

# Qt tests render offscreen unless a test starts its own Xvfb.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def artifacts(request):
    """A folder for files a person should look at after the run (screenshots, PDFs)."""
    from tests.support import ROOT

    path = ROOT / "test-artifacts" / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path
