"""Notebooks run in JupyterLab: in the Lab of `make lab`, in a real browser, "Run All Cells" works.

The test starts `make lab` as a learner would (one server for the module) and opens the Lab in a fresh
workspace (`?reset`) in Debian's Chromium driven by Playwright, in a tall page. It opens each notebook
below as the file browser does (`docmanager:open`), waits for its kernel, and runs all its cells through
the app's command registry (`notebook:run-all-cells`, what Run ▸ Run All Cells does). It waits, with no fixed
sleep, until the run is over: the command has returned, the kernel is idle, no cell is left running
and every image has loaded. Then it reads the cells from the notebook's model (and the rendered
outputs from the cells' widgets) and asserts, for each notebook, that
  - every code cell ran (it has an execution count; none is left at "[*]"),
  - there is no error output and nothing on stderr,
  - the figures show as images: at least one, one per image/png output, each loaded (naturalWidth > 0),
  - each exercise check (a code cell calling `exercises.check_…`, counted in the notebook's file)
    printed its "✅" verdict.

The server's files are copies of the notebooks, their stored outputs and execution counts stripped
(every output seen comes from this run; nothing is ever written into notebooks/). A screenshot of
each notebook, scrolled to the first cell in trouble if any, lands in the test's temporary folder;
failure messages give its path.
"""

from __future__ import annotations

import json
import pathlib
import time

import pytest
from conftest import answer_dialog, lab_serving, wait_for_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The first notebook, one with a live slider (ipywidgets) and the last one.
NOTEBOOKS = ["00_welcome.ipynb", "07_scaled_dot_product_attention.ipynb", "11_multi_head_attention.ipynb"]
OPEN_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 120_000
VIEWPORT = {"width": 1400, "height": 3000}  # tall: more of the notebook in the screenshot
CHECK_CALL = "exercises.check_"
STDERR = "application/vnd.jupyter.stderr"  # JupyterLab renders stderr and tracebacks with this type

pytestmark = pytest.mark.browser

# The panel of the notebook at `path` in the main area.
PANEL = "[...window.jupyterapp.shell.widgets('main')].find((w) => w.context && w.context.path === path)"

# Opens the notebook as the file browser does; the Lab makes it the current widget and starts its kernel.
# (Nothing here awaits a promise: a promise that never settles would hang `page.evaluate`; the test waits
# with wait_for_function and its timeout instead.)
OPEN = "(path) => { window.jupyterapp.commands.execute('docmanager:open', {path}); }"

# Starts Run All Cells on the notebook; window.__courseRun says when the command's promise has settled
# and how.
RUN_ALL = """(path) => {
    const panel = PANEL;
    window.jupyterapp.shell.activateById(panel.id);
    window.__courseRun = {path, done: false};
    window.jupyterapp.commands.execute('notebook:run-all-cells').then(
        (ok) => { window.__courseRun = {path, done: true, ok: ok !== false}; },
        (err) => { window.__courseRun = {path, done: true, ok: false, error: String(err)}; });
}""".replace("PANEL", PANEL)

# 'dialog' while a dialog waits; true once the run is over and its outputs are shown: the command
# returned, the kernel is idle, no cell is running, every image/png output has an <img> and every
# <img> has loaded (or failed to).
RUN_OVER = """(path) => {
    if (document.querySelector('.jp-Dialog')) return 'dialog';
    const run = window.__courseRun;
    const panel = PANEL;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (!run || run.path !== path || !run.done || !kernel || kernel.status !== 'idle') return false;
    const notebook = panel.content, cells = notebook.model.cells;
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        const node = notebook.widgets[i].node;
        const prompt = node.querySelector('.jp-InputPrompt');
        if (cell.executionState === 'running' || (prompt && prompt.textContent.includes('*'))) return false;
        let figures = 0;
        for (let j = 0; j < cell.outputs.length; j++) {
            if ('image/png' in (cell.outputs.get(j).data || {})) figures++;
        }
        const images = node.querySelectorAll('.jp-OutputArea-output img');
        if (images.length < figures || [...images].some((img) => !img.complete)) return false;
    }
    return true;
}""".replace("PANEL", PANEL)

