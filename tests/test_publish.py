"""Lecturing from the notebooks: slide metadata, `make slides` decks, the `make site` pages.

The metadata tests read the notebooks. The build tests build every deck and the site
once into a temporary folder (reveal.js comes from build/vendor/, downloaded on the
first build) and read the HTML: one deck per notebook, nothing loaded from the network,
links that resolve. The browser tests open them in Chromium inside a network
namespace of its own, so a deck or page that needs the network shows nothing there:
slides, formulas and figures rendered, and no slide of any deck taller than the
1280×800 slide.
"""

from __future__ import annotations

import base64
import functools
import html.parser
import io
import pathlib
import re
import urllib.parse

import nbformat
import pytest

from course_lib import plot
from course_lib.authoring import marks, publish

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}
SCROLL_TAG = "slide-scroll"  # the cell's code and outputs scroll on a static slide
FOLD_TAG = "slide-fold-code"  # the cell's code is folded under a summary on a static slide
WIDTH, HEIGHT = 1280, 800


def by_name(paths):
    return pytest.mark.parametrize("path", paths, ids=[p.stem for p in paths])


def slide_types(path: pathlib.Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [cell.metadata.get("slideshow", {}).get("slide_type") for cell in notebook.cells]


# --- slide structure in the notebooks --------------------------------------------------


@by_name(NOTEBOOKS)
def test_every_cell_says_what_it_is_on_a_slide(path):
    types = slide_types(path)
    missing = [i for i, t in enumerate(types) if t is None]
    assert not missing, f"{path.name}: cells {missing} have no slideshow.slide_type"
    unknown = {t for t in types if t not in SLIDE_TYPES}
    assert not unknown, f"{path.name}: unknown slide types {unknown}"


@by_name(NOTEBOOKS)
def test_a_deck_opens_on_a_slide(path):
    shown = [t for t in slide_types(path) if t not in ("skip", "notes")]
    assert shown and shown[0] == "slide", f"{path.name}: the first cell shown is a {shown[:1]}, not a slide"


@by_name(NOTEBOOKS)
def test_a_sensible_number_of_slides(path):
    types = slide_types(path)
    slides = types.count("slide")
    pages = slides + types.count("subslide")
    cells = len([t for t in types if t not in ("skip", "notes")])
    assert slides >= 4, f"{path.name}: {slides} slides; one idea per slide means more"
    assert 8 <= pages <= 80, f"{path.name}: {pages} slides and subslides"
    # One idea per slide: a slide or subslide holds a handful of cells, not a chapter.
    run, longest = 0, 0
    for t in types:
        if t in ("slide", "subslide"):
            run = 0
        if t not in ("skip", "notes"):
            run += 1
            longest = max(longest, run)
    assert longest <= 8, f"{path.name}: a slide of {longest} cells ({cells} cells on {pages} slides)"


@by_name(NOTEBOOKS)
def test_cells_that_scroll_or_fold_on_a_slide_are_code_with_output(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        tags = set(cell.metadata.get("tags", [])) & {SCROLL_TAG, FOLD_TAG}
        if tags:
            assert cell.cell_type == "code" and cell.outputs, f"{path.name} cell {index}: tagged {tags} without outputs"
            assert len(tags) == 1, f"{path.name} cell {index}: both {SCROLL_TAG} and {FOLD_TAG}"


def test_folded_code_shows_its_outputs_and_a_summary(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1\nprint(x)")]
    notebook.cells[0].metadata["slideshow"] = {"slide_type": "slide"}
    notebook.cells[1].metadata.update(tags=[FOLD_TAG], slideshow={"slide_type": "-"})
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    path = tmp_path / "05_folded.ipynb"
    nbformat.write(notebook, path)
    (deck,) = publish.build_slides([path], out=tmp_path / "out", cache=ROOT / "build" / "vendor")
    page = deck.read_text()
    assert '<details class="course-folded-code"><summary>the code (2 lines)</summary>' in page
    assert "print" in page.split("course-folded-code", 1)[1] and "jp-OutputArea" in page


def png_size(data: str) -> tuple[int, int]:
    """Width and height of a base64 PNG, from its header."""
    head = base64.b64decode(data[:64])
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@by_name(NOTEBOOKS)
def test_figures_are_stored_at_twice_their_pixels(path):
    """So a slide can enlarge a figure and keep it sharp; JupyterLab shows it at its size (width, height)."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if "image/png" not in output.get("data", {}):
                continue
            size = output.get("metadata", {}).get("image/png", {})
            pixels = png_size(output["data"]["image/png"])
            assert size, f"{path.name} cell {index}: a figure stored without its size: run `make notebooks`"
            assert abs(pixels[0] - 2 * size["width"]) <= 1, f"{path.name} cell {index}: {pixels} px for {size}"


@by_name(NOTEBOOKS)
def test_every_figure_is_stored_with_its_description(path):
    """The alt text of its picture on the slides and the site (course_lib.plot.describe_figure, stored by the kernel)."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                alt = output.get("metadata", {}).get("alt", "")
                assert alt.startswith("Figure") and len(alt) > 20, (
                    f"{path.name} cell {index}: a figure stored without its description ({alt!r}): run `make notebooks`")


def test_no_figure_text_is_set_below_the_room_size():
    """Every text size in the style is at least plot.MIN_FONT_PT, and no notebook sets a size of its own."""
    sizes = {key: value for key, value in plot.STYLE.items() if "size" in key}
    assert min(sizes.values()) >= plot.MIN_FONT_PT, sizes
    for path in NOTEBOOKS:
        code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert not [c for c in code if re.search(r"fontsize\s*=|size\s*=\s*['\"](?:x*-?small|smaller)", c)], (
            f"{path.name} sets a font size: figure text comes from course_lib.plot.STYLE")


# --- building --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def decks(tmp_path_factory) -> dict[str, pathlib.Path]:
    out = tmp_path_factory.mktemp("slides")
    built = publish.build_slides(NOTEBOOKS, out=out, cache=ROOT / "build" / "vendor")
    return {deck.name.removesuffix(".slides.html"): deck for deck in built}


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("site")
    publish.build_site(NOTEBOOKS, out=out, readme=ROOT / "README.md")
    return out


class Links(html.parser.HTMLParser):
    """Every address a page links to or loads, and every id it defines."""

    def __init__(self):
        super().__init__()
        self.loads: list[str] = []  # src of script/img, href of stylesheets
        self.links: list[str] = []  # href of <a>
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag in ("script", "img", "iframe") and attrs.get("src"):
            self.loads.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.loads.append(attrs["href"])


@functools.cache  # a page is read once, however many links point into it
def parse(path: pathlib.Path) -> Links:
    links = Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


def is_remote(address: str) -> bool:
    return urllib.parse.urlsplit(address).scheme not in ("", "file", "data") or address.startswith("//")


def local_target(page: pathlib.Path, address: str) -> tuple[pathlib.Path, str]:
    parts = urllib.parse.urlsplit(address)
    target = (page.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else page
    return target, parts.fragment


def test_make_slides_writes_one_deck_per_notebook(decks):
    assert sorted(decks) == [p.stem for p in NOTEBOOKS]


@by_name(NOTEBOOKS)
def test_a_deck_loads_nothing_from_the_network(decks, path):
    deck = decks[path.stem]
    loads = parse(deck).loads
    assert not [a for a in loads if is_remote(a)], f"{deck.name} loads from the network"
    missing = [a for a in loads if not a.startswith("data:") and not local_target(deck, a)[0].exists()]
    assert not missing, f"{deck.name} loads files that are not there: {missing}"
    assert any("reveal.js" in a for a in loads) and any("MathJax.js" in a for a in loads)


def test_decks_link_to_decks(decks):
    links = parse(decks["00_welcome"]).links
    assert "01_dot_product.slides.html" in links
    assert not [a for a in links if a.endswith(".ipynb")]


def solutions(path: pathlib.Path) -> int:
    notebook = nbformat.read(path, as_version=4)
    return sum("# BEGIN SOLUTION" in cell.source for cell in notebook.cells if cell.cell_type == "code")


@by_name([p for p in NOTEBOOKS if solutions(p)])
def test_decks_and_pages_fold_every_solution(decks, site, path):
    summary = "): try the exercise first</summary>"
    for page in (decks[path.stem], site / f"{path.stem}.html"):
        text = page.read_text(encoding="utf-8")
        assert text.count(summary) == solutions(path), f"{page.name}: a solution is not folded"
        assert "<details open" not in text


def test_make_site_writes_an_index_and_a_page_per_notebook(site):
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == sorted(["index.html", *(f"{p.stem}.html" for p in NOTEBOOKS)])
    index = parse(site / "index.html")
    for path in NOTEBOOKS:
        assert f"{path.stem}.html" in index.links, f"the index does not link to {path.stem}"


def test_the_site_sets_each_lecturers_note_apart(site):
    """A notes cell (the decks' speaker notes) shows on the site in an aside of its own, which a learner can skip."""
    for path in NOTEBOOKS:
        notes = [c for c in nbformat.read(path, as_version=4).cells
                 if c.get("metadata", {}).get("slideshow", {}).get("slide_type") == "notes"]
        page = (site / f"{path.stem}.html").read_text()
        asides = re.findall(r'<aside class="course-lecturer-note">(.*?)</aside>', page, re.S)
        assert len(asides) == len(notes), f"{path.stem}: {len(notes)} notes cells, {len(asides)} set apart on its page"
        assert all("Lecturer" in aside for aside in asides), f"{path.stem}: an aside that is not a lecturer's note"


def test_every_link_of_the_site_resolves(site):
    broken = []
    for page in sorted(site.glob("*.html")):
        found = parse(page)
        for address in found.links + found.loads:
            if is_remote(address) or address.startswith(("data:", "mailto:")):
                continue
            target, fragment = local_target(page, address)
            if not target.exists():
                broken.append(f"{page.name}: {address} (no such file)")
            elif fragment and target.suffix == ".html" and fragment not in parse(target).ids:
                broken.append(f"{page.name}: {address} (no id {fragment!r})")
            if address.split("#")[0].endswith(".ipynb"):
                broken.append(f"{page.name}: {address} (a notebook, not its page)")
    assert not broken, "\n".join(broken)


def test_the_site_loads_nothing_from_the_network(site):
    remote = [f"{p.name}: {a}" for p in site.glob("*.html") for a in parse(p).loads if is_remote(a)]
    assert not remote


class Texts(html.parser.HTMLParser):
    """The text a reader sees as a page's title, as link text, and in table cells."""

    def __init__(self):
        super().__init__()
        self.title, self.links, self.cells = "", [], []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("title", "a", "td"):
            self._open.append(tag)
            if tag == "a":
                self.links.append("")
            elif tag == "td":
                self.cells.append("")

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        if "title" in self._open:
            self.title += data
        if "a" in self._open:
            self.links[-1] += data
        if "td" in self._open:
            self.cells[-1] += data


def texts(path: pathlib.Path) -> Texts:
    found = Texts()
    found.feed(path.read_text(encoding="utf-8"))
    return found


TEX_MARKS = re.compile(r"[\\{}$]")


@pytest.mark.parametrize("heading, text", [
    ("04 · Scaling: why divide by $\\sqrt{d_k}$?", "04 · Scaling: why divide by √d_k?"),
    ("13 · Attention at scale: the $T \\times T$ matrix", "13 · Attention at scale: the T × T matrix"),
    ("$x_0..x_{T-1}$ and $QK^\\top$, $O(T^2)$", "x₀..x_(T−1) and QKᵀ, O(T²)"),
    ("$\\mathrm{softmax}\\!\\left(\\frac{QK^\\top}{\\sqrt{d_k}}\\right)V$", "softmax(QKᵀ/√d_k)V"),
    ("**the** `d_k` [link](05_softmax.ipynb)", "the d_k link"),
])
def test_headings_become_plain_text(heading, text):
    assert publish.plain_text(heading) == text


def test_titles_and_links_read_as_plain_text(decks, site):
    """Tab titles, the site's titles and previous/next links, the index's notebook map: no TeX left."""
    found = []
    pages = [*decks.values(), *sorted(site.glob("*.html"))]
    for page in pages:
        shown = texts(page)
        found += [f"{page.name}: title {shown.title!r}" for _ in [1] if TEX_MARKS.search(shown.title)]
        found += [f"{page.name}: link {text!r}" for text in shown.links if TEX_MARKS.search(text)]
    index = texts(site / "index.html")
    found += [f"index.html: {cell!r}" for cell in index.cells if TEX_MARKS.search(cell)]
    assert index.cells, "the index shows no notebook map"
    assert not found, "\n".join(found)
    assert texts(decks["04_scaling"]).title.startswith("04 · Scaling: why divide by √d_k?")
    assert "03 · Transpose and scores: every query against every key →" in texts(site / "02_queries_keys_values.html").links


def test_every_picture_says_in_words_what_figure_it_is(decks, site):
    """A screen reader reads a figure's alt: the stored description, its formulas as plain text; no picture goes
    without (nbconvert writes no alt at all)."""
    for name, deck in decks.items():
        page = site / f"{name}.html"
        stored = [publish.formulas_as_text(output["metadata"]["alt"])
                  for cell in nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4).cells
                  for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]
        for built in (deck, page):
            images = re.findall(r"<img\b[^>]*>", built.read_text(encoding="utf-8"))
            alts = [html.unescape(m) for tag in images for m in re.findall(r'\balt="([^"]*)"', tag)]
            assert len(alts) == len(images) == len(stored), f"{built.name}: {len(images)} pictures, {len(alts)} alt texts"
            assert alts == stored, f"{built.name}: the alt texts are not the stored descriptions"
            assert not [alt for alt in alts if "$" in alt or "\\" in alt], f"{built.name}: TeX left in an alt text"


def test_pages_lead_from_one_notebook_to_the_next(site):
    links = parse(site / "04_scaling.html").links
    assert {"03_transpose_and_scores.html", "index.html", "05_softmax.html"} <= set(links)


# --- the pieces, and their errors --------------------------------------------------------


def test_static_outputs_point_links_at_pages_and_show_widgets_as_text():
    cell = nbformat.v4.new_markdown_cell("[next](05_softmax.ipynb), [there](notebooks/07_x.ipynb#goals), [web](https://a.b/c.ipynb)")
    code = nbformat.v4.new_code_cell("slider")
    code.outputs = [nbformat.v4.new_output(
        "display_data", data={"text/plain": "Slider d_k", publish.WIDGET_VIEW: {"model_id": "abc"}})]
    step = publish.StaticOutputs()
    step.suffix = ".slides.html"
    assert step.preprocess_cell(cell, {}, 0)[0].source == (
        "[next](05_softmax.slides.html), [there](07_x.slides.html#goals), [web](https://a.b/c.ipynb)")
    assert step.preprocess_cell(code, {}, 1)[0].outputs[0].data == {"text/plain": "Slider d_k"}
    figure = nbformat.v4.new_code_cell("plt.show()")
    figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBO", "text/plain": "<Figure>"},
                                             metadata={"alt": "Figure: line plot, y axis “$\\sqrt{d_k}$”",
                                                       "image/png": {"width": 10, "height": 5}})]
    assert step.preprocess_cell(figure, {}, 2)[0].outputs[0].metadata["image/png"] == {
        "width": 10, "height": 5, "alt": "Figure: line plot, y axis “√d_k”"}


def test_notebook_paths_refuse_what_is_not_a_course_notebook(tmp_path):
    with pytest.raises(publish.PublishError, match="does not exist"):
        publish.notebook_paths([tmp_path / "05_missing.ipynb"])
    other = tmp_path / "notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), other)
    with pytest.raises(publish.PublishError, match="not a course notebook"):
        publish.notebook_paths([other])


def test_the_index_needs_the_readme_notebook_map():
    page = publish.index_markdown("# Course\n\nIntro.\n\n## Two commands\n\nx\n\n## The notebooks\n\n| a |\n\n## Layout\n")
    assert page.startswith("# Course\n\nIntro.") and "| a |" in page and "Layout" not in page
    assert "## Run the notebooks yourself" in page and "`make lab`" in page, "a reader learns how to run them"
    with pytest.raises(publish.PublishError, match="The notebooks"):
        publish.index_markdown("# Course\n\nNo map.\n")


def test_reveal_is_refused_when_its_digest_differs(tmp_path, monkeypatch):
    class Response:
        def __init__(self, data):
            self.data = data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return self.data

    monkeypatch.setattr(publish.urllib.request, "urlopen", lambda url, timeout: Response(b"not reveal.js"))
    with pytest.raises(publish.PublishError, match="does not match"):
        publish.reveal_tarball(tmp_path)
    assert not list(tmp_path.iterdir()), "a tarball that failed its check was kept"


def test_reveal_unreachable_says_what_to_do(tmp_path, monkeypatch):
    def refuse(url, timeout):
        raise publish.urllib.error.URLError("network unreachable")

    monkeypatch.setattr(publish.urllib.request, "urlopen", refuse)
    with pytest.raises(publish.PublishError, match="put it at .*reveal.js-.*tgz"):
        publish.reveal_tarball(tmp_path)


def test_the_command_reports_errors_without_a_traceback(tmp_path, capsys):
    assert publish.main(["slides", str(tmp_path / "05_missing.ipynb"), "--out", str(tmp_path)]) == 1
    assert "error: notebook" in capsys.readouterr().err


# --- in a browser with the network cut --------------------------------------------------

TYPESET = "() => new Promise(done => MathJax.Hub.Queue(() => done(true)))"


def needed(url: str) -> bool:
    """Whether a failed request was for something the page needs: all but MathJax's font probes
    (about:blank), which fail by design."""
    return not url.startswith("about:")


def open_offline(chromium, page_path: pathlib.Path, fragment: str = ""):
    """A new page of ``chromium`` (the offline browser's one context) at 1280×800, on ``page_path``, typeset."""
    page = chromium.new_page()
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(page_path.as_uri() + fragment)
    page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.isReady")
    page.evaluate(TYPESET)
    return page, failed


# Every mark (✅ ❌ ⏳) in the page's text: whether it sits in a .course-mark span, the font that span is
# set in, and whether that font loaded; plus the bounding box of the first one shown.
MARKS = """async () => {
    const marks = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!/[\u2705\u274C\u23F3]/.test(node.nodeValue) || node.parentElement.closest('script, style')) continue;
        const span = node.parentElement;
        marks.push({wrapped: span.classList.contains('course-mark') && span.textContent.length === 1,
                    font: getComputedStyle(span).fontFamily});
    }
    const loaded = await document.fonts.load('16px "Course Marks"', '\u2705\u274C\u23F3');
    return {marks, loaded: loaded.length};
}"""


def assert_marks_drawn(page, what: str) -> None:
    """The page's marks are set in the course's own mark font, which loaded: they show without an emoji font."""
    found = page.evaluate(MARKS)
    assert found["marks"], f"{what}: no mark (✅ ❌ ⏳) to check"
    loose = [m for m in found["marks"] if not m["wrapped"] or "Course Marks" not in m["font"]]
    assert not loose, f"{what}: {len(loose)} marks not set in the marks' font: {loose[:3]}"
    assert found["loaded"] >= 1, f"{what}: the marks' font did not load"


def test_marks_font_has_the_three_marks_in_colour():
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(marks.font_bytes()))
    assert set(font.getBestCmap()) == {ord(c) for c in "✅❌⏳"}
    assert {"COLR", "CPAL"} <= set(font.keys())
    assert "data:font/ttf;base64," in marks.style()


