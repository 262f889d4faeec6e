"""Live slides: in the JupyterLab of `make lab`, formulas render in the notebook and in its RISE slideshow,
and every notebook's slideshow is fit for a lecture hall.

The test starts `make lab` as a learner would, opens a notebook with formulas in a real browser
(Debian's Chromium driven by Playwright), checks that the Markdown's TeX is typeset by MathJax, then
starts jupyterlab_rise's slideshow through the app's command registry, as the toolbar button and the
View menu do: "Render as Reveal Slideshow" (`RISE:preview`, a panel beside the notebook) and "Open as
Reveal Slideshow" (`RISE:slideshow`, a new browser tab) are served by the same `/rise/` page of
jupyterlab_rise; the test runs the first (the second on request, see below) and asks for a slide whose
formulas are typeset.

RISE saves the notebook before it shows it, so the server's files come from temporary copies of the
notebooks (and of notebooks/rise.css, the course's stylesheet for the live slides, which jupyterlab-rise
loads from the notebook's folder): the test never writes into notebooks/. Nothing in the formula tests
depends on a notebook's slide metadata or on its number of slides.

The lecture-hall tests walk the live slideshow of every notebook in notebooks/ at 1280×800, as the static
decks' tests do (tests/test_publish.py): no slide taller than the slide, no solution's code in view (a
solution cell is collapsed, metadata.jupyter.source_hidden), text and code at least the static decks' size.
Each slideshow is jupyterlab-rise's page (/rise/<notebook>, what "Open as Reveal Slideshow" opens), with
the course's settings (jupyter-config/lab/settings/overrides.json5) and no kernel: showing slides runs
nothing.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import time

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, lab_serving, open_in_lab

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = "04_scaling.ipynb"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STYLESHEET = ROOT / "notebooks" / "rise.css"  # jupyterlab-rise loads rise.css from the notebook's folder
WORKSPACE = "live-slides"
MATHJAX3 = "@jupyterlab/mathjax3-extension"  # a JupyterLab 3 extension that jupyterlab_rise pulls in
TIMEOUT_MS = 60_000

pytestmark = pytest.mark.browser

# TeX left in the text of rendered Markdown (code, and the typeset formulas themselves, left out):
# what a reader sees where a formula did not render.
RAW_TEX = r"""(root) => {
    const raw = [];
    for (const markdown of root.querySelectorAll('.jp-RenderedMarkdown')) {
        const copy = markdown.cloneNode(true);
        copy.querySelectorAll('code, pre, mjx-container').forEach((node) => node.remove());
        const text = copy.textContent;
        const match = text.match(/\$[^$]+\$|\\\(|\\\[|\\begin\{/);
        if (match) raw.push(text.slice(Math.max(0, match.index - 40), match.index + 60).trim());
    }
    return raw;
}"""


@pytest.fixture(scope="module")
def live_lab(browser, tmp_path_factory):
    """`make lab` serving copies of the notebooks and of rise.css, with the app exposed to the page and no news."""
    tmp_path = tmp_path_factory.mktemp("live-slides")
    served = tmp_path / "notebooks"
    served.mkdir()
    for path in [*NOTEBOOKS, STYLESHEET]:
        shutil.copy(path, served / path.name)
    with lab_serving(tmp_path, served) as lab:
        yield lab


@pytest.fixture(scope="module")
def lab_page(browser, live_lab):
    """The notebook open in JupyterLab, in a fresh workspace, its kernel idle."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.console_errors = []  # what the pages (the Lab and its slideshows) said went wrong
    context.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    context.on("weberror", lambda e: page.console_errors.append(str(e.error)))
    try:
        open_in_lab(page, live_lab, WORKSPACE, NOTEBOOK, TIMEOUT_MS)
    except Exception as err:  # Playwright's TimeoutError, or the page gone
        shot = live_lab["tmp"] / "lab.png"
        page.screenshot(path=str(shot))
        pytest.fail(
            f"{NOTEBOOK} did not open in JupyterLab with an idle kernel ({err}); screenshot {shot};"
            f" log:\n{live_lab['log'].read_text()[-2000:]}"
        )
    yield page
    context.close()


def formulas_typeset(target, root_selector: str, what: str, shot: pathlib.Path) -> int:
    """Wait until the Markdown under ``root_selector`` shows typeset formulas and no raw TeX.

    ``target`` is a Playwright page or frame. Returns how many formulas are typeset; fails with what
    is missing otherwise.
    """
    try:
        target.wait_for_function(
            f"""(selector) => {{
                const root = document.querySelector(selector);
                return !!root && root.querySelectorAll('mjx-container').length > 0
                       && ({RAW_TEX})(root).length === 0;
            }}""",
            arg=root_selector,
            timeout=TIMEOUT_MS,
        )
    except Exception:
        found = target.evaluate(
            f"""(selector) => {{
                const root = document.querySelector(selector);
                if (!root) return null;
                return {{formulas: root.querySelectorAll('mjx-container').length, raw: ({RAW_TEX})(root)}};
            }}""",
            root_selector,
        )
        (target if hasattr(target, "screenshot") else target.page).screenshot(path=str(shot))
        if found is None:
            pytest.fail(f"{what}: nothing matches {root_selector!r}; screenshot {shot}")
        pytest.fail(
            f"{what}: formulas did not render in {TIMEOUT_MS // 1000} s: {found['formulas']} typeset by MathJax,"
            f" raw TeX still shown: {found['raw'][:3]}; screenshot {shot}"
        )
    return target.evaluate(
        "(selector) => document.querySelector(selector).querySelectorAll('mjx-container').length", root_selector
    )


def slide_with_formulas(frame, what: str, shot: pathlib.Path) -> dict:
    """In a RISE slideshow, the first slide from the current one on that shows typeset formulas.

    A slide with no formula is passed (ArrowRight) once its Markdown is rendered and holds no raw TeX; a
    slide whose TeX stays raw fails the test. How many slides there are does not matter.
    """
    present = ".reveal .slides section.present:not(.stack)"
    try:
        frame.wait_for_selector(f"{present} .jp-Cell", timeout=TIMEOUT_MS)
    except Exception:
        frame.page.screenshot(path=str(shot))
        pytest.fail(f"{what}: RISE showed no slide at {frame.url} in {TIMEOUT_MS // 1000} s; screenshot {shot}")
    settled = f"""() => {{
        const slide = document.querySelector({json.dumps(present)});
        if (!slide) return null;
        const formulas = slide.querySelectorAll('mjx-container').length;
        const raw = ({RAW_TEX})(slide);
        const unrendered = slide.querySelectorAll('.jp-MarkdownCell:not(.jp-mod-rendered)').length;
        if (!(formulas > 0 && raw.length === 0) && (raw.length > 0 || unrendered > 0)) return null;
        return {{id: slide.id, formulas, hash: location.hash, text: slide.innerText.slice(0, 80)}};
    }}"""
    seen = []
    for _ in range(60):
        try:
            slide = frame.wait_for_function(settled, timeout=TIMEOUT_MS).json_value()
        except Exception:
            raw = frame.evaluate(f"() => {{ const s = document.querySelector({json.dumps(present)}); return s ? ({RAW_TEX})(s) : []; }}")
            frame.page.screenshot(path=str(shot))
            pytest.fail(f"{what}: the formulas of slide {frame.url} did not render, raw TeX: {raw[:3]}; screenshot {shot}")
        if slide["formulas"]:
            return slide
        seen.append(slide["hash"])
        frame.press("body", "ArrowRight")
        try:
            frame.wait_for_function("(hash) => location.hash !== hash", arg=slide["hash"], timeout=5_000)
        except Exception:
            break  # the last slide
    frame.page.screenshot(path=str(shot))
    pytest.fail(f"{what}: no slide shows a typeset formula (slides seen: {seen}); screenshot {shot}")


def test_formulas_render_in_the_notebook_view(lab_page, live_lab):
    panel = "#" + lab_page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    shot = live_lab["tmp"] / "notebook.png"
    formulas_typeset(lab_page, panel, f"the notebook view of {NOTEBOOK}", shot)
    title = lab_page.evaluate(
        "(panel) => document.querySelector(panel + ' .jp-MarkdownCell').querySelectorAll('mjx-container').length", panel
    )
    assert title > 0, f"the first Markdown cell of {NOTEBOOK} (its title, with a formula) shows no typeset formula"
    lab_page.screenshot(path=str(shot))


def test_lab_typesets_with_its_own_mathjax(lab_page):
    plugins = lab_page.evaluate(
        """() => ({
            core: window.jupyterapp.isPluginActivated('@jupyterlab/mathjax-extension:plugin'),
            mathjax3: window.jupyterapp.isPluginActivated('@jupyterlab/mathjax3-extension:plugin'),
        })"""
    )
    assert plugins["core"], "JupyterLab's own MathJax plugin (@jupyterlab/mathjax-extension) is not active"
    assert not plugins["mathjax3"], (
        f"{MATHJAX3} is active: it replaces JupyterLab 4's MathJax and drops the MathML that screen readers"
        " read; `make lab` turns it off with jupyter-config/labconfig/page_config.json on JUPYTER_CONFIG_PATH"
    )


# Closes the panels that show a slideshow beside the notebook (RISE:preview).
CLOSE_PREVIEW = """() => {
    for (const widget of [...window.jupyterapp.shell.widgets('main')]) {
        if (widget.node.querySelector('iframe[src*="/rise/"]')) widget.close();
    }
}"""


# "RISE:slideshow" (the new tab) runs the same /rise/ page as "RISE:preview"; add it here to check the tab
# too, for some 20 s more.
@pytest.mark.parametrize("command", ["RISE:preview"])
def test_rise_slideshow_shows_a_slide_with_rendered_formulas(lab_page, live_lab, command):
    assert command in lab_page.evaluate("() => window.jupyterapp.commands.listCommands()"), (
        f"{command} is not a command of the app: is jupyterlab_rise installed and enabled?"
    )
    shot = live_lab["tmp"] / f"{command.replace(':', '-')}.png"
    context = lab_page.context
    if command == "RISE:preview":  # "Render as Reveal Slideshow": a panel beside the notebook
        lab_page.evaluate("(command) => window.jupyterapp.commands.execute(command)", command)
        iframe = lab_page.wait_for_selector('.jp-MainAreaWidget iframe[src*="/rise/"]', state="attached")
        frame = iframe.content_frame()
        # The frame exists as about:blank until its first navigation commits (one full `make test` read it then).
        frame.wait_for_url(re.compile(r"/rise/"), wait_until="commit")
    else:  # "Open as Reveal Slideshow": a new browser tab
        with context.expect_page(timeout=TIMEOUT_MS) as new_page:
            lab_page.evaluate("(command) => window.jupyterapp.commands.execute(command)", command)
        frame = new_page.value.main_frame
        frame.page.set_default_timeout(TIMEOUT_MS)
        frame.wait_for_load_state()
    assert "/rise/" in frame.url, f"{command} opened {frame.url}, not a page of jupyterlab_rise"

    try:
        slide = slide_with_formulas(frame, f"{command} of {NOTEBOOK}", shot)
        frame.page.screenshot(path=str(shot))
        config = frame.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)")
    finally:
        # Closed once seen: until a slide is left by its arrow, reveal.js bounces the arrow (its controls
        # tutorial), and an open slideshow kept Chromium busy, some 8 % of a core, through the other tests.
        if command == "RISE:preview":
            lab_page.evaluate(CLOSE_PREVIEW)
        else:
            frame.page.close()
    assert slide["formulas"] > 0

    disabled = config["disabledExtensions"]
    assert MATHJAX3 in disabled, f"the slideshow page does not turn {MATHJAX3} off: disabledExtensions = {disabled}"
    mathjax_errors = [e for e in lab_page.console_errors if re.search(r"mathjax|typeset", e, re.IGNORECASE)]
    assert not mathjax_errors, f"MathJax errors in the browser console: {mathjax_errors[:3]}"


# --- the lecture hall: every notebook's live slideshow at 1280×800 ------------------------------------

def test_the_live_slides_draw_marks_with_the_course_font():
    """rise.css carries the mark font of the static decks and the site (course_lib/authoring/marks.py), so
    that ✅ ❌ ⏳ show in a browser with no emoji font: the three marks, in colour, for those three only."""
    import base64
    import io

    from fontTools.ttLib import TTFont

    found = re.search(r'@font-face \{ font-family: "Course Marks"; src: url\(data:font/ttf;base64,([^)]+)\)[^}]*'
                      r"unicode-range: U\+2705, U\+274C, U\+23F3; \}", STYLESHEET.read_text())
    assert found, "notebooks/rise.css has no @font-face for the marks: copy the one of marks.style()"
    font = TTFont(io.BytesIO(base64.b64decode(found.group(1))))
    assert set(font.getBestCmap()) == {ord(c) for c in "✅❌⏳"}
    assert {"COLR", "CPAL"} <= set(font.keys())


WIDTH, HEIGHT = 1280, 800  # as the static decks' tests (tests/test_publish.py)
# The static decks' smallest sizes as Chromium shows them at 1280×800: text at 20 px and code at 19 px,
# on a deck that reveal.js scales by 0.98 (1280×800 less its 2 % margin).
STATIC_TEXT_PX, STATIC_CODE_PX = 19.6, 18.6
SOLUTION = "# BEGIN SOLUTION"

# Every slide of the slideshow in turn: its height against the slide's and the solution markers in view;
# the smallest text and code shown; how many code cells are collapsed. Text is what a cell shows (rendered
# Markdown and outputs), code what an editor, a <pre> or a <code> shows. Left out: speaker notes, prompts,
# hidden elements (skipped cells, collapsed code, Markdown sources) and MathJax's copies for screen readers.
# Fragments take their room before they show, and count as shown.
# A slide is shown through the URL, as reveal.js's history does (RISE keeps its Reveal to itself): the hash
# is set in place and reveal.js told at once. Setting location.hash shows the same slides and measures
# them the same on every notebook, but each slide then waits on the browser's navigation: 130 ms a slide
# against 33 ms, on notebook 04.
WALK = """async () => {
    const box = document.querySelector('.reveal .slides');
    const room = parseFloat(box.style.height);
    const smallest = {text: {px: 1e9, where: ''}, code: {px: 1e9, where: ''}};
    const slides = [], tick = () => new Promise(done => setTimeout(done, 0));
    for (const slide of document.querySelectorAll('.reveal .slides section[id^="slide-"]')) {
        const [h, v] = slide.id.split('-').slice(1).map(Number);
        for (let i = 0; !slide.classList.contains('present'); i++) {
            if (i % 100 === 0) {  // again if RISE moved back meanwhile
                history.replaceState(null, '', `#/${h}/${v}`);
                window.dispatchEvent(new HashChangeEvent('hashchange'));
            }
            if (slide.classList.contains('present')) break;
            if (i > 1000) return {error: `slide ${h}.${v} did not show`};
            await tick();
        }
        const scale = box.getBoundingClientRect().width / box.offsetWidth;
        const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const element = node.parentElement;
            if (!node.nodeValue.trim() || !element.checkVisibility()
                || element.closest('aside.notes, .jp-InputPrompt, .jp-OutputPrompt, mjx-assistive-mml')
                || !element.getBoundingClientRect().width) continue;
            const kind = element.closest('.cm-editor, pre, code') ? 'code' : 'text';
            const px = parseFloat(getComputedStyle(element).fontSize) * scale;
            if (px < smallest[kind].px) {
                const where = `${h}.${v} ${JSON.stringify(node.nodeValue.trim().slice(0, 30))}`;
                smallest[kind] = {px: Math.round(px * 10) / 10, where};
            }
        }
        const number = document.querySelector('.reveal .slide-number')?.getBoundingClientRect();
        const covered = !number ? 0 : [...document.querySelectorAll('.reveal .controls button.enabled')].filter((b) => {
            const box = b.getBoundingClientRect();  // an arrow lying over the slide number
            return box.left < number.right && number.left < box.right && box.top < number.bottom && number.top < box.bottom;
        }).length;
        // A box of code or printout that scrolls shows whole lines: one cut through its foot loses its underscores.
        const cut = [...slide.querySelectorAll('.cm-scroller, .jp-OutputArea-output.jp-RenderedText')].filter((box) => {
            if (!box.clientHeight || box.scrollHeight <= box.clientHeight + 1) return false;
            const code = box.matches('.cm-scroller'), text = box.querySelector(code ? '.cm-content' : 'pre');
            if (!text) return false;
            const style = getComputedStyle(text), padding = code ? 2 * parseFloat(style.paddingTop) : 0;
            const lines = (box.clientHeight - padding) / parseFloat(style.lineHeight);
            return Math.abs(lines - Math.round(lines)) > 0.05;
        }).length;
        slides.push({h, v, height: slide.scrollHeight, solutions: slide.innerText.split(SOLUTION).length - 1, covered, cut,
                     text: slide.innerText.trim().replace(/\\s+/g, ' ').slice(0, 50)});
    }
    const collapsed = document.querySelectorAll('.jp-CodeCell .jp-InputPlaceholder').length;
    const breakAll = [...document.querySelectorAll('.jp-OutputArea-output pre')]
        .filter(pre => getComputedStyle(pre).wordBreak === 'break-all').length;  // lines broken inside words
    return {room, slides, smallest, collapsed, breakAll};
}""".replace("SOLUTION", json.dumps(SOLUTION))


# The course's stylesheet, which jupyterlab-rise links from the notebook's folder (id rise-custom-css), has
# loaded (a link's sheet is null until then, and stays null where the file is missing), and the sizes it
# sets have arrived: jupyterlab-rise's own stylesheet animates every property of the slides' elements over
# 0.2 s (`transition: all`), font sizes included, so for a moment after rise.css loads, code still reads
# 14 px on its way to 20 (one full `make test` measured notebook 10 then, its stylesheet from Chromium's cache).
RISE_CSS_LOADED = """() => !!document.getElementById('rise-custom-css')?.sheet
    && !document.getAnimations().some((animation) => animation instanceof CSSTransition)"""


def solution_cells(path: pathlib.Path) -> int:
    cells = json.loads(path.read_text())["cells"]
    return sum(c["cell_type"] == "code" and SOLUTION in "".join(c["source"]) for c in cells)


# The page's request for a kernel (POST /api/sessions) fails at once. Refused in the page, not with
# Playwright's routing: routing turns the browser's cache off, and every slideshow would fetch
# JupyterLab's scripts again (about 7 s more over the 15 notebooks).
NO_KERNEL = """(() => {
    const fetch = window.fetch;
    window.fetch = (input, init) => {
        const url = typeof input === 'string' ? input : input.url;
        const method = (init && init.method) || (typeof input === 'string' ? 'GET' : input.method);
        return /\\/api\\/sessions\\b/.test(url) && method === 'POST'
            ? Promise.reject(new TypeError('no kernel for a slideshow in this test')) : fetch(input, init);
    };
})()"""


@pytest.fixture(scope="module")
def live_slideshows(playwright, live_lab) -> dict[str, dict]:
    """Each notebook's live slideshow walked at 1280×800 (``WALK``), by notebook name; ``seconds`` the time taken.

    No kernel starts (the page's request for one fails, ``NO_KERNEL``): the page says so in a dialog,
    which changes nothing on the slides.

    The walk runs in a Chromium of its own with a profile folder (in the test's temporary folder), as a
    lecturer's browser has one, and opens the slideshows one after another in one tab, as a lecturer goes
    from one notebook's slideshow to the next. Each opens from its URL into a new document; what carries
    over is what a browser keeps: its caches, and the tab's renderer process with the scripts it has
    compiled. On a 2-core machine, the walk of all fifteen took 96 s of CPU time, browser and server
    together, in one tab (two walks), against 116 to 128 s with a new tab for each slideshow, two loading
    at once (four walks, taking turns), with the same measures on every slide; two tabs, each going on to
    the next slideshow, took 89 to 109 s (six walks).
    """
    context = playwright.chromium.launch_persistent_context(
        live_lab["tmp"] / "chromium-profile", executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
        viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(NO_KERNEL)  # run in every document the tab opens

    def kernels() -> set[str]:
        answer = context.request.get(f"{live_lab['url']}/api/kernels?token={live_lab['token']}")
        return {kernel["id"] for kernel in answer.json()}

    kernels_before = kernels()
    started, shown = time.monotonic(), {}
    try:
        page = context.new_page()
        for path in NOTEBOOKS:
            try:
                page.goto(f"{live_lab['url']}/rise/{path.name}?token={live_lab['token']}", wait_until="commit")
                page.wait_for_selector(".reveal .slides section.present .jp-Cell")
                # jupyterlab-rise adds the course's rise.css as a <link> once the slideshow is up, and the slides
                # can show before it loads: measured then, one full `make test` saw notebook 06 at 14 px and overflowing
                page.wait_for_function(RISE_CSS_LOADED)
                shown[path.name] = page.evaluate(WALK)
            except Exception as err:  # Playwright's TimeoutError, or the page gone
                shot = live_lab["tmp"] / f"{path.stem}.png"
                page.screenshot(path=str(shot))
                pytest.fail(f"the live slideshow of {path.name} did not show ({err}); screenshot {shot}")
            if "error" in shown[path.name]:
                pytest.fail(f"{path.name}: {shown[path.name]['error']}")
        started_kernels = kernels() - kernels_before  # other tests' notebooks may hold kernels of this server
    finally:
        context.close()  # this browser is the fixture's own
    assert not started_kernels, f"the slideshows started {len(started_kernels)} kernel(s): NO_KERNEL no longer refuses them"
    shown["seconds"] = round(time.monotonic() - started)
    return shown


def walked(shown: dict) -> str:
    slideshows = {name: s for name, s in shown.items() if name != "seconds"}
    count = sum(len(s["slides"]) for s in slideshows.values())
    return f"{count} slides of {len(slideshows)} notebooks walked at {WIDTH}×{HEIGHT} in {shown['seconds']} s"


def test_every_live_slide_fits_the_slide(live_slideshows):
    report = [f"{name} slide {s['h']}.{s['v']}: {s['height']} px > {shown['room']} px ({s['text']!r})"
              for name, shown in live_slideshows.items() if name != "seconds" for s in shown["slides"]
              if s["height"] > shown["room"]]
    assert not report, f"{len(report)} live slides overflow; {walked(live_slideshows)}:\n" + "\n".join(report)


def test_live_boxes_that_scroll_show_whole_lines(live_slideshows):
    report = [f"{name} slide {s['h']}.{s['v']}: {s['cut']} boxes ({s['text']!r})" for name, shown in live_slideshows.items()
              if name != "seconds" for s in shown["slides"] if s["cut"]]
    assert not report, (f"{len(report)} live slides show a line of code or printout cut through (set max-height to whole"
                        f" lines); {walked(live_slideshows)}:\n" + "\n".join(report[:10]))


def test_no_live_arrow_lies_over_the_slide_number(live_slideshows):
    report = [f"{name} slide {s['h']}.{s['v']} ({s['text']!r})" for name, shown in live_slideshows.items()
              if name != "seconds" for s in shown["slides"] if s["covered"]]
    assert not report, (f"{len(report)} live slides show an arrow over the slide number; {walked(live_slideshows)}:\n"
                        + "\n".join(report[:10]))


def test_no_live_slide_shows_a_solution(live_slideshows):
    report, solutions = [], 0
    for path in NOTEBOOKS:
        shown = live_slideshows[path.name]
        solutions += solution_cells(path)
        assert shown["collapsed"] >= solution_cells(path), (
            f"{path.name}: {solution_cells(path)} solution cells in the notebook, {shown['collapsed']} code cells"
            " collapsed in its slideshow")
        report += [f"{path.name} slide {s['h']}.{s['v']} ({s['text']!r})" for s in shown["slides"] if s["solutions"]]
    assert solutions, "no solution cell in the notebooks: nothing checked"
    assert not report, (f"{len(report)} live slides show a solution's code (`{SOLUTION}` in view; collapse the cell:"
                        f" metadata.jupyter.source_hidden); {walked(live_slideshows)}:\n" + "\n".join(report))


def test_live_outputs_break_their_lines_between_words(live_slideshows):
    """JupyterLab breaks an output's long line anywhere ("pi/ano", "0.05/7": a number read wrong from the back of
    the room); rise.css breaks it between words, as the static decks do."""
    report = [f"{name}: {shown['breakAll']} outputs" for name, shown in live_slideshows.items()
              if name != "seconds" and shown["breakAll"]]
    assert not report, "outputs that break lines inside words (word-break: break-all):\n" + "\n".join(report)


def test_live_text_and_code_are_as_large_as_in_the_static_decks(live_slideshows):
    report = []
    for name, shown in live_slideshows.items():
        if name == "seconds":
            continue
        for kind, least in (("text", STATIC_TEXT_PX), ("code", STATIC_CODE_PX)):
            smallest = shown["smallest"][kind]
            if smallest["px"] < least:
                report.append(f"{name}: {kind} at {smallest['px']} px < {least} px, on slide {smallest['where']}")
    assert not report, f"{walked(live_slideshows)}:\n" + "\n".join(report)
