"""The marks the checks print (✅ ❌ ⏳), drawn in a small font of their own for the decks and the site.

These characters are emoji: a browser draws them only with an emoji font, which many machines
lack (headless Debian, many lecture-room PCs); there they show as empty boxes. So the decks and
the site carry a font of three glyphs, built here with fontTools (which Matplotlib already
brings), coloured (a COLR/CPAL table: a green box with a white tick, a red cross, an amber
hourglass), embedded in the page as a data URL: nothing to download, nothing to go missing.
Each mark in a page is wrapped in ``<span class="course-mark">`` set in that font; the
character itself stays, so copying the text or reading it aloud gives the same mark.
"""

from __future__ import annotations

import base64
import functools
import io
import re

from fontTools.fontBuilder import FontBuilder
from fontTools.misc.timeTools import timestampFromString
from fontTools.pens.ttGlyphPen import TTGlyphPen

FAMILY = "Course Marks"
EM, ASCENT, DESCENT = 1000, 880, -120
# Drawn inside the box (80, -60)..(920, 780): about a capital letter's height and a little more.
LEFT, RIGHT, BOTTOM, TOP = 80, 920, -60, 780
GREEN, RED, AMBER, WHITE = (0.13, 0.55, 0.13, 1.0), (0.80, 0.10, 0.10, 1.0), (0.72, 0.45, 0.0, 1.0), (1, 1, 1, 1)
PALETTE = [GREEN, RED, AMBER, WHITE]
BUILT = timestampFromString("Sun Dec  6 00:00:00 2026")  # the font's creation date, fixed (see font_bytes)


def _polygon(pen: TTGlyphPen, points: list[tuple[float, float]]) -> None:
    pen.moveTo(points[0])
    for point in points[1:]:
        pen.lineTo(point)
    pen.closePath()


def _bar(x0: float, y0: float, x1: float, y1: float, width: float) -> list[tuple[float, float]]:
    """A straight stroke of ``width`` from (x0, y0) to (x1, y1), as a quadrilateral (clockwise)."""
    dx, dy = x1 - x0, y1 - y0
    length = (dx * dx + dy * dy) ** 0.5
    nx, ny = -dy / length * width / 2, dx / length * width / 2
    return [(x0 - nx, y0 - ny), (x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny)]


