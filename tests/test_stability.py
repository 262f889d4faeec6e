"""Printed training results survive a perturbation of their start: no chaotic digits are stored.

A notebook that trains a model and prints the result stores that text, and nbval compares it on
every machine. Another CPU's BLAS kernels, another thread count or another NumPy sum in another
order, so the last bits of every step differ from the machine that stored the output. Where a
training is chaotic those last bits grow until the printed numbers change, and the stored output is
true of one machine only.

This test re-runs every notebook that trains (it calls an ``init_params``) with each starting
parameter multiplied by (1 ± 1e-12), a fixed random sign per entry, and requires every compared
output to print the same text as stored (as nbval compares it: sanitised, ignored cells left out).
Figures are not drawn in that run (their PNG is never compared; their text form is).
A perturbation of 1e-12 is far larger than a change of summation order (about 1e-16 relative) and
far smaller than anything a learner would call a different start, so a result that moves under it
is a result that rounding decides. A float32 parameter is multiplied by (1 ± 1e-6) instead: float32
rounds to about 1 part in 10⁷, so 1e-12 would vanish in it and prove nothing (notebook 14 trains
its induction model in float32).
"""

from __future__ import annotations

import configparser
import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RELATIVE = {"float64": 1e-12, "float32": 1e-6}  # by the parameter's dtype: well above its rounding, far below a new start
TRAINS = re.compile(r"\binit_params\(")

# Run first in the kernel: every course_lib module with an ``init_params`` gets a perturbed one.
PERTURB = f"""\
import importlib as _importlib, numpy as _np
from course_lib.backend import namespace as _namespace
_perturbed_calls = []


def _perturbing(original):
    def init_params(*args, **kwargs):
        params = original(*args, **kwargs)
        rng = _np.random.default_rng(len(_perturbed_calls))
        _perturbed_calls.append(original.__module__)
        perturbed = {{}}
        for name, value in params.items():
            xp = _namespace(value)
            sign = xp.asarray(rng.choice([-1.0, 1.0], size=value.shape), dtype=value.dtype)
            relative = {RELATIVE!r}[str(value.dtype).rsplit(".", 1)[-1]]
            perturbed[name] = value * (1 + relative * sign)
        return perturbed
    return init_params


for _name in ("course_lib.model", "course_lib.gpt"):
    try:
        _module = _importlib.import_module(_name)
    except ModuleNotFoundError:
        continue
    _module.init_params = _perturbing(_module.init_params)

# Figures keep only their text form ("<Figure size … with 1 Axes>", all that is compared): none is drawn.
get_ipython().config.InlineBackend.figure_formats = set()
"""
REPORT = "print(len(_perturbed_calls))"


def _sanitizers() -> list[tuple[re.Pattern, str]]:
    """notebooks/sanitize.cfg's patterns, as nbval applies them to both sides."""
    config = configparser.ConfigParser()
    config.read(ROOT / "notebooks" / "sanitize.cfg", encoding="utf-8")
    return [(re.compile(config[section]["regex"]), config[section]["replace"]) for section in config.sections()]


def compared_text(cell: nbformat.NotebookNode, sanitizers) -> str | None:
    """The text nbval compares for a code cell (streams and text/plain), sanitised; None if not compared."""
    ignored = {"nbval-ignore-output", "nbval-skip"} & set(cell.get("metadata", {}).get("tags", []))
    if cell.cell_type != "code" or ignored or re.search(r"^\s*# NBVAL_(IGNORE_OUTPUT|SKIP)\s*$", cell.source, re.M):
        return None
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            # a cell's prints reach the client in pieces that differ from run to run: join each stream's
            # consecutive pieces, as `make notebooks` stores them (coalesce_streams)
            if parts and parts[-1].startswith(f"[{output.name}] "):
                parts[-1] += output.text
            else:
                parts.append(f"[{output.name}] {output.text}")
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(f"[{output.output_type}] {output.get('data', {}).get('text/plain', '')}")
        elif output.output_type == "error":
            parts.append(f"[error] {output.ename}: {output.evalue}")
    text = "\n".join(parts)
    for pattern, replacement in sanitizers:
        text = pattern.sub(replacement, text)
    return text


