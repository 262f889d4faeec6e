"""`make test`'s one session: the root conftest.py runs the student copies lax and the rest strictly.

An inner pytest session (a subprocess, in a folder of its own with a copy of the root conftest.py)
runs the same notebook twice, its stored output wrong: under ``--nbval-lax-under`` it passes, as a
student copy must; elsewhere strict nbval fails it, as an instructor notebook must.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_student_copies_run_lax_and_the_notebooks_strictly(tmp_path):
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    cell = new_code_cell("print(1 + 1)", execution_count=1,
                         outputs=[new_output("stream", name="stdout", text="3\n")])  # stored, and wrong
    for folder in ("notebooks", "student"):
        (tmp_path / folder).mkdir()
        nbformat.write(new_notebook(cells=[cell]), tmp_path / folder / "sum.ipynb")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "--nbval", "--nbval-current-env",
         "--nbval-lax-under", "student", "-rA", "notebooks", "student"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    out = run.stdout + run.stderr
    assert "PASSED student/sum.ipynb::Cell 0" in out, out[-3000:]
    assert "FAILED notebooks/sum.ipynb::Cell 0" in out, out[-3000:]
    assert "1 failed, 1 passed" in out, out[-3000:]


def test_make_test_runs_one_worker_more_than_the_cores(tmp_path):
    """`-n auto` (`make test`) starts one pytest-xdist worker more than xdist would: it counts the physical cores
    (with psutil, else the cores this process may use)."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False) or psutil.cpu_count()
    except ImportError:
        cores = len(os.sched_getaffinity(0))
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_XDIST_AUTO_NUM_WORKERS"}
    run = subprocess.run(  # xdist alone of the plugins: each worker starts quicker
        [sys.executable, "-m", "pytest", "-p", "xdist", "-p", "no:cacheprovider", "-n", "auto", "test_nothing.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert f"created: {cores + 1}/{cores + 1} workers" in run.stdout, (run.stdout + run.stderr)[-3000:]