# The code cells as the notebook's model has them, with what their widgets show.
CELLS = """(path) => {
    const notebook = (PANEL).content, cells = notebook.model.cells;
    const found = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        const node = notebook.widgets[i].node;
        const prompt = node.querySelector('.jp-InputPrompt');
        const outputs = [];
        for (let j = 0; j < cell.outputs.length; j++) {
            const output = cell.outputs.get(j).toJSON();
            outputs.push({
                type: output.output_type, name: output.name || null,
                text: [].concat(output.text || []).join('').slice(0, 500),
                error: output.output_type === 'error' ? `${output.ename}: ${output.evalue}`.slice(0, 500) : null,
                mimes: Object.keys(output.data || {}),
            });
        }
        found.push({
            index: i,
            source: cell.sharedModel.getSource(),
            count: cell.executionCount,
            state: cell.executionState || null,
            prompt: prompt ? prompt.textContent.trim() : null,
            outputs,
            texts: [...node.querySelectorAll('.jp-OutputArea .jp-RenderedText')].map(
                (text) => text.textContent.trim().slice(0, 300)),
            stderr: [...node.querySelectorAll(`.jp-RenderedText[data-mime-type="${STDERR}"]`)].map(
                (text) => text.textContent.trim().slice(0, 500)),
            images: [...node.querySelectorAll('.jp-OutputArea-output img')].map(
                (img) => ({width: img.naturalWidth, height: img.naturalHeight, complete: img.complete})),
        });
    }
    return found;
}""".replace("${STDERR}", STDERR).replace("PANEL", PANEL)


def stripped_copy(source: pathlib.Path, target: pathlib.Path) -> list[int]:
    """Copy the notebook with no outputs and no execution counts; return its check cells' indices."""
    notebook = json.loads(source.read_text())
    checks = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        cell["outputs"], cell["execution_count"] = [], None
        if CHECK_CALL in "".join(cell["source"]):
            checks.append(index)
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False))
    return checks


def first_line(cell: dict) -> str:
    lines = [line for line in cell["source"].splitlines() if line.strip() and not line.startswith("#")]
    return (lines or [""])[0][:80]


@pytest.fixture(scope="module")
def notebook_sources() -> dict[str, pathlib.Path]:
    """The notebooks to run, by the name they are served under."""
    return {name: ROOT / "notebooks" / name for name in NOTEBOOKS}


@pytest.fixture(scope="module")
def served_lab(browser, tmp_path_factory, notebook_sources):
    """`make lab` serving stripped copies of the notebooks; ``checks`` maps each to its check cells."""
    tmp_path = tmp_path_factory.mktemp("browser-notebooks")
    served = tmp_path / "notebooks"
    served.mkdir()
    checks = {name: stripped_copy(source, served / name) for name, source in notebook_sources.items()}
    # Every cell in the page from the start: JupyterLab's default windowing attaches a cell only once
    # it has been scrolled near, and the test reads outputs and prompts from the page.
    with lab_serving(tmp_path, served, {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}) as lab:
        yield {**lab, "checks": checks}