def run_perturbed(path: pathlib.Path) -> tuple[nbformat.NotebookNode, int]:
    """Execute a copy of the notebook with perturbed starting parameters; return it and the number of
    parameter sets perturbed."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(PERTURB))
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    report = notebook.cells.pop()
    notebook.cells.pop(0)
    assert report.outputs and report.outputs[0].output_type == "stream", f"the perturbation did not run: {report.outputs}"
    return notebook, int(report.outputs[0].text)


def moved_outputs(stored: nbformat.NotebookNode, rerun: nbformat.NotebookNode) -> list[str]:
    """One message per compared code cell whose text differs between the two runs."""
    sanitizers = _sanitizers()
    moved = []
    code = [(a, b) for a, b in zip(stored.cells, rerun.cells) if a.cell_type == "code"]
    for number, (before, after) in enumerate(code, start=1):
        expected, got = compared_text(before, sanitizers), compared_text(after, sanitizers)
        if expected is not None and expected != got:
            moved.append(f"code cell {number}:\n--- stored\n{expected}\n--- perturbed\n{got}")
    return moved


def _trains(path: pathlib.Path) -> bool:
    notebook = nbformat.read(path, as_version=4)
    return any(TRAINS.search(cell.source) for cell in notebook.cells if cell.cell_type == "code")


TRAINING = [path for path in NOTEBOOKS if _trains(path)]


def test_the_notebooks_that_train_are_found():
    assert "12_learning_attention" in [path.stem for path in TRAINING]


@pytest.mark.parametrize("path", TRAINING, ids=[path.stem for path in TRAINING])
def test_printed_training_results_survive_a_perturbed_start(path):
    stored = nbformat.read(path, as_version=4)
    rerun, perturbed = run_perturbed(path)
    assert perturbed > 0, "no init_params call was perturbed: the test would prove nothing"
    moved = moved_outputs(stored, rerun)
    assert not moved, (f"{path.name}: {len(moved)} stored output(s) change when the starting parameters move by a "
                       f"relative 1e-12 (1e-6 in float32), so another machine's rounding changes them too. Print what holds "
                       "(over seeds, rounded past the noise), or ignore the output with a reason.\n\n"
                       + "\n\n".join(moved))


def test_the_test_catches_a_printed_digit_that_the_perturbation_moves(tmp_path):
    """The machinery itself: an output of 15 digits of a starting parameter moves; 6 digits do not, and nor does
    a cell whose prints arrive in another number of pieces. In float32, 9 digits move and 4 do not."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("from course_lib import model\nstart = model.init_params(5, 4, 3, seed=0)"),
        nbformat.v4.new_code_cell("print(f\"{float(start['embed'][0, 0]):.6f}\")"),
        nbformat.v4.new_code_cell("print(f\"{float(start['embed'][0, 0]):.15e}\")"),
        nbformat.v4.new_code_cell("import numpy as np\nfrom course_lib import gpt\n"
                                  "tiny = gpt.init_params(7, 5, 4, 2, 1, 0, seed=0, dtype=np.float32)\n"
                                  "print(f\"{float(tiny['embed'][0, 0]):.4f}\")"),
        nbformat.v4.new_code_cell("print(f\"{float(tiny['embed'][0, 0]):.8e}\")"),
        nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\n# Why: ignored outputs are not compared\n"
                                  "print(f\"{float(start['embed'][0, 0]):.15e}\")"),
        nbformat.v4.new_code_cell("# Not compared by the tests (cell tag nbval-ignore-output)\n"
                                  "print(f\"{float(start['embed'][0, 0]):.15e}\")",
                                  metadata={"tags": ["nbval-ignore-output"]}),
        # two prints that reach the client as two pieces in one run and may come as one in another
        nbformat.v4.new_code_cell("import sys, time\nprint('one')\nsys.stdout.flush()\ntime.sleep(0.2)\nprint('two')"),
    ]
    path = tmp_path / "00_probe.ipynb"
    NotebookClient(notebook, timeout=60, kernel_name="python3", coalesce_streams=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.write(notebook, path)
    rerun, perturbed = run_perturbed(path)
    assert perturbed == 2
    moved = moved_outputs(nbformat.read(path, as_version=4), rerun)
    assert [m.split(":")[0] for m in moved] == ["code cell 3", "code cell 5"], moved