def test_the_marks_font_is_the_same_file_whenever_it_is_built(monkeypatch):
    """A deck or a page built twice is the same file: the font carries a fixed date, not the time of its build."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    built = []
    for now in (1.0e9, 2.0e9):  # 2001 and 2033
        monkeypatch.setattr("fontTools.misc.timeTools.time.time", lambda now=now: now)
        marks.font_bytes.cache_clear()
        built.append(marks.font_bytes())
    marks.font_bytes.cache_clear()
    assert built[0] == built[1]


def test_the_sites_front_page_keeps_its_cell_id(site):
    """nbformat gives a new cell a random id, which index.html would show: the front page's cell has its own."""
    assert 'id="cell-id=course-index"' in (site / "index.html").read_text(encoding="utf-8")


def test_marks_are_wrapped_in_text_only():
    page = '<title>✅</title><pre>✅ Correct <b title="❌">x</b> ⏳</pre><script>var a = "✅";</script>'
    assert marks.wrap(page) == (
        '<title>✅</title><pre><span class="course-mark">✅</span> Correct <b title="❌">x</b> '
        '<span class="course-mark">⏳</span></pre><script>var a = "✅";</script>'
    )


def rendered(page) -> dict:
    return page.evaluate("""() => ({
        formulas: document.querySelectorAll('.MathJax, .MathJax_Display').length,
        figures: [...document.querySelectorAll('img')].filter(i => i.complete && i.naturalWidth > 0).length,
        raw: [...document.querySelectorAll('.jp-MarkdownOutput')].filter(e => /\\$[^$]+\\$/.test(e.innerText)).length,
    })""")


