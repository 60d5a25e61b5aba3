"""A QR code as an inline SVG (forms.qr makes the symbol): crisp at any size, no image file."""
from __future__ import annotations

from forms.qr import encode

QUIET = 4  # modules of white border, as the standard asks


def qr_svg(text: str, *, level: str = "M", title: str = "") -> str:
    symbol = encode(text.encode("utf-8"), level)
    size = symbol.shape[0] + 2 * QUIET
    path = "".join(f"M{x + QUIET} {y + QUIET}h1v1h-1z" for y, row in enumerate(symbol) for x, dark in enumerate(row)
                   if dark)
    label = f"<title>{_escape(title)}</title>" if title else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" class="qr" role="img" '
            f'shape-rendering="crispEdges">{label}<rect width="{size}" height="{size}" fill="#fff"/>'
            f'<path d="{path}" fill="#000"/></svg>')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
