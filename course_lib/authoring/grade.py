"""Grade a class's notebooks: run each in a fresh kernel, read every check's verdict, write one table.

Every ``*.ipynb`` under the submissions folder (recursively; hidden files and folders such as
``.ipynb_checkpoints`` are skipped) is

1. read in memory: a file that is not a notebook gets a row saying why, and the rest goes on;
2. matched to a course notebook: by its file name (``05_softmax.ipynb``, also inside a longer name
   such as ``alice_05_softmax (1).ipynb``), confirmed by its check cells; a file whose checks are
   another notebook's is graded as that one, with a note; a file with no check of the course is
   "not a course notebook" and is not run;
3. run top to bottom in a kernel of its own (nbclient, errors allowed, so a failing cell does not
   stop the cells after it), in a fresh temporary folder, with ``TIMEOUT`` seconds for all its cells
   together; a timeout or a dead kernel leaves the check cells after it "did not run";
4. read: a check cell is a code cell that calls ``exercises.check_...(...)``; every verdict line
   it prints (``✅ Correct: …``, ``❌ Not yet: …``, ``⏳ Not attempted yet: …``) counts, and the
   worst wins (❌, then ⏳, then ✅), so a learner's own print of "✅ Correct" cannot hide the
   check's ❌.

A cell of the table is ✅, ❌, ⏳, "did not run" (the kernel timed out or died before the cell
finished), "no verdict" (the cell ran but printed no verdict line, e.g. it raised a NameError) or
"missing" (no cell of the file calls that check). The column of an exercise is named
``"05_softmax: check_stable_softmax"``, with `` (2)`` on a second call of the same check in one
notebook.

Containment, and its limits: each notebook runs in its own kernel process (its own process group,
killed when the notebook is done or its time is up), in an empty temporary folder, with a trimmed
environment (no tokens or keys from the grader's environment) and no stdin; its output is scanned,
never stored, so nothing it prints reaches the table but a verdict symbol. The code still runs with
the rights of the user who grades: it can read and write that user's files and use the network.
Grade in a container or a throw-away account.

Usage: ``python -m course_lib.authoring.grade SUBMISSIONS [--out CSV] [--jobs N] [--timeout S]``
(what ``make grade SUBMISSIONS=folder`` runs).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import concurrent.futures
import csv
import dataclasses
import json
import logging
import math
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from typing import Callable

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from course_lib.exercises.verdict import CORRECT, NOT_ATTEMPTED, WRONG

COURSE = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
OUT = pathlib.Path("build/grade/grades.csv")
TIMEOUT = 120  # seconds for all the cells of one notebook (starting its kernel not counted)
STARTUP_TIMEOUT = 60  # seconds for a kernel to start
MAX_BYTES = 50 * 2**20  # a larger file is not read

PASS, FAIL, TODO = "✅", "❌", "⏳"
DID_NOT_RUN, NO_VERDICT, MISSING = "did not run", "no verdict", "missing"
VALUES = (PASS, FAIL, TODO, DID_NOT_RUN, NO_VERDICT, MISSING)
WORST_FIRST = (FAIL, TODO, PASS)
MARKERS = {f"{CORRECT}: ": PASS, f"{WRONG}: ": FAIL, f"{NOT_ATTEMPTED}: ": TODO}  # as verdict.report prints

GRADED, TIMED_OUT, DIED = "graded", "timed out", "kernel died"
NO_KERNEL, GRADER_ERROR = "kernel did not start", "grader error"
NOT_COURSE, UNREADABLE = "not a course notebook", "unreadable"

# What a student's kernel inherits from the grader's environment: what Python, Jupyter, Matplotlib
# and CuPy need, and nothing else (no tokens, keys or passwords that the grader's shell may hold).
KERNEL_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV",
              "CONDA_PREFIX", "LD_LIBRARY_PATH", "CUDA_PATH", "CUDA_HOME", "CUDA_VISIBLE_DEVICES", "CUPY_CACHE_DIR",
              "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR",
              "JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_CONFIG_PATH", "IPYTHONDIR")
KERNEL_ENV_PREFIXES = ("LC_", "COURSE_LIB_")

_QUIET = logging.getLogger("course_lib.grade.nbclient")  # nbclient's own error logs: the row says it
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class GradeError(ValueError):
    """An argument of the grader is unusable: a missing folder, no notebooks, a bad number."""


# ---------------------------------------------------------------- the course: its check cells


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One check cell of a course notebook."""

    notebook: str  # "05_softmax"
    check: str  # "check_stable_softmax"
    column: str  # "05_softmax: check_stable_softmax", "… (2)" for the second call of a check
    source: str  # the course's check cell, to tell an edited one


