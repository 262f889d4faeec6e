"""Every course notebook keeps the course's shape: goals, exercises with checks, a figure,
a summary and a link onward; executed top to bottom with outputs stored; nothing private.

nbval (in `make test`) re-runs the notebooks and compares outputs; these tests check what
nbval does not: the structure a learner relies on.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import unicodedata

import nbformat
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PRIVATE_PATH = re.compile(r"(?<![\w.])/(?:home|root|Users|tmp|work|mnt|opt|srv)/[^\s\"']+")


def cells(path, kind=None):
    notebook = json.loads(path.read_text())
    return [c for c in notebook["cells"] if kind is None or c["cell_type"] == kind]


def source(cell) -> str:
    return "".join(cell["source"])


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook(request):
    return request.param


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks found"
    assert NOTEBOOKS[0].name == "00_welcome.ipynb"


def test_numbered_in_reading_order():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(len(numbers))), "notebooks are numbered 00, 01, ... without gaps"


def test_opens_with_a_title_and_learning_goals(notebook):
    first = source(cells(notebook)[0])
    assert first.startswith(f"# {notebook.name[:2]} · ")
    markdown = "\n".join(source(c) for c in cells(notebook, "markdown")[:2])
    assert re.search(r"^## Learning goals", markdown, re.M)


def test_ends_with_a_summary_and_a_link_onward(notebook):
    markdown = "\n".join(source(c) for c in cells(notebook, "markdown"))
    assert re.search(r"^## Summary", markdown, re.M)
    assert re.search(r"^## Next", markdown, re.M)
    number = int(notebook.name[:2])
    onward = markdown.split("## Next", 1)[1]
    if notebook == NOTEBOOKS[-1]:  # the last notebook leads back to the start
        assert "00_welcome.ipynb" in onward, "the last notebook's Next section leads back to 00"
    else:
        assert f"{number + 1:02d}_" in onward, "the Next section links the next notebook"


def test_every_exercise_is_followed_by_its_check(notebook):
    code = [source(c) for c in cells(notebook, "code")]
    exercises = [i for i, text in enumerate(code) if "# BEGIN SOLUTION" in text]
    minimum = 1 if notebook.name.startswith("00") else 2
    assert len(exercises) >= minimum, f"at least {minimum} exercises"
    for i in exercises:
        assert i + 1 < len(code) and "exercises.check_" in code[i + 1], f"code cell {i} has no check cell after it"


def test_every_solution_is_collapsed_for_the_live_slides(notebook):
    """A solution cell's code is collapsed (JupyterLab's `source_hidden`, which jupyterlab-rise honours):
    projecting the exercise does not give it away, and one click opens it. `make student` shows it again."""
    code = cells(notebook, "code")
    shown = [i for i, c in enumerate(code) if "# BEGIN SOLUTION" in source(c)
             and not c["metadata"].get("jupyter", {}).get("source_hidden")]
    assert not shown, f"code cells {shown} show their solution: set metadata.jupyter.source_hidden to true"


def test_executed_once_top_to_bottom_with_outputs(notebook):
    code = [c for c in cells(notebook, "code") if source(c).strip()]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), "run `make notebooks`"
    outputs = [o for c in code for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"], "a stored error"
    assert any("image/png" in o.get("data", {}) for o in outputs), "at least one figure"
    assert not any("image/svg+xml" in o.get("data", {}) for o in outputs), "figures are PNG (SVG embeds a date)"


def test_no_warnings_addresses_or_private_paths_stored(notebook):
    for cell in cells(notebook, "code"):
        for output in cell["outputs"]:
            text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            assert not (output.get("name") == "stderr" and "Warning" in text), f"a warning is stored: {text[:120]}"
            assert not re.search(r" at 0x[0-9a-f]{6,}>", text), f"a memory address is stored: {text[:120]}"
        assert not PRIVATE_PATH.search(source(cell) + json.dumps(cell["outputs"])), "a private absolute path"


def combining_marks(text: str) -> list[str]:
    """Each letter carrying a combining mark (x̂, W̄), with the text around it."""
    return [text[max(0, i - 20):i + 10] for i, ch in enumerate(text) if unicodedata.combining(ch)]


def test_code_and_its_outputs_carry_no_combining_marks(notebook):
    """Code and its outputs are read in a monospace font, which neither counts nor places a combining mark: the
    padding of "x̂   :" counts the hat as a column, so the columns after it slip, a bar over a tall letter (k̄, W̄)
    lands on the letter itself and disappears, and in a slide's code a bar can stand beside its letter. The
    Markdown's TeX writes them; code and printed labels use the code's names (x_hat, grad_w_q) or ∂L/∂p."""
    for cell in cells(notebook, "code"):
        assert not combining_marks(source(cell)), f"a combining mark in code: {combining_marks(source(cell))[:3]}"
        for output in cell["outputs"]:
            text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            assert not combining_marks(text), f"a combining mark in a printed output: {combining_marks(text)[:3]}"


def test_the_combining_mark_test_sees_a_hat_and_a_bar():
    assert len(combining_marks("x̂          : [[-0.926]]\n  W̄_q[action]")) == 2
    assert not combining_marks("x_hat : ∂L/∂p, Jᵀ, γ ⊙ x + β, é")  # é is one precomposed letter


NUMBERED = re.compile(r"^\s*\d+[.)](\s|$)")


def numbers_that_start_a_list(markdown: str) -> list[str]:
    """Lines of running text that begin with "13)" or "2." after a line break: JupyterLab's Markdown reads each as
    a numbered list ("(notebook" then a list item "13. and the hardware…"), though nbconvert may not."""
    lines, found, fenced = markdown.split("\n"), [], False
    for before, line in zip(lines, lines[1:]):
        fenced = fenced != line.startswith("```")
        if not fenced and NUMBERED.match(line) and before.strip() and not NUMBERED.match(before):
            found.append(f"{before[-30:]!r} / {line[:30]!r}")
    return found


def test_no_line_of_running_text_starts_with_a_number_that_makes_a_list(notebook):
    for cell in cells(notebook, "markdown"):
        assert not numbers_that_start_a_list(source(cell)), numbers_that_start_a_list(source(cell))


def test_a_number_at_a_line_start_is_caught_and_a_real_list_is_not():
    assert numbers_that_start_a_list("memory (notebook\n  13) and the hardware")
    assert numbers_that_start_a_list("in\n2. the second")
    assert not numbers_that_start_a_list("Steps:\n\n1. one\n2. two\n3. three")
    assert not numbers_that_start_a_list("(notebook 13) and\nthe hardware")


def test_first_code_cell_only_imports(notebook):
    first = source(cells(notebook, "code")[0])
    statements = [line for line in first.splitlines() if line.strip() and not line.startswith("#")]
    allowed = re.compile(r"^(import |from |np\.set_printoptions\(|rng = np\.random\.default_rng\()")
    assert all(allowed.match(line) for line in statements), f"the first code cell is imports and the seed:\n{first}"


ONE_BASED = re.compile(
    r"\\sum_\{\s*[a-z]\s*=\s*1\s*\}"  # \sum_{i=1}
    r"|\b[a-zA-Z]_1\s*,\s*\\[lc]?dots\s*,\s*[a-zA-Z]_\{?[a-zA-Z]\}?(?![-\w])"  # x_1, \dots, x_T
    r"|[a-z]₁\s*(?:\.\.|…)\s*[a-z]_?[A-Z]\b"  # x₁..x_T
)


def test_formulas_count_from_zero_as_the_code_does(notebook):
    """One index base in the whole course: 0, as in Python (x_0 … x_{T-1}, sums from 0 to d-1)."""
    for cell in cells(notebook, "markdown"):
        found = ONE_BASED.search(source(cell))
        assert not found, f"a 1-based index {found.group(0)!r} in: {source(cell)[:200]}"


def test_one_based_pattern_catches_what_it_should():
    assert ONE_BASED.search(r"$\sum_{i=1}^{d} a_i b_i$") and ONE_BASED.search(r"$x_1, \dots, x_T$")
    assert ONE_BASED.search("embeddings x₁..x_T")
    assert not ONE_BASED.search(r"$\sum_{i=0}^{d-1}$") and not ONE_BASED.search(r"$x_0, \dots, x_{T-1}$")


NBVAL_TAGS = {"nbval-ignore-output", "nbval-skip", "raises-exception"}  # the cell tags nbval reads


def test_ignored_outputs_are_tagged_and_say_why(notebook):
    """An output the tests do not compare is marked with nbval's cell tag, not with its comment marker
    (`# NBVAL_IGNORE_OUTPUT`), which a learner and a lecture hall would read on the cell and the live slide;
    the cell's first line says, as a comment, that the tests do not compare it and why."""
    for cell in cells(notebook, "code"):
        assert "NBVAL_" not in source(cell), f"an nbval comment marker; use the cell tag: {source(cell)[:200]}"
        tags = NBVAL_TAGS & set(cell["metadata"].get("tags", []))
        if tags:
            first = source(cell).splitlines()[0] if source(cell) else ""
            assert first.startswith("# Not compared by the tests") and len(first) > 60, (
                f"a cell tagged {sorted(tags)} says why in its first line, '# Not compared by the tests"
                f" (cell tag ...): why': {first!r}")


def test_a_learner_never_imports_the_authoring_tools():
    """course_lib.authoring (student copies, execution, publishing) serves authors only."""
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        assert not [s for s in sources if "authoring" in s], f"{path.name} uses course_lib.authoring"
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, course_lib, course_lib.exercises, course_lib.widgets;"
         "print(sorted(m for m in sys.modules if m.startswith(('course_lib.authoring', 'nbconvert'))))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert loaded == "[]", f"importing the course loads {loaded}"