# How many outputs break their long lines inside words (JupyterLab's word-break: break-all: "pi/ano", "0.05/7").
BREAK_ALL = """() => [...document.querySelectorAll('.jp-OutputArea-output pre')]
    .filter(pre => getComputedStyle(pre).wordBreak === 'break-all').length"""


# The arrows (reveal's controls) that lie over the slide number, on a slide that has one below it.
NUMBER_COVERED = """() => {
    for (let h = 0; h < Reveal.getHorizontalSlides().length && !Reveal.availableRoutes().down; h++) Reveal.slide(h, 0);
    const number = document.querySelector('.reveal .slide-number').getBoundingClientRect();
    return [...document.querySelectorAll('.reveal .controls button.enabled')].filter((button) => {
        const box = button.getBoundingClientRect();
        return box.left < number.right && number.left < box.right && box.top < number.bottom && number.top < box.bottom;
    }).map((button) => button.className);
}"""


@pytest.mark.browser
def test_a_deck_renders_with_the_network_cut(decks, offline_browser):
    page, failed = open_offline(offline_browser, decks["04_scaling"])
    try:
        assert page.evaluate("() => Reveal.isReady() && Reveal.getTotalSlides()") > 1
        shown = rendered(page)
        assert shown["formulas"] > 0, "no formula typeset"
        assert shown["figures"] > 0, "no figure shown"
        assert shown["raw"] == 0, "a formula left as $...$"
        assert not [u for u in failed if needed(u)], f"requests failed: {failed}"
        assert_marks_drawn(page, "deck 04")
        broken = page.evaluate(BREAK_ALL)
        assert not broken, f"{broken} outputs break their lines inside words"
        covered = page.evaluate(NUMBER_COVERED)
        assert not covered, f"the slide number lies under the arrows {covered}"
    finally:
        page.close()


