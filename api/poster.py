"""Printable QR codes: a venue's poster and a citizen's personal card, drawn by segno with
a caption under the code; PNG and PDF are the same SVG rendered by CairoSVG."""

import textwrap
from enum import StrEnum
from xml.sax.saxutils import escape

import cairosvg
import segno

WIDTH = 480
_QUIET_ZONE = 4
_FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
_LINE_CHARACTERS = 30
_LINE_HEIGHT = 30


class PosterFormat(StrEnum):
    SVG = "svg"
    PNG = "png"
    PDF = "pdf"


def qr_symbol(payload: str) -> segno.QRCode:
    # Level M survives a worn or partly covered poster; segno raises it further when the
    # payload still fits the same version.
    return segno.make_qr(payload, error="m")


def poster_svg(payload: str, caption: str, small_print: str | None = None) -> str:
    """The code, with the caption (wrapped) and a line of small print under it."""
    symbol = qr_symbol(payload)
    modules = symbol.symbol_size(border=_QUIET_ZONE)[0]
    scale = WIDTH // modules
    side = modules * scale
    offset = (WIDTH - side) // 2
    lines = textwrap.wrap(caption, _LINE_CHARACTERS)[:4] or [""]
    text_top = side + _LINE_HEIGHT // 2
    height = text_top + _LINE_HEIGHT * len(lines) + (_LINE_HEIGHT if small_print else 0) + 16
    texts = [
        f'<text x="{WIDTH // 2}" y="{text_top + _LINE_HEIGHT * (n + 1) - 8}" '
        f'font-size="24" font-weight="bold">{escape(line)}</text>'
        for n, line in enumerate(lines)
    ]
    if small_print:
        y = text_top + _LINE_HEIGHT * (len(lines) + 1) - 6
        texts.append(f'<text x="{WIDTH // 2}" y="{y}" font-size="16">{escape(small_print)}</text>')
    code = symbol.svg_inline(scale=scale, border=_QUIET_ZONE, omitsize=False)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}">'
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<g transform="translate({offset} 0)">{code}</g>'
        f'<g font-family="{_FONT}" text-anchor="middle" fill="#000">{"".join(texts)}</g>'
        "</svg>"
    )


def render_poster(
    payload: str, caption: str, format: PosterFormat, small_print: str | None = None
) -> bytes:
    svg = poster_svg(payload, caption, small_print)
    if format is PosterFormat.SVG:
        return svg.encode()
    if format is PosterFormat.PNG:
        return bytes(cairosvg.svg2png(bytestring=svg.encode()))
    return bytes(cairosvg.svg2pdf(bytestring=svg.encode()))


MEDIA_TYPES = {
    PosterFormat.SVG: "image/svg+xml",
    PosterFormat.PNG: "image/png",
    PosterFormat.PDF: "application/pdf",
}