def _area(shape: list[tuple[float, float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(shape, shape[1:] + shape[:1])) / 2


def _oriented(shape: list[tuple[float, float]], clockwise: bool = True) -> list[tuple[float, float]]:
    """``shape`` turned clockwise (TrueType's filled outline) or anticlockwise (a hole in it)."""
    return shape if (_area(shape) < 0) == clockwise else shape[::-1]


def _glyph(*shapes: list[tuple[float, float]], holes: tuple = ()):
    pen = TTGlyphPen(None)
    for shape in shapes:
        _polygon(pen, [(round(x), round(y)) for x, y in _oriented(shape)])
    for shape in holes:
        _polygon(pen, [(round(x), round(y)) for x, y in _oriented(shape, clockwise=False)])
    return pen.glyph()


def _box() -> list[tuple[float, float]]:
    r = 120  # corners cut at 45°: a rounded look without curves
    return [(LEFT + r, BOTTOM), (LEFT, BOTTOM + r), (LEFT, TOP - r), (LEFT + r, TOP),
            (RIGHT - r, TOP), (RIGHT, TOP - r), (RIGHT, BOTTOM + r), (RIGHT - r, BOTTOM)][::-1]


def _tick() -> list[list[tuple[float, float]]]:
    return [_bar(250, 370, 420, 190, 130), _bar(420, 190, 760, 600, 130)]


def _cross() -> list[list[tuple[float, float]]]:
    return [_bar(170, 30, 830, 690, 170), _bar(170, 690, 830, 30, 170)]


def _hourglass() -> list[list[tuple[float, float]]]:
    top, bottom, mid = TOP - 40, BOTTOM + 40, (TOP + BOTTOM) / 2
    return [
        [(200, top), (800, top), (800, top - 90), (200, top - 90)][::-1],  # the two caps
        [(200, bottom + 90), (800, bottom + 90), (800, bottom), (200, bottom)][::-1],
        [(280, top - 90), (720, top - 90), (540, mid), (460, mid)][::-1],  # the two glasses
        [(460, mid), (540, mid), (720, bottom + 90), (280, bottom + 90)][::-1],
    ]


# character -> (glyph name, [(layer shapes, palette index), ...])
MARKS = {
    "✅": ("check", [([_box()], 0), (_tick(), 3)]),
    "❌": ("cross", [(_cross(), 1)]),
    "⏳": ("hourglass", [(_hourglass(), 2)]),
}


@functools.lru_cache(maxsize=1)
def font_bytes() -> bytes:
    """The marks as a TrueType font with colour layers (COLR v0, one palette)."""
    glyphs = {".notdef": _glyph(_box())}
    layers = {}
    for name, parts in MARKS.values():
        # Where colour layers are not read: one colour, the later layers cut out of the first.
        glyphs[name] = _glyph(*parts[0][0], holes=[shape for shapes, _ in parts[1:] for shape in shapes])
        layers[name] = []
        for number, (shapes, colour) in enumerate(parts):
            glyphs[f"{name}.{number}"] = _glyph(*shapes)
            layers[name].append((f"{name}.{number}", colour))
    builder = FontBuilder(EM, isTTF=True)
    builder.setupGlyphOrder(list(glyphs))
    builder.setupCharacterMap({ord(char): name for char, (name, _) in MARKS.items()})
    builder.setupGlyf(glyphs)
    table = builder.font["glyf"]
    for name in glyphs:
        table[name].recalcBounds(table)
    builder.setupHorizontalMetrics({name: (EM, getattr(table[name], "xMin", 0)) for name in glyphs})
    builder.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    builder.setupNameTable({"familyName": FAMILY, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=ASCENT, sTypoDescender=DESCENT, usWinAscent=ASCENT, usWinDescent=-DESCENT)
    builder.setupPost()
    builder.setupCOLR(layers)
    builder.setupCPAL([PALETTE])
    # fontTools stamps the font with the time it is built: a fixed date instead, so that a deck or a page
    # built twice is the same file
    builder.font.recalcTimestamp = False
    builder.font["head"].created = builder.font["head"].modified = BUILT
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def style() -> str:
    """A ``<style>`` element: the font as a data URL, and the class that sets a mark in it."""
    data = base64.b64encode(font_bytes()).decode()
    ranges = ", ".join(f"U+{ord(char):04X}" for char in MARKS)
    return (
        '<style type="text/css">\n'
        f'@font-face {{ font-family: "{FAMILY}"; src: url(data:font/ttf;base64,{data}) format("truetype");'
        f" unicode-range: {ranges}; }}\n"
        f'.course-mark {{ font-family: "{FAMILY}"; font-style: normal; font-weight: normal; }}\n'
        "</style>"
    )


_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_RAW = ("script", "style", "title", "textarea")  # elements whose text is not shown as page text
_MARK = re.compile("[" + "".join(MARKS) + "]")


def wrap(page: str) -> str:
    """``page`` (HTML) with every mark in its text set in the marks' font: ``<span class="course-mark">✅</span>``.

    Marks inside tags (attributes) and inside script, style, title and textarea elements are left alone.
    """
    parts = _TAG_OR_TEXT.split(page)
    raw = None  # the element whose text is left as it is, while inside one
    for i, part in enumerate(parts):
        if i % 2:  # a tag
            name = re.match(r"</?\s*([A-Za-z0-9]+)", part)
            if name and name.group(1).lower() in _RAW:
                raw = None if part.startswith("</") else name.group(1).lower()
        elif raw is None and _MARK.search(part):
            parts[i] = _MARK.sub(lambda m: f'<span class="course-mark">{m.group(0)}</span>', part)
    return "".join(parts)