@pytest.mark.browser
def test_the_site_renders_with_the_network_cut(site, offline_browser):
    page, failed = open_offline(offline_browser, site / "index.html")
    try:
        assert rendered(page)["formulas"] > 0
        page.click("a[href='07_scaled_dot_product_attention.html']")
        page.wait_for_function("() => window.MathJax && MathJax.isReady")
        page.evaluate(TYPESET)
        assert page.url.endswith("07_scaled_dot_product_attention.html")
        shown = rendered(page)
        assert shown["formulas"] > 0 and shown["figures"] > 0 and shown["raw"] == 0, shown
        assert not [u for u in failed if needed(u)], f"requests failed: {failed}"
        assert_marks_drawn(page, "site page 07")
        hidden = page.evaluate("""() => [...document.querySelectorAll('.jp-InputArea-editor')]
            .filter(box => box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX === 'hidden')
            .map(box => box.innerText.split('\\n').sort((a, b) => b.length - a.length)[0].slice(0, 60))""")
        assert not hidden, f"code cut off at the page's right edge, with no way to scroll to it: {hidden}"
        broken = page.evaluate(BREAK_ALL)
        assert not broken, f"{broken} outputs break their lines inside words"
    finally:
        page.close()


@pytest.mark.browser
def test_a_narrow_window_keeps_the_sites_drawing_and_navigation_whole(site, offline_browser):
    """At 800 px, notebook 14's drawing of a block keeps its lines (it scrolls sideways) and the previous and next
    links keep apart from "Contents"."""
    page, _ = open_offline(offline_browser, site / "14_tiny_gpt.html")
    try:
        page.set_viewport_size({"width": 800, "height": HEIGHT})
        drawings = page.evaluate("""() => [...document.querySelectorAll('.jp-RenderedMarkdown pre')].map((pre) => ({
            lines: pre.textContent.replace(/\\n$/, '').split('\\n').length,
            shown: Math.round((pre.clientHeight - parseFloat(getComputedStyle(pre).paddingTop)
                               - parseFloat(getComputedStyle(pre).paddingBottom)) / parseFloat(getComputedStyle(pre).lineHeight)),
            scrolls: getComputedStyle(pre).overflowX}))""")
        assert drawings, "no drawing in notebook 14's page: nothing measured"
        assert all(d["shown"] == d["lines"] and d["scrolls"] == "auto" for d in drawings), drawings
        gaps = page.evaluate("""() => [...document.querySelectorAll('nav.course-nav')].flatMap((nav) => {
            const links = [...nav.children].map((a) => a.getBoundingClientRect());
            return links.slice(1).map((box, i) => box.top >= links[i].bottom ? 99 : box.left - links[i].right);
        })""")
        assert gaps and min(gaps) >= 8, f"links of the navigation touch: gaps {gaps} px"
    finally:
        page.close()


