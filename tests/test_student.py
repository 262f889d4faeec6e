"""course_lib.authoring.student: student copies keep the checks, replace the solutions, clear the outputs."""

from __future__ import annotations

import pathlib

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib.authoring import student
from course_lib.authoring.student import SolutionMarkerError, strip_solutions, student_copy, write_student_copies

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"


def test_function_body_becomes_not_implemented():
    source = "def my_softmax(x):\n    # BEGIN SOLUTION\n    e = xp.exp(x)\n    return e / e.sum()\n    # END SOLUTION\n"
    assert strip_solutions(source) == (
        "def my_softmax(x):\n    " + student.CODE_PLACEHOLDER + "\n    raise NotImplementedError(\"write your solution here\")"
    )


def test_top_level_assignments_become_ellipsis():
    source = "# BEGIN SOLUTION\nx_park = x[6]\nT, d = x.shape\nscale: float = 0.5\n# END SOLUTION\ncheck(x_park)"
    assert strip_solutions(source).splitlines() == [
        student.VALUE_PLACEHOLDER, "x_park = ...", "T, d = ..., ...", "scale = ...", "check(x_park)",
    ]


def test_placeholders_run_and_solutions_are_gone():
    source = "def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n# BEGIN SOLUTION\nanswer = 42\n# END SOLUTION\n"
    stripped = strip_solutions(source)
    namespace = {}
    exec(stripped, namespace)
    assert namespace["answer"] is Ellipsis
    with pytest.raises(NotImplementedError):
        namespace["f"](1)
    assert "2 * x" not in stripped and "42" not in stripped


@pytest.mark.parametrize(
    "source, message",
    [
        ("# BEGIN SOLUTION\nx = 1\n", "without its `# END SOLUTION`"),
        ("x = 1\n# END SOLUTION\n", "without its `# BEGIN SOLUTION`"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "inside another solution"),
        ("# BEGIN SOLUTION\nprint(1)\n# END SOLUTION\n", "may only assign values, found Expr"),
    ],
)
def test_bad_markers_are_reported(source, message):
    with pytest.raises(SolutionMarkerError, match=message):
        strip_solutions(source)


def test_student_copy_clears_outputs_and_keeps_other_cells():
    notebook = new_notebook(cells=[
        new_markdown_cell("# Title"),
        new_code_cell("# BEGIN SOLUTION\nanswer = 1\n# END SOLUTION", execution_count=1,
                      outputs=[new_output("stream", name="stdout", text="1\n")]),
        new_code_cell("check(answer)", execution_count=2),
    ])
    copy = student_copy(notebook)
    assert [c.cell_type for c in copy.cells] == ["markdown", "code", "code"]
    assert copy.cells[1].source == student.VALUE_PLACEHOLDER + "\nanswer = ..."
    assert copy.cells[2].source == "check(answer)"
    assert all(c.outputs == [] and c.execution_count is None for c in copy.cells[1:])
    assert notebook.cells[1].outputs, "the instructor notebook is left as it was"


def test_student_copy_shows_the_placeholder_the_instructor_notebook_collapses():
    hidden = {"jupyter": {"source_hidden": True}}
    notebook = new_notebook(cells=[
        new_code_cell("# BEGIN SOLUTION\nanswer = 1\n# END SOLUTION", metadata={**hidden, "tags": ["x"]}),
        new_code_cell("plot()", metadata={"jupyter": {"source_hidden": True, "outputs_hidden": False}}),
    ])
    copy = student_copy(notebook)
    assert copy.cells[0].metadata == {"tags": ["x"]}, "the learner must see where to type"
    assert copy.cells[1].metadata["jupyter"]["source_hidden"], "a cell without a solution is left as it was"
    assert notebook.cells[0].metadata["jupyter"]["source_hidden"], "the instructor notebook is left as it was"


def test_every_course_notebook_gets_a_student_copy(tmp_path):
    written = write_student_copies(NOTEBOOKS, tmp_path)
    assert [p.name for p in written] == sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in written:
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name
        assert "YOUR CODE HERE" in text or "YOUR ANSWER" in text, f"{path.name} has no exercise"
        assert "exercises.check_" in text, f"{path.name} lost its check cells"
        copy = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in copy.cells if c.cell_type == "code")
        hidden = [i for i, c in enumerate(copy.cells) if c.metadata.get("jupyter", {}).get("source_hidden")]
        assert not hidden, f"{path.name}: cells {hidden} are collapsed; the learner must see the placeholder"


def test_every_exercise_says_what_goes_in_its_placeholder():
    """The line before `# BEGIN SOLUTION` (kept in the student copy) says what the answer is: a comment
    naming the value and its form, or the function's docstring."""
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            lines = cell.source.splitlines()
            for i, line in enumerate(lines):
                if line.strip() == "# BEGIN SOLUTION":
                    before = lines[i - 1].strip() if i else ""
                    assert before.startswith("#") or before.endswith('"""'), (
                        f"{path.name}: no comment or docstring before `# BEGIN SOLUTION` in\n{cell.source}")
                    if before.startswith("#"):
                        assert ":" in before, f"{path.name}: say `name: what goes there` in {before!r}"