def check_calls(source: str) -> list[str]:
    """The ``exercises.check_*`` functions that a code cell calls, in order (comments and strings ignored)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        tree = ast.parse(TransformerManager().transform_cell(source))  # %magics and !commands become Python
    except (SyntaxError, ValueError, ImportError):
        return re.findall(r"(?m)^[^#\n]*?\bexercises\s*\.\s*(check_\w+)\s*\(", source)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr.startswith("check_") and _dotted(node.func.value).split(".")[-1] == "exercises"]
    return [call.func.attr for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset))]


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def course_exercises(course: pathlib.Path = COURSE) -> dict[str, list[Exercise]]:
    """The check cells of every ``NN_*.ipynb`` in ``course``, by notebook ("05_softmax"), in course order."""
    if not course.is_dir():
        raise GradeError(f"course={str(course)!r}: no such folder; give the folder of the course notebooks")
    exercises: dict[str, list[Exercise]] = {}
    for path in sorted(course.glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        calls = [(check, cell.source) for cell in notebook.cells if cell.cell_type == "code"
                 for check in check_calls(cell.source)]
        totals, seen = Counter(check for check, _ in calls), Counter()
        exercises[path.stem] = []
        for check, source in calls:
            seen[check] += 1
            column = f"{path.stem}: {check}" + (f" ({seen[check]})" if totals[check] > 1 else "")
            exercises[path.stem].append(Exercise(path.stem, check, column, source))
    if not exercises:
        raise GradeError(f"course={str(course)!r} holds no course notebooks (NN_name.ipynb)")
    return exercises


# ---------------------------------------------------------------- one submission: read, identify, match


@dataclasses.dataclass
class Graded:
    """The row of one submitted file."""

    path: str  # relative to the submissions folder, with "/"
    notebook: str = ""  # the course notebook it is ("05_softmax"), "" if none
    status: str = GRADED
    verdicts: dict[str, str] = dataclasses.field(default_factory=dict)  # column -> one of VALUES
    problems: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def student(self) -> str:
        return self.path.rpartition("/")[0]


class Unreadable(Exception):
    """The file is not a notebook; the message says why."""


def read_notebook(path: pathlib.Path) -> nbformat.NotebookNode:
    """The notebook in the file at ``path``, read in memory; ``Unreadable`` with the reason otherwise."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise Unreadable(f"too large ({size / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise Unreadable("not a notebook: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise Unreadable(f"not a notebook: not JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    except RecursionError:
        raise Unreadable("not a notebook: JSON nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
        raise Unreadable("not a notebook: JSON without a list of cells")
    if data.get("nbformat") not in (3, 4):
        raise Unreadable("not a notebook: no nbformat version 3 or 4 in it")
    try:
        notebook = nbformat.reads(json.dumps(data), as_version=4, capture_validation_error={})
    except Exception as err:  # noqa: BLE001 - any way nbformat refuses it is a reason to report
        raise Unreadable(f"not a notebook: nbformat cannot read it ({type(err).__name__})") from None
    for number, cell in enumerate(notebook.cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw") \
                or not isinstance(cell.get("source"), str):
            raise Unreadable(f"not a notebook: cell {number} has no cell_type or no source text")
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("metadata", nbformat.NotebookNode())
    return notebook


def identify(name: str, calls: Counter, course: dict[str, list[Exercise]]) -> tuple[str | None, str]:
    """The course notebook a file is, from its name and the checks it calls (``calls``), and a note
    where the two disagree; (None, why) for a file that is not a course notebook."""
    named = next((stem for stem in sorted(course, key=len, reverse=True)
                  if re.search(rf"(?<![0-9A-Za-z]){re.escape(stem)}(?![0-9A-Za-z])", name)), None)

    def overlap(stem: str) -> int:
        return sum((Counter(e.check for e in course[stem]) & calls).values())

    if named and overlap(named):
        return named, ""
    best = max(course, key=overlap)
    if overlap(best):
        said = f"its name says {named}" if named else "its name names no course notebook"
        return best, f"{said}, but its check cells are those of {best}: graded as {best}"
    if named:
        return None, (f"its name says {named}, but it has none of the check cells of {named} "
                      "nor of another course notebook")
    return None, "its name names no course notebook (NN_name.ipynb) and it has no check cell of the course"


def match_cells(notebook: nbformat.NotebookNode, exercises: list[Exercise]) -> tuple[dict[str, int | None], list[str]]:
    """Which cell of ``notebook`` holds each exercise's check (None: missing), and notes on what differs
    from the course: a missing check cell, a check called more often, an edited check cell."""
    cells: dict[str, list[int]] = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for check in dict.fromkeys(check_calls(cell.source)):
                cells.setdefault(check, []).append(index)
    by_check: dict[str, list[Exercise]] = {}
    for exercise in exercises:
        by_check.setdefault(exercise.check, []).append(exercise)
    where: dict[str, int | None] = {}
    problems = []
    for check, wanted in by_check.items():
        found = cells.get(check, [])
        if len(found) > len(wanted):
            problems.append(f"{check} is called in {len(found)} cells (the course: {len(wanted)}); "
                            f"the last {len(wanted)} count")
            found = found[-len(wanted):]
        for exercise, index in zip(wanted, found + [None] * (len(wanted) - len(found))):
            where[exercise.column] = index
            if index is None:
                problems.append(f"{exercise.column}: no cell calls {check}")
            elif _normal(notebook.cells[index].source) != _normal(exercise.source):
                problems.append(f"{exercise.column}: the check cell (cell {index + 1}) was edited")
    return where, problems


def _normal(source: str) -> str:
    return " ".join(source.split())


# ---------------------------------------------------------------- running one notebook


class _Scan:
    """The verdicts and the error of one check cell, read from its output messages as they arrive."""

    KEEP = max(map(len, MARKERS)) - 1  # a marker may be split between two messages

    def __init__(self) -> None:
        self.found: set[str] = set()
        self.error = ""
        self._tails: dict[str, str] = {}

    def feed(self, msg: dict) -> None:
        content = msg.get("content", {})
        if msg.get("msg_type") == "stream":
            stream, text = str(content.get("name")), str(content.get("text", ""))
            seam = self._tails.get(stream, "") + text[:self.KEEP]  # a marker split between two messages
            self.found.update(symbol for marker, symbol in MARKERS.items() if marker in seam or marker in text)
            self._tails[stream] = seam[-self.KEEP:] if len(text) < self.KEEP else text[-self.KEEP:]
        elif msg.get("msg_type") == "error":
            self.error = str(content.get("ename", ""))

    def verdict(self) -> str | None:
        return next((symbol for symbol in WORST_FIRST if symbol in self.found), None)


class _ScanningClient(NotebookClient):
    """An nbclient that stores no output: the check cells' output is scanned for verdicts as it arrives,
    the rest dropped, so that what a notebook prints neither piles up in the grader's memory nor reaches
    the table (one huge message still passes through memory once)."""

    def __init__(self, notebook: nbformat.NotebookNode, watched: set[int], **kwargs):
        super().__init__(notebook, **kwargs)
        self.scans = {index: _Scan() for index in watched}

    def output(self, outs, msg, display_id, cell_index):  # noqa: ANN001 - nbclient's signature
        if cell_index in self.scans:
            self.scans[cell_index].feed(msg)
        return None

    def clear_output(self, outs, msg, cell_index):  # noqa: ANN001 - a verdict once printed counts
        return None

    def handle_comm_msg(self, outs, msg, cell_index):  # noqa: ANN001 - no widget state is kept
        return None


@dataclasses.dataclass
class _Run:
    scans: dict[int, _Scan]
    status: str = GRADED
    stopped: int | None = None  # the index of the cell where the kernel timed out or died
    detail: str = ""


_LIVE: dict[int, int] = {}  # id(client) -> process group of its kernel, to kill on Ctrl-C
_LIVE_LOCK = threading.Lock()
_STOP = threading.Event()  # set on Ctrl-C: no further cell starts


def kernel_env(jobs: int = 1) -> dict[str, str]:
    """The environment of a student's kernel: KERNEL_ENV from the grader's, figures not drawn
    (Matplotlib's Agg backend: the verdicts need no pictures), BLAS threads shared between the jobs."""
    env = {key: value for key, value in os.environ.items()
           if key in KERNEL_ENV or key.startswith(KERNEL_ENV_PREFIXES)}
    threads = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
    env.update(MPLBACKEND="agg", OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               PYDEVD_DISABLE_FILE_VALIDATION="1")
    return env


async def _execute(notebook: nbformat.NotebookNode, watched: set[int], timeout: float, workdir: str,
                   env: dict[str, str]) -> _Run:
    """Run every code cell of ``notebook`` in a fresh kernel within ``timeout`` seconds in all."""
    client = _ScanningClient(
        notebook, watched, kernel_name="python3", allow_errors=True, record_timing=False,
        store_widget_state=False, shutdown_kernel="immediate", startup_timeout=STARTUP_TIMEOUT,
        skip_cells_with_tag=f"never-{uuid.uuid4()}", log=_QUIET, resources={"metadata": {"path": workdir}},
    )
    run = _Run(client.scans)
    started = False
    try:
        async with client.async_setup_kernel(env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL):
            started = True
            with _LIVE_LOCK:
                _LIVE[id(client)] = getattr(client.km.provisioner, "pgid", None) or 0
            deadline = time.monotonic() + timeout
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if _STOP.is_set():
                    run.status, run.stopped = DIED, index
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    run.status, run.stopped = TIMED_OUT, index
                    break
                client.timeout = max(1, math.ceil(remaining))
                try:
                    await client.async_execute_cell(cell, index)
                except CellTimeoutError:
                    run.status, run.stopped = TIMED_OUT, index
                    break
                except DeadKernelError:
                    run.status, run.stopped = DIED, index
                    break
    except Exception as err:  # noqa: BLE001 - a kernel that cannot start, or fails to stop, is a row's problem
        if not started:
            run.status, run.stopped = NO_KERNEL, -1
            run.detail = f"{type(err).__name__}: {_clean(str(err), 120)}"
    finally:
        with _LIVE_LOCK:
            _LIVE.pop(id(client), None)
    return run


def kill_running_kernels() -> None:
    """Kill the process group of every kernel still running (after Ctrl-C); start no further cell."""
    _STOP.set()
    with _LIVE_LOCK:
        groups = [group for group in _LIVE.values() if group]
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass


def grade_file(path: pathlib.Path, root: pathlib.Path, course: dict[str, list[Exercise]], timeout: float,
               env: dict[str, str] | None = None) -> Graded:
    """The row of the file at ``path`` (inside ``root``): never raises."""
    start = time.perf_counter()
    row = Graded(path.relative_to(root).as_posix())
    try:
        _grade_into(row, path, course, timeout, kernel_env() if env is None else env)
    except Exception as err:  # noqa: BLE001 - one file's failure never stops the class
        row.status = GRADER_ERROR
        row.problems.append(f"the grader failed on this file ({type(err).__name__}: {_clean(str(err), 120)})")
    row.seconds = time.perf_counter() - start
    return row


def _grade_into(row: Graded, path: pathlib.Path, course: dict[str, list[Exercise]], timeout: float,
                env: dict[str, str]) -> None:
    try:
        notebook = read_notebook(path)
    except (Unreadable, OSError) as err:
        row.status = UNREADABLE
        row.problems.append(str(err) if isinstance(err, Unreadable) else f"cannot be read ({type(err).__name__})")
        return
    calls = Counter(check for cell in notebook.cells if cell.cell_type == "code" for check in check_calls(cell.source))
    stem, note = identify(path.name, calls, course)
    if stem is None:
        row.status = NOT_COURSE
        row.problems.append(note)
        return
    row.notebook = stem
    if note:
        row.problems.append(note)
    where, problems = match_cells(notebook, course[stem])
    row.problems += problems
    watched = {index for index in where.values() if index is not None}
    with tempfile.TemporaryDirectory(prefix="grade-") as workdir:
        run = asyncio.run(_execute(notebook, watched, timeout, workdir, env))
    _read_verdicts(row, run, where, timeout)


def _read_verdicts(row: Graded, run: _Run, where: dict[str, int | None], timeout: float) -> None:
    row.status = run.status
    for column, index in where.items():
        if index is None:
            row.verdicts[column] = MISSING
        elif run.stopped is not None and index >= run.stopped:
            row.verdicts[column] = DID_NOT_RUN
        else:
            scan = run.scans[index]
            row.verdicts[column] = scan.verdict() or NO_VERDICT
            if row.verdicts[column] == NO_VERDICT:
                error = scan.error if re.fullmatch(r"[A-Za-z_][\w.]{0,60}", scan.error) else "an exception"
                row.problems.append(f"{column}: the check cell printed no verdict"
                                    + (f" (it raised {error})" if scan.error else ""))
    skipped = sum(value == DID_NOT_RUN for value in row.verdicts.values())
    where_stopped = f"in cell {run.stopped + 1}" if run.stopped is not None and run.stopped >= 0 else ""
    if run.status == TIMED_OUT:
        row.problems.insert(0, f"timed out after {timeout:g} s {where_stopped}; {skipped} check(s) did not run")
    elif run.status == DIED:
        row.problems.insert(0, f"the kernel died {where_stopped}; {skipped} check(s) did not run")
    elif run.status == NO_KERNEL:
        row.problems.insert(0, f"the kernel did not start ({run.detail})")


def _clean(text: str, limit: int) -> str:
    """``text`` on one line, control characters (newlines, terminal escapes) shown as '?', at most ``limit`` long."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- the class: find, run in parallel, report


def find_submissions(folder: pathlib.Path) -> tuple[list[pathlib.Path], int]:
    """Every ``*.ipynb`` file under ``folder``, sorted, and the number of hidden ones skipped
    (names starting with '.', such as .ipynb_checkpoints/ or the ._ files of a macOS zip)."""
    found, hidden = [], 0
    for directory, subdirs, files in os.walk(folder):
        hidden += sum(name.startswith(".") for name in subdirs)
        subdirs[:] = sorted(name for name in subdirs if not name.startswith("."))
        for name in files:
            if name.lower().endswith(".ipynb"):
                if name.startswith("."):
                    hidden += 1
                else:
                    found.append(pathlib.Path(directory) / name)
    return sorted(found), hidden


def _validate(submissions: pathlib.Path, out: pathlib.Path, jobs: int, timeout: float) -> None:
    if not submissions.is_dir():
        what = "is a file, not a folder" if submissions.exists() else "does not exist"
        raise GradeError(f"submissions={str(submissions)!r} {what}; give the folder the class handed in")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise GradeError(f"jobs={jobs!r}: give a whole number of kernels at a time, at least 1")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise GradeError(f"timeout={timeout!r}: give the seconds one notebook may run, more than 0")
    if out.is_dir():
        raise GradeError(f"out={str(out)!r} is a folder; give the path of the CSV file to write")
    if out.resolve().is_relative_to(submissions.resolve()):
        raise GradeError(f"out={str(out)!r} is inside submissions={str(submissions)!r}; "
                         "the grader never writes into the submissions: give a path outside it")


def default_jobs() -> int:
    """One kernel per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def grade(submissions: pathlib.Path, out: pathlib.Path = OUT, *, jobs: int | None = None, timeout: float = TIMEOUT,
          course: pathlib.Path = COURSE, echo: Callable[[str], None] = print) -> list[Graded]:
    """Grade every notebook under ``submissions``, write the table to ``out`` (CSV) and return its rows.
    Progress (one line per finished notebook) and the summary go to ``echo``.

    Raises GradeError for a missing folder, a folder without notebooks, jobs < 1, timeout <= 0, or an
    ``out`` inside ``submissions``."""
    submissions, out = pathlib.Path(submissions), pathlib.Path(out)
    jobs = default_jobs() if jobs is None else jobs
    _validate(submissions, out, jobs, timeout)
    paths, hidden = find_submissions(submissions)
    if not paths:
        raise GradeError(f"submissions={str(submissions)!r} holds no notebooks (*.ipynb, searched recursively"
                         + (f"; {hidden} hidden ones skipped)" if hidden else ")"))
    exercises = course_exercises(pathlib.Path(course))
    env = kernel_env(jobs)
    _STOP.clear()
    start = time.perf_counter()
    rows = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade")
    try:
        futures = [pool.submit(grade_file, path, submissions, exercises, timeout, env) for path in paths]
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            rows.append(future.result())
            echo(f"[{done}/{len(paths)}] {progress(rows[-1])}")
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        kill_running_kernels()
        raise
    pool.shutdown()
    rows.sort(key=lambda row: row.path)
    present = {row.notebook for row in rows}
    columns = [e.column for stem, notebook in exercises.items() if stem in present for e in notebook]
    write_csv(rows, columns, out)
    echo("")
    echo(summary(rows, exercises, seconds=time.perf_counter() - start, jobs=jobs, timeout=timeout, out=out,
                 submissions=submissions, hidden=hidden))
    return rows


def progress(row: Graded) -> str:
    """'alice/05_softmax.ipynb: 2 ✅ 1 ❌ (4.1 s)'."""
    counts = Counter(row.verdicts.values())
    parts = [f"{counts[value]} {value}" for value in VALUES if counts[value]]
    counted = " ".join(parts)
    if row.status != GRADED:
        counted = f"{counted}, {row.status}" if counted else row.status
    return f"{_clean(row.path, 200)}: {counted or 'no checks'} ({row.seconds:.1f} s)"


HEADER = ["student", "file", "course notebook", "status"]


def write_csv(rows: list[Graded], columns: list[str], out: pathlib.Path) -> None:
    """The table: one row per file, one column per exercise, then the problems. UTF-8 with a byte-order
    mark (so that spreadsheets show ✅), written by the csv module (a comma or newline in a file name is
    quoted), text cells that a spreadsheet would take for a formula prefixed with '."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER + columns + ["problems"])
        for row in rows:
            writer.writerow([_no_formula(row.student), _no_formula(row.path), row.notebook, row.status]
                            + [row.verdicts.get(column, "") for column in columns]
                            + [_no_formula("; ".join(row.problems))])
    partial.replace(out)


def _no_formula(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary(rows: list[Graded], exercises: dict[str, list[Exercise]], *, seconds: float, jobs: int,
            timeout: float, out: pathlib.Path, submissions: pathlib.Path, hidden: int = 0) -> str:
    """Per course notebook, how many ✅/❌/⏳/… each exercise got; then every file's problems."""
    lines = [f"Graded {len(rows)} notebook(s) in {_clean(str(submissions), 200)} in {seconds:.1f} s "
             f"({jobs} at a time, {timeout:g} s each): {out}"]
    if hidden:
        lines.append(f"Skipped {hidden} hidden file(s) or folder(s) "
                     "(names starting with '.', such as .ipynb_checkpoints).")
    for stem, notebook in exercises.items():
        graded = [row for row in rows if row.notebook == stem]
        if not graded:
            continue
        lines += ["", f"{stem}: {len(graded)} notebook(s)"]
        width = max(len(e.column) - len(stem) - 2 for e in notebook)
        shown = [value for value in VALUES if value in (PASS, FAIL, TODO, DID_NOT_RUN)
                 or any(row.verdicts.get(e.column) == value for row in graded for e in notebook)]
        for exercise in notebook:
            counts = Counter(row.verdicts.get(exercise.column) for row in graded)
            cells = "  ".join(f"{counts[value]:>3} {value}" for value in shown)
            lines.append(f"  {exercise.column[len(stem) + 2:]:<{width}}  {cells}")
    others = Counter(row.status for row in rows if not row.notebook)
    if others:
        lines += ["", "Not graded: " + ", ".join(f"{count} {status}" for status, count in sorted(others.items()))]
    troubled = [row for row in rows if row.problems]
    lines += ["", f"Problems: {len(troubled)} file(s)" if troubled else "Problems: none"]
    for row in troubled:
        lines.append(f"  {_clean(row.path, 200)}: " + "; ".join(row.problems))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.authoring.grade", description=__doc__.splitlines()[0],
        epilog="The code in the notebooks runs with your rights: grade in a container or a throw-away account.")
    parser.add_argument("submissions", type=pathlib.Path,
                        help="folder of the handed-in notebooks (searched recursively)")
    parser.add_argument("--out", type=pathlib.Path, default=OUT, help=f"CSV file to write (default {OUT})")
    parser.add_argument("--jobs", type=int, default=None,
                        help=f"kernels at a time (default: one per core, here {default_jobs()})")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"seconds for all the cells of one notebook (default {TIMEOUT})")
    parser.add_argument("--course", type=pathlib.Path, default=COURSE,
                        help="folder of the course notebooks the submissions are matched to (default: the course's)")
    args = parser.parse_args(argv)
    try:
        grade(args.submissions, args.out, jobs=args.jobs, timeout=args.timeout, course=args.course)
    except GradeError as err:
        print(f"grade: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grade: interrupted; the running kernels were stopped and no table was written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