@pytest.fixture(scope="module")
def lab_page(browser, served_lab):
    """JupyterLab in a fresh workspace, in a tall page."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(OPEN_TIMEOUT_MS)
    page.goto(f"{served_lab['url']}/lab/workspaces/run-notebooks?reset&token={served_lab['token']}")
    try:
        page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)")
        page.evaluate("() => { window.jupyterapp.restored.then(() => { window.__courseRestored = true; }); }")
        page.wait_for_function("() => window.__courseRestored === true")
    except Exception as err:  # Playwright's TimeoutError, or the page gone
        shot = served_lab["tmp"] / "lab.png"
        page.screenshot(path=str(shot))
        pytest.fail(f"JupyterLab did not start in the page ({err}); screenshot {shot};"
                    f" log:\n{served_lab['log'].read_text()[-2000:]}")
    yield page
    context.close()


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=[name.removesuffix(".ipynb") for name in NOTEBOOKS])
def ran(request, lab_page, served_lab):
    """The notebook opened in the Lab and run with Run All Cells: its code cells once the run is over.

    A run that is not over in RUN_TIMEOUT_MS is no error here: ``over`` is False, and the tests say
    what is missing.
    """
    name, page = request.param, lab_page
    shot = served_lab["tmp"] / f"{name.removesuffix('.ipynb')}.png"
    opening = time.monotonic()
    try:
        page.evaluate(OPEN, name)
        wait_for_notebook(page, name, OPEN_TIMEOUT_MS)
    except Exception as err:  # Playwright's TimeoutError or Error, the page gone
        page.screenshot(path=str(shot))
        pytest.fail(
            f"{name} did not open in JupyterLab with an idle kernel ({err}); screenshot {shot};"
            f" log:\n{served_lab['log'].read_text()[-2000:]}"
        )
    started = time.monotonic()
    page.evaluate(RUN_ALL, name)
    over, deadline = False, started + RUN_TIMEOUT_MS / 1000
    while not over:
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0:
            break
        try:
            state = page.wait_for_function(RUN_OVER, arg=name, timeout=left).json_value()
        except Exception:  # Playwright's TimeoutError: the tests report what is unfinished
            break
        if state == "dialog":  # e.g. "Select Kernel"
            answer_dialog(page, OPEN_TIMEOUT_MS)
        else:
            over = True
    seconds = {"open": started - opening, "run": time.monotonic() - started}
    print(f"{name}: opened in {seconds['open']:.1f} s, ran in {seconds['run']:.1f} s")
    cells = page.evaluate(CELLS, name)
    run = page.evaluate("() => window.__courseRun")
    checks = served_lab["checks"][name]
    trouble = [
        cell["index"] for cell in cells
        if cell["count"] is None or cell["stderr"] or any(o["type"] == "error" for o in cell["outputs"])
        or (cell["index"] in checks and not any(text.startswith("✅") for text in cell["texts"]))
    ]
    if trouble:  # the screenshot shows the first cell in trouble
        page.evaluate(f"([path, i]) => ({PANEL}).content.widgets[i].node.scrollIntoView()", [name, trouble[0]])
    page.screenshot(path=str(shot))
    yield {"name": name, "cells": cells, "run": run, "over": over, "seconds": seconds, "shot": shot,
           "checks": checks}
    # Free the CPU and memory for the next notebook: this kernel is done.
    page.evaluate(f"(path) => {{ ({PANEL}).sessionContext.shutdown(); }}", name)


def test_every_code_cell_ran(ran):
    unfinished = [
        f"cell {cell['index']} `{first_line(cell)}`: prompt {cell['prompt']}, execution count {cell['count']}"
        for cell in ran["cells"]
        if cell["count"] is None or cell["state"] == "running" or "*" in (cell["prompt"] or "")
    ]
    assert ran["over"] and not unfinished, (
        f"{ran['name']}: Run All Cells {'ended' if ran['over'] else f'was not over in {RUN_TIMEOUT_MS // 1000} s'}"
        f" (the command gave {ran['run']}) with {len(unfinished)} of {len(ran['cells'])} code cells not run:\n  "
        + "\n  ".join(unfinished[:8] + [f"… and {len(unfinished) - 8} more"] * (len(unfinished) > 8))
        + f"\nscreenshot {ran['shot']}"
    )


def test_no_error_output(ran):
    errors = []
    for cell in ran["cells"]:
        for output in cell["outputs"]:
            if output["type"] == "error":
                errors.append(f"cell {cell['index']} `{first_line(cell)}` raised {output['error']}")
            elif output["name"] == "stderr":
                errors.append(f"cell {cell['index']} `{first_line(cell)}` wrote to stderr: {output['text'][:300]!r}")
        if cell["stderr"] and not any(o["type"] == "error" or o["name"] == "stderr" for o in cell["outputs"]):
            errors.append(f"cell {cell['index']} `{first_line(cell)}` shows stderr: {cell['stderr'][0][:300]!r}")
    assert not errors, f"{ran['name']}:\n  " + "\n  ".join(errors) + f"\nscreenshot {ran['shot']}"


def test_figures_render_as_images(ran):
    figures = sum("image/png" in o["mimes"] for cell in ran["cells"] for o in cell["outputs"])
    images = [(cell["index"], image) for cell in ran["cells"] for image in cell["images"]]
    broken = [f"cell {index}: {image}" for index, image in images if not (image["complete"] and image["width"] > 0)]
    assert images, f"{ran['name']}: no figure shows as an image ({figures} image/png outputs); screenshot {ran['shot']}"
    assert len(images) == figures, (
        f"{ran['name']}: {figures} image/png outputs but {len(images)} images shown; screenshot {ran['shot']}"
    )
    assert not broken, f"{ran['name']}: images that did not load: {broken}; screenshot {ran['shot']}"


def test_checks_print_their_verdicts(ran):
    by_index = {cell["index"]: cell for cell in ran["cells"]}
    verdicts = sum(text.startswith("✅") for cell in ran["cells"] for text in cell["texts"])
    missing = [
        f"cell {index} `{first_line(by_index[index])}` shows {by_index[index]['texts'][:2] or 'nothing'}"
        for index in ran["checks"]
        if not any(text.startswith("✅") for text in by_index[index]["texts"])
    ]
    assert ran["checks"], f"{ran['name']} has no cell calling {CHECK_CALL}…: is the test looking at the right file?"
    assert not missing and verdicts == len(ran["checks"]), (
        f"{ran['name']}: {verdicts} ✅ verdicts shown for {len(ran['checks'])} check cells; without one:\n  "
        + "\n  ".join(missing) + f"\nscreenshot {ran['shot']}"
    )
