"""course_lib.execute (`make notebooks`): re-executing an unchanged notebook changes nothing."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.execute import execute

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