# Marks, by data-course-box, the first code cell and the first drawing that scroll sideways and the first code cell
# that fits; returns the marks given.
MARK_BOXES = """() => {
    const wider = (box) => box.scrollWidth > box.clientWidth + 1;
    const found = {
        'code-wider': [...document.querySelectorAll('.jp-InputArea-editor')].find(wider),
        'drawing-wider': [...document.querySelectorAll('.jp-RenderedMarkdown pre')].find(wider),
        'code-fits': [...document.querySelectorAll('.jp-InputArea-editor')].find((box) => !wider(box)),
    };
    return Object.entries(found).filter(([, box]) => box).map(([mark, box]) => (box.dataset.courseBox = mark));
}"""


def edge_shades(box) -> tuple[int, int]:
    """How much darker than its middle a box is just inside its left and its right edge, in grey levels (0 to 255),
    on a row of its top padding (no text there)."""
    from PIL import Image  # Matplotlib's own image library

    image = Image.open(io.BytesIO(box.screenshot())).convert("L")
    row = 2
    middle = image.getpixel((image.width // 2, row))
    return middle - image.getpixel((2, row)), middle - image.getpixel((image.width - 3, row))


@pytest.mark.browser
def test_code_that_scrolls_sideways_shows_a_shade_where_lines_are_hidden(site, offline_browser):
    """A code cell or a drawing wider than the page scrolls, and a shade at each edge beyond which its lines go on
    says so, as a browser with overlay scrollbars shows no bar until the box is scrolled: on the right at first,
    on both sides halfway, on the left at the end. A box that fits shows none."""
    page, _ = open_offline(offline_browser, site / "14_tiny_gpt.html")
    try:
        page.set_viewport_size({"width": 800, "height": HEIGHT})
        assert sorted(page.evaluate(MARK_BOXES)) == ["code-fits", "code-wider", "drawing-wider"]
        shade = 20  # grey levels; the page's background and the code's differ by 10 (255 and 245)
        for mark in ("code-wider", "drawing-wider"):
            box = page.locator(f"[data-course-box='{mark}']")
            seen = {}
            for where, scroll in (("start", "0"), ("halfway", "(b.scrollWidth - b.clientWidth) / 2"),
                                  ("end", "b.scrollWidth")):
                box.evaluate(f"(b) => {{ b.scrollLeft = {scroll}; }}")
                seen[where] = edge_shades(box)
            left, right = zip(*seen.values())
            assert left[0] < 3 and left[1] > shade and left[2] > shade, f"{mark}, left edge: {seen}"
            assert right[0] > shade and right[1] > shade and right[2] < 3, f"{mark}, right edge: {seen}"
        fits = edge_shades(page.locator("[data-course-box='code-fits']"))
        assert max(fits) < 3, f"a code cell that fits the page is shaded at its edges: {fits}"
    finally:
        page.close()


# Every slide of a deck shown in turn (figures fitted, formulas typeset): its height, and each figure's
# size on the slide, its stored pixels and its margins left and right.
MEASURE = """async () => {
    const slides = [];
    for (const slide of Reveal.getSlides()) {
        const {h, v} = Reveal.getIndices(slide);
        Reveal.slide(h, v);
        await (window.courseFitted || Promise.resolve());
        await new Promise(done => MathJax.Hub.Queue(() => done(true)));
        await new Promise(done => requestAnimationFrame(() => done(true)));
        const figures = [...slide.querySelectorAll('.jp-RenderedImage img')]
            .filter(img => !img.closest('.celltag_slide-scroll'))
            .map(img => {
                const box = img.getBoundingClientRect(), around = img.parentElement.getBoundingClientRect();
                return {width: img.offsetWidth, height: img.offsetHeight, pixels: img.naturalWidth,
                        left: (box.left - around.left) / Reveal.getScale(), right: (around.right - box.right) / Reveal.getScale()};
            });
        const labels = [...slide.querySelectorAll('details.course-folded-code > summary')]
            .map(label => ({px: parseFloat(getComputedStyle(label).fontSize) * Reveal.getScale(), text: label.innerText}));
        const wrapped = [];  // each line of code that wraps: where its first character and its continuation start
        for (const line of slide.querySelectorAll('.jp-InputArea pre .course-code-line')) {
            const range = document.createRange();
            range.selectNodeContents(line);
            const boxes = [...range.getClientRects()].filter(box => box.width > 0);
            if (!boxes.length) continue;  // folded away
            const top = Math.min(...boxes.map(box => box.top));
            const later = boxes.filter(box => box.top > top + 2);
            if (!later.length) continue;
            const first = line.textContent.search(/\\S/), text = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
            for (let node = text.nextNode(), at = 0; node; at += node.nodeValue.length, node = text.nextNode()) {
                if (first < at + node.nodeValue.length) {
                    range.setStart(node, first - at);
                    range.setEnd(node, first - at + 1);
                    break;
                }
            }
            wrapped.push({text: line.textContent.trim().slice(0, 40), first: range.getBoundingClientRect().left,
                          continued: Math.min(...later.map(box => box.left))});
        }
        const blocks = [...slide.querySelectorAll('.jp-RenderedMarkdown pre')]  // code or drawings in the Markdown
            .map(pre => ({px: parseFloat(getComputedStyle(pre).fontSize) * Reveal.getScale(),
                          cut: pre.scrollWidth > pre.clientWidth + 1, text: pre.innerText.trim().slice(0, 30)}));
        const height = slide.scrollHeight;
        // A lecturer opens the folded code of a slide with a figure: the slide is measured open, then closed again.
        const folds = [...slide.querySelectorAll('details.course-folded-code')];
        let opened = null;
        if (folds.length && figures.length) {
            const waiting = Promise.all(folds.map(fold => new Promise(done => fold.addEventListener('toggle', done, {once: true}))));
            folds.forEach(fold => { fold.open = true; });
            await waiting;
            await new Promise(done => requestAnimationFrame(() => done(true)));
            opened = slide.scrollHeight;
            folds.forEach(fold => { fold.open = false; });  // not waited for: its refit finds another slide shown
        }
        slides.push({h, v, height, opened, text: slide.innerText.trim().slice(0, 60), figures, labels, wrapped, blocks});
    }
    return slides;
}"""


@pytest.fixture(scope="session")
def slides_shown(decks, offline_browser) -> dict[str, list[dict]]:
    """Every slide of every deck as Chromium shows it at 1280×800 with the network cut (``MEASURE``)."""
    shown = {}
    for name, deck in sorted(decks.items()):
        page, _ = open_offline(offline_browser, deck)
        try:
            page.wait_for_function("() => Reveal.isReady()")
            shown[name] = page.evaluate(MEASURE)
        finally:
            page.close()
    return shown


@pytest.mark.browser
def test_no_slide_is_taller_than_the_slide(slides_shown):
    report = [f"{name} slide {s['h']}.{s['v']}: {s['height']} px > {HEIGHT} ({s['text']!r})"
              for name, slides in slides_shown.items() for s in slides if s["height"] > HEIGHT]
    count = sum(len(slides) for slides in slides_shown.values())
    assert not report, f"{len(report)} of {count} slides overflow at {WIDTH}×{HEIGHT}:\n" + "\n".join(report)


@pytest.mark.browser
def test_a_slide_with_a_figure_still_fits_with_its_code_opened(slides_shown):
    """Opening a fold (a lecturer showing the code that drew the figure, or the solution) fits the slide's
    figures again into the room left, and long code scrolls: the figure is not pushed below the edge."""
    opened = [(name, s) for name, slides in slides_shown.items() for s in slides if s["opened"] is not None]
    assert opened, "no slide with folded code and a figure: nothing measured"
    report = [f"{name} slide {s['h']}.{s['v']}: {s['opened']} px > {HEIGHT} with its code opened ({s['text']!r})"
              for name, s in opened if s["opened"] > HEIGHT]
    assert not report, f"{len(report)} of {len(opened)} slides overflow once their code is opened:\n" + "\n".join(report)


@pytest.mark.browser
def test_fold_labels_are_as_large_as_the_slides_text(slides_shown):
    """"the solution (6 lines): try the exercise first" is read from the back of the room, as the slide's
    text is (20 px, on a deck that reveal.js shows at 0.98 of its size at 1280×800)."""
    labels = [(name, s, label) for name, slides in slides_shown.items() for s in slides for label in s["labels"]]
    assert labels, "no folded code on any slide: nothing measured"
    small = [f"{name} slide {s['h']}.{s['v']}: {label['px']:.1f} px {label['text']!r}"
             for name, s, label in labels if label["px"] < 0.98 * 20]
    assert not small, f"{len(small)} of {len(labels)} fold labels are smaller than the slide's text:\n" + "\n".join(small)


@pytest.mark.browser
def test_code_in_the_markdown_is_as_large_as_the_code_cells_and_whole(slides_shown):
    """A block of code in a Markdown cell (notebook 14 draws its transformer block so) reads at the code cells'
    19 px, not at reveal's 0.55 em (11 px), and its lines fit the slide unbroken."""
    blocks = [(name, s, block) for name, slides in slides_shown.items() for s in slides for block in s["blocks"]]
    assert blocks, "no code block in any notebook's Markdown: nothing measured"
    bad = [f"{name} slide {s['h']}.{s['v']} {block['text']!r}: {block['px']:.1f} px" + (", cut" if block["cut"] else "")
           for name, s, block in blocks if block["px"] < 0.98 * 19 or block["cut"]]
    assert not bad, "code blocks in the Markdown too small or too wide for the slide:\n" + "\n".join(bad)


@pytest.mark.browser
def test_wrapped_code_keeps_its_indentation(slides_shown):
    """A line of code too long for the slide wraps, and goes on right of where the line itself starts, as an
    editor shows it: never back at the cell's left edge, where it would read as a line of its own."""
    slides = [(name, s) for name, deck in slides_shown.items() for s in deck]
    wrapped = [(name, s, line) for name, s in slides for line in s["wrapped"]]
    assert wrapped, "no wrapped line of code found on any slide (is each line marked by courseHangCode?): nothing measured"
    flat = [f"{name} slide {s['h']}.{s['v']}: {line['text']!r} goes on at {line['continued']:.0f} px, left of its"
            f" start at {line['first']:.0f} px" for name, s, line in wrapped if line["continued"] <= line["first"]]
    assert not flat, f"{len(flat)} of {len(wrapped)} wrapped lines of code lose their indentation:\n" + "\n".join(flat)


def smallest_text_px(figure: dict) -> float:
    """The figure's smallest text on the slide, in px: plot.MIN_FONT_PT points, stored at twice the
    figure's dpi, drawn at the figure's width on the slide over its stored pixels."""
    stored_px_per_pt = 2 * plot.STYLE["figure.dpi"] / 72
    return plot.MIN_FONT_PT * stored_px_per_pt * figure["width"] / figure["pixels"]


@pytest.mark.browser
def test_figures_fill_the_slide_centred_with_text_readable_from_the_back(slides_shown):
    """Each figure takes 60 % of the slide's width or 55 % of its height, is centred, and its smallest
    text is 16 px or more."""
    report, figures = [], []
    for name, slides in slides_shown.items():
        for s in slides:
            for f in s["figures"]:
                figures.append(f)
                where = f"{name} slide {s['h']}.{s['v']}: figure {f['width']}×{f['height']} px"
                if f["width"] < 0.6 * WIDTH and f["height"] < 0.55 * HEIGHT:
                    report.append(f"{where} is under 60 % of the width and 55 % of the height")
                if smallest_text_px(f) < 16:
                    report.append(f"{where}: its smallest text is {smallest_text_px(f):.1f} px")
                if abs(f["left"] - f["right"]) > 2:
                    report.append(f"{where} is not centred ({f['left']:.0f} px left, {f['right']:.0f} px right)")
    assert len(figures) >= 14, f"only {len(figures)} figures found on the slides"
    assert not report, "\n".join(report)


@pytest.mark.browser
def test_the_speaker_view_shows_the_notes_at_once_with_each_formula_once(decks, offline_browser):
    """Deck 04's first exercise: its note follows a fragment (the check) and holds a formula, √256 = 16."""
    page, _ = open_offline(offline_browser, decks["04_scaling"])
    try:
        page.wait_for_function("() => Reveal.isReady()")
        where = page.evaluate("""() => {
            for (const slide of Reveal.getSlides()) {
                const notes = slide.querySelector('aside.notes');
                if (notes && notes.textContent.includes('256')) return Reveal.getIndices(slide);
            }
        }""")
        assert where, "deck 04 has no note about 256 any more: pick another note with a formula"
        page.evaluate("([h, v]) => Reveal.slide(h, v)", [where["h"], where["v"]])
        with page.context.expect_page() as opened:
            page.keyboard.press("s")
        speaker = opened.value
        notes = ".speaker-controls-notes .value"
        try:
            speaker.wait_for_function(f"() => document.querySelector('{notes}')?.innerText.includes('256')",
                                      timeout=10_000)
        except Exception:
            shot = decks["04_scaling"].parent / "speaker-view.png"
            speaker.screenshot(path=str(shot))
            pytest.fail(f"the speaker view opened without the slide's notes; screenshot {shot}")
        shown = speaker.evaluate(f"""() => {{
            const value = document.querySelector('{notes}');
            return {{text: value.innerText, math: value.querySelectorAll('math').length,
                     mathjax: value.querySelectorAll('.MathJax, .MathJax_Preview, script').length}};
        }}""")
        assert shown["mathjax"] == 0 and shown["math"] >= 1, shown
        assert shown["text"].count("256") == 2, f"a formula reads twice: {shown['text']!r}"  # "is 256, ...", "√256 = 16"
        speaker.close()
    finally:
        page.close()
