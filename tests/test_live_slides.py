"""Live slides: in the JupyterLab of `make lab`, formulas render in the notebook and in its RISE slideshow.

The test starts `make lab` as a learner would, opens a notebook with formulas in a real browser
(Debian's Chromium driven by Playwright), checks that the Markdown's TeX is typeset by MathJax, then
starts jupyterlab_rise's slideshow through the app's command registry, as the toolbar button and the
View menu do: "Render as Reveal Slideshow" (`RISE:preview`, a panel beside the notebook) and "Open as
Reveal Slideshow" (`RISE:slideshow`, a new browser tab) are served by the same `/rise/` page of
jupyterlab_rise; the test runs the first (the second on request, see below) and asks for a slide whose
formulas are typeset.

RISE saves the notebook before it shows it, so the server's files come from a temporary copy of the
notebook: the test never writes into notebooks/. Nothing depends on the notebook's slide metadata or on
its number of slides.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil

import pytest
from conftest import lab_serving, open_in_lab

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = "04_scaling.ipynb"
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
    """`make lab` serving a copy of the notebook, with the app exposed to the page and no news."""
    tmp_path = tmp_path_factory.mktemp("live-slides")
    served = tmp_path / "notebooks"
    served.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, served / NOTEBOOK)
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
    else:  # "Open as Reveal Slideshow": a new browser tab
        with context.expect_page(timeout=TIMEOUT_MS) as new_page:
            lab_page.evaluate("(command) => window.jupyterapp.commands.execute(command)", command)
        frame = new_page.value.main_frame
        frame.page.set_default_timeout(TIMEOUT_MS)
        frame.wait_for_load_state()
    assert "/rise/" in frame.url, f"{command} opened {frame.url}, not a page of jupyterlab_rise"

    slide = slide_with_formulas(frame, f"{command} of {NOTEBOOK}", shot)
    frame.page.screenshot(path=str(shot))
    assert slide["formulas"] > 0

    disabled = frame.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent).disabledExtensions")
    assert MATHJAX3 in disabled, f"the slideshow page does not turn {MATHJAX3} off: disabledExtensions = {disabled}"
    mathjax_errors = [e for e in lab_page.console_errors if re.search(r"mathjax|typeset", e, re.IGNORECASE)]
    assert not mathjax_errors, f"MathJax errors in the browser console: {mathjax_errors[:3]}"
