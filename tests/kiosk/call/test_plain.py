"""kiosk/call is plain asyncio: no Qt, so it runs and is tested without a display."""
import ast

from tests.support import ROOT


def test_kiosk_call_imports_no_qt():
    for path in sorted((ROOT / "kiosk" / "call").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in ("PySide6", "qasync", "kiosk.app"), f"{path.name} imports {name}"
                assert not name.startswith(("kiosk.screens", "kiosk.widgets", "kiosk.app")), f"{path.name} imports {name}"
