"""`make test` in one pytest session: the library tests, the notebooks under strict nbval, the student copies.

One session lets pytest-xdist keep every core busy to the end (three sessions in a row each end
with one long file on one worker while the others wait). Two things make that work:

* ``--nbval-lax-under FOLDER``: notebooks under FOLDER (the student copies) are run as
  ``--nbval-lax`` runs them, every cell executed and no output compared, while every other
  notebook is compared strictly as ``--nbval`` does.
* the most expensive files are collected first (``FIRST``), so that with ``--dist loadfile
  --no-loadscope-reorder`` they start at once instead of ending the run on one worker. Each file
  stays whole on one worker: a notebook's cells share one kernel, and a test module's fixtures
  (a JupyterLab, a built deck) are made once.
"""

from __future__ import annotations

import os
import pathlib

import pytest
import threadpoolctl

# Files that take the longest (from `make test`'s --durations on a 2-core machine), most expensive
# first: training notebooks, the stability re-runs, the browser walks through every deck and Lab,
# the graders' classes. Everything else keeps its collection order after them. A wrong guess here
# only costs time, never a test.
FIRST = [
    "tests/test_publish.py",
    "tests/test_stability.py",
    "tests/test_grade_hostile.py",
    "notebooks/14_tiny_gpt.ipynb",
    "student/14_tiny_gpt.ipynb",
    "tests/test_browser_notebooks.py",
    "tests/test_grade.py",
    "student/12_learning_attention.ipynb",
    "notebooks/12_learning_attention.ipynb",
    "tests/test_live_slides.py",
    "tests/test_gpt.py",
    "tests/test_grade_answers.py",
    "notebooks/13_attention_at_scale.ipynb",
    "student/13_attention_at_scale.ipynb",
]
ROOT = pathlib.Path(__file__).resolve().parent


# One worker more than there are cores (`-n auto`, as `make test` runs it): several tests spend their time waiting,
# not computing (a grader's class waits out the timeout of a notebook that never ends, the tests of a stopped
# grader wait for it to get going, a browser waits on its server), and meanwhile the extra worker uses the core
# left idle. A fresh clone's `make test` on 2 cores, pytest session, taking turns in one clone: 223 and 223 s with
# 2 workers, 205 and 199 s with 3. PYTEST_XDIST_AUTO_NUM_WORKERS, where set, is the number, as pytest-xdist reads it.
@pytest.hookimpl(wrapper=True, optionalhook=True)  # optional: a run with -p no:xdist has no such hook
def pytest_xdist_auto_num_workers(config):
    workers = yield
    return workers if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") else workers + 1


# The BLAS libraries' threads: each worker's share of the cores, at least one. OpenBLAS starts a thread per
# core in every process that multiplies matrices: two workers, each running a notebook's kernel, put four
# busy threads on two cores, and OpenBLAS's idle threads spin while they wait.
# Set before any test starts a kernel, a JupyterLab or a grader (they inherit it), and in the worker's own
# BLAS. The results do not change: the outputs that `make notebooks` stores with BLAS on every core must
# come out the same on one thread. A full `make test` on 2 cores, one run each: pytest 388 s -> 365 s.
# A variable set by the user wins.
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _share_the_cores() -> None:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
    if workers < 2 or any(name in os.environ for name in BLAS_THREADS):
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    os.environ.update(dict.fromkeys(BLAS_THREADS, str(threads)))
    threadpoolctl.threadpool_limits(threads, user_api="blas")


_share_the_cores()


def pytest_addoption(parser):
    parser.addoption(
        "--nbval-lax-under", action="append", default=[], metavar="FOLDER",
        help="run the notebooks under FOLDER as --nbval-lax does (no output compared), the others as --nbval",
    )


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    collectors = yield
    folders = [pathlib.Path(folder).resolve() for folder in parent.config.getoption("nbval_lax_under")]
    if folders and file_path.suffix == ".ipynb" and any(file_path.is_relative_to(f) for f in folders):
        for collector in collectors or []:
            if hasattr(collector, "compare_outputs"):  # nbval's IPyNbFile: read when its cells are collected
                collector.compare_outputs = False
    return collectors


def _rank(item) -> int:
    try:
        path = pathlib.Path(item.path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return len(FIRST)
    return FIRST.index(path) if path in FIRST else len(FIRST)


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_rank)  # stable: within a file, and among the rest, the order is pytest's
