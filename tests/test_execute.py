"""course_lib.authoring.execute (`make notebooks`): re-executing an unchanged notebook changes nothing."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.authoring.execute import WIDGET_VIEW, drop_widget_views, execute

# Prints flushed one at a time with pauses: the client receives them as separate stream messages.
PIECES = "import sys, time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.05)\nprint('err', file=sys.stderr)"


def test_execute_stores_outputs_merged_and_without_timing(tmp_path):
    path = tmp_path / "01_example.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(PIECES), new_code_cell("6 * 7")]), path)

    execute(path)
    first = path.read_text()
    cells = nbformat.reads(first, as_version=4).cells

    streams = [(o.name, o.text) for o in cells[0].outputs]
    assert streams == [("stdout", "0\n1\n2\n"), ("stderr", "err\n")]
    assert cells[1].outputs[0].data["text/plain"] == "42"
    assert [c.execution_count for c in cells] == [1, 2]
    assert all("execution" not in c.metadata for c in cells), "no timing metadata"

    execute(path)
    assert path.read_text() == first


def test_execute_runs_in_the_notebooks_folder(tmp_path):
    path = tmp_path / "02_here.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import os\nprint(os.path.basename(os.getcwd()))")]), path)
    execute(path)
    assert nbformat.read(path, as_version=4).cells[0].outputs[0].text == f"{tmp_path.name}\n"


SLIDER = "import ipywidgets\nipywidgets.IntSlider(value=3, min=1, max=5, description='d_k')"


def test_execute_stores_widgets_as_text_only_and_twice_the_same(tmp_path):
    """A widget's view names a random model id: stored, it would change the notebook on every run
    (and could never reconnect to a live widget). Its text/plain stays; no widget state is stored."""
    path = tmp_path / "03_slider.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(SLIDER), new_code_cell("6 * 7")]), path)

    execute(path)
    first = path.read_text()
    notebook = nbformat.reads(first, as_version=4)

    assert "widgets" not in notebook.metadata, "no widget state in the notebook's metadata"
    (output,) = notebook.cells[0].outputs
    assert list(output.data) == ["text/plain"]
    assert output.data["text/plain"].startswith("IntSlider(value=3")
    assert "widget-view" not in first
    assert notebook.cells[1].outputs[0].data["text/plain"] == "42"

    execute(path)
    assert path.read_text() == first


def test_drop_widget_views_keeps_other_outputs_and_drops_empty_ones():
    cell = new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "a1"}}),
        nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "b2"}, "text/plain": "slider"}),
        nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
    ])
    notebook = new_notebook(cells=[cell], metadata={"widgets": {"state": {}}})
    drop_widget_views(notebook)
    assert "widgets" not in notebook.metadata
    assert [o.get("data", o.get("text")) for o in notebook.cells[0].outputs] == [{"text/plain": "slider"}, "hello\n"]
