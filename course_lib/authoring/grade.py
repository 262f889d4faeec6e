"""Grade a class's notebooks: each run in a sandbox of its own, each exercise judged by the grader, tables written as it goes.

Every ``*.ipynb`` under the submissions folder (recursively; hidden files and folders such as
``.ipynb_checkpoints`` are skipped; with ``--shard i/N`` a fixed share of them) is

1. read in memory: a file that is not a notebook gets a row saying why, and the rest goes on;
2. matched to a course notebook: by its file name (``05_softmax.ipynb``, also inside a longer name
   such as ``alice_05_softmax (1).ipynb``), confirmed by its check cells; a file whose checks are
   another notebook's is graded as that one, with a note; a file with no check of the course is
   "not a course notebook" and is not run;
3. run top to bottom in a kernel of its own (nbclient, errors allowed, so a failing cell does not
   stop the cells after it) in the sandbox of ``sandbox.py`` (bubblewrap where installed, and limits on
   memory, CPU time, processes and file size), in an empty work folder beside the tables (never /tmp),
   with ``TIMEOUT`` seconds for all its cells together; a timeout or a dead kernel leaves the check
   cells after it "did not run";
4. judged: after each check cell, the grader reads that exercise's answer from the kernel as plain data
   and runs the check itself (``answers.py``): what the notebook printed does not count, it is only
   compared with the grader's verdict, and a difference is a problem of the row.

A cell of the table is ✅, ❌, ⏳, "did not run" (the kernel timed out or died before the cell
finished), "no verdict" (the answer could not be read, e.g. its name is not defined) or "missing" (no
cell of the file calls that check). The column of an exercise is named ``"05_softmax: check_stable_softmax"``,
with `` (2)`` on a second call of the same check in one notebook; the named mistake of each ❌ goes in
the column "mistakes".

Each notebook's row is appended to a journal (``files.jsonl`` beside ``files.csv``) as it finishes and
the tables rewritten, so that a crash, a ``kill`` or Ctrl-C leaves valid tables of what was done; a
rerun keeps the rows of files that have not changed (``--regrade`` grades all again), but runs a notebook
that timed out again where ``--timeout`` now gives it more time than it had. Beside the
per-file table ``classroom.py`` writes ``grades.csv`` (a row per student), ``feedback/`` and
``unmatched.txt``. ``--merge`` joins the tables of shards.

Usage: ``python -m course_lib.authoring.grade SUBMISSIONS [--out CSV] [--jobs N] [--timeout S] [--memory MiB]
[--cpu S] [--processes N] [--file-size MiB] [--shard i/N] [--roster CSV] [--regrade] [--no-sandbox]``, or
``python -m course_lib.authoring.grade --merge SHARD_CSV... --out CSV`` (what ``make grade`` runs).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import atexit
import concurrent.futures
import contextlib
import csv
import ctypes
import dataclasses
import hashlib
import json
import logging
import math
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from typing import Callable, Iterator

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from course_lib.authoring import answers, classroom, sandbox
from course_lib.exercises.verdict import CORRECT, NOT_ATTEMPTED, WRONG

COURSE = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
OUT = pathlib.Path("build/grade/files.csv")
WORK = ".work"  # beside OUT: the kernels' work folders while they run (never /tmp), removed after each
TOKEN = "COURSE_GRADE_TOKEN"  # in a kernel's environment: marks its processes, to kill them all at its end
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
INTERRUPTED = "interrupted"
# What a notebook has no reason to name but code that tampers with how the grader reads its answers.
GRADER_NAMES = re.compile(r"course_lib\.authoring|\bauthoring\b|\banswers\s*\.\s*(capture|_call|_evaluate|encode)\b"
                          r"|display_pub|x-course-grade|\bsys\.modules\b|\b_SINK\b")

# What a student's kernel inherits from the grader's environment: what Python, Jupyter, Matplotlib
# and CuPy need, and nothing else (no tokens, keys or passwords that the grader's shell may hold).
# Its home, temporary, cache and configuration folders are all inside its own work folder (_home_env).
KERNEL_ENV = ("PATH", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX",
              "LD_LIBRARY_PATH", "CUDA_PATH", "CUDA_HOME", "CUDA_VISIBLE_DEVICES")
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
    sha256: str = ""  # of the file's bytes: a rerun skips a file graded before unless it changed
    texts: dict[str, str] = dataclasses.field(default_factory=dict)  # column -> the verdict's text (feedback)
    mistakes: dict[str, str] = dataclasses.field(default_factory=dict)  # column -> the named mistake of a ❌
    timeout: float = 0.0  # the seconds its cells had (0: not known, a journal written before this was kept)

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
    the table (one huge message still passes through memory once). The grader's own cells (run at the
    index ``capture``, an empty cell added after every cell of the notebook) keep their answer messages,
    up to ``answers.MAX_REPLY`` bytes."""

    def __init__(self, notebook: nbformat.NotebookNode, watched: set[int], **kwargs):
        self.capture = len(notebook.cells)
        notebook.cells.append(nbformat.v4.new_code_cell(""))
        super().__init__(notebook, **kwargs)
        self.scans = {index: _Scan() for index in watched}
        self.errors: dict[int, str] = {}  # cell index -> the name of the first exception it raised
        self.replies: list[str] = []
        self.reply_bytes = 0

    def output(self, outs, msg, display_id, cell_index):  # noqa: ANN001 - nbclient's signature
        if msg.get("msg_type") == "error" and cell_index != self.capture and cell_index not in self.errors:
            self.errors[cell_index] = str(msg.get("content", {}).get("ename", ""))[:80]
        if cell_index in self.scans:
            self.scans[cell_index].feed(msg)
        elif cell_index == self.capture and msg.get("msg_type") == "display_data":
            reply = msg.get("content", {}).get("data", {}).get(answers.MIME)
            if isinstance(reply, str) and self.reply_bytes + len(reply) <= answers.MAX_REPLY:
                self.replies.append(reply)
                self.reply_bytes += len(reply)
        return None

    def clear_output(self, outs, msg, cell_index):  # noqa: ANN001 - a verdict once printed counts
        return None

    def handle_comm_msg(self, outs, msg, cell_index):  # noqa: ANN001 - no widget state is kept
        return None


class _KernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts through ``sandbox.command`` (in bubblewrap, under limits),
    talking over Unix sockets in a folder of its own (a sandbox without a network still reaches them)."""

    launch: Callable[[list[str]], list[str]] = staticmethod(lambda cmd: cmd)
    owner: int | None = None  # the user the kernel runs as, when it is not the grader's

    def format_kernel_cmd(self, extra_arguments=None):  # noqa: ANN001 - jupyter_client's signature
        return self.launch(super().format_kernel_cmd(extra_arguments))

    def write_connection_file(self, **kwargs):  # noqa: ANN003 - jupyter_client's signature
        written = super().write_connection_file(**kwargs)
        if self.owner is not None:
            os.chown(self.connection_file, self.owner, self.owner)
        return written


@dataclasses.dataclass
class _Run:
    scans: dict[int, _Scan]
    status: str = GRADED
    stopped: int | None = None  # the index of the cell where the kernel timed out or died
    detail: str = ""
    judged: dict[int, list["answers.Judged"]] = dataclasses.field(default_factory=dict)  # check cell -> verdicts
    errors: dict[int, str] = dataclasses.field(default_factory=dict)  # cell -> the exception it raised first


@dataclasses.dataclass(frozen=True)
class Settings:
    """How every notebook of a class runs: its time, its limits, in a sandbox or not."""

    timeout: float = TIMEOUT
    limits: sandbox.Limits = sandbox.Limits()
    sandboxed: bool = True


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


def _home_env(env: dict[str, str], home: pathlib.Path, token: str) -> dict[str, str]:
    """``env`` with every folder a kernel writes to (home, temporary files, caches, IPython's history)
    inside its work folder, and the token that marks its processes."""
    return env | {"HOME": str(home), "TMPDIR": str(home), "MPLCONFIGDIR": str(home / ".matplotlib"),
                  "IPYTHONDIR": str(home / ".ipython"), "XDG_CACHE_HOME": str(home / ".cache"),
                  "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local"),
                  "JUPYTER_RUNTIME_DIR": str(home / ".jupyter"), TOKEN: token}


def _seed_font_cache(home: pathlib.Path) -> list[pathlib.Path]:
    """Matplotlib's font list, copied from the grader's cache into the kernel's (``MPLCONFIGDIR``,
    home/.matplotlib); the paths made, for their owner. Without it, each kernel that draws would search
    the system's fonts again and write the list itself: 0.3 s of CPU and more on every kernel here, and
    seconds on a machine with many fonts. The list names font files, nothing private."""
    import matplotlib

    found = sorted(pathlib.Path(matplotlib.get_cachedir()).glob("fontlist-v*.json"))
    if not found:
        return []
    folder = home / ".matplotlib"
    folder.mkdir()
    return [folder] + [pathlib.Path(shutil.copy(path, folder)) for path in found]


@contextlib.contextmanager
def _work_folder(root: pathlib.Path, user: int | None) -> Iterator[tuple[pathlib.Path, pathlib.Path, pathlib.Path]]:
    """An empty work folder (the kernel's home) and a folder for its connection file, under ``root``, and a
    folder for its sockets in the system's temporary folder, all owned by ``user`` (where the kernel runs as
    another user); removed after. The sockets are not beside the others: a Unix socket's path may be at most
    107 bytes long, and ``root``, beside the instructor's OUT, can be longer (ZMQError: File name too long)."""
    folder = root.resolve() / uuid.uuid4().hex[:12]
    home, channels = folder / "home", folder / "channels"
    home.mkdir(parents=True)
    channels.mkdir()
    sockets = pathlib.Path(tempfile.mkdtemp(prefix="grade-"))  # 0700, only for this kernel
    fonts = _seed_font_cache(home)
    if user is not None:
        for path in (home, channels, sockets, *fonts):
            os.chown(path, user, user)
    try:
        yield home, channels, sockets
    finally:
        _remove(folder)
        _remove(sockets)


def _remove(folder: pathlib.Path) -> None:
    """Remove ``folder`` and all in it, whatever the modes a notebook gave its files."""
    def writable(function, path, _):  # noqa: ANN001 - shutil's onerror signature
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            function(path)

    shutil.rmtree(folder, onerror=writable)


def _kill_marked(token: str) -> None:
    """SIGKILL every process whose environment holds ``token``: the kernel's, and those that left its
    process group (a child started with ``start_new_session=True``) where no PID namespace ends them."""
    marker = f"{TOKEN}={token}".encode()
    for _ in range(3):  # a process may fork while the list is read
        found = False
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    environ = pathlib.Path(f"/proc/{entry.name}/environ").read_bytes()
                except OSError:
                    continue
                if marker in environ.split(b"\0"):
                    with contextlib.suppress(OSError):
                        os.kill(int(entry.name), signal.SIGKILL)
                        found = True
        if not found:
            return
        time.sleep(0.05)


async def _execute(notebook: nbformat.NotebookNode, watched: dict[int, answers.Ask], settings: Settings,
                   home: pathlib.Path, channels: tuple[pathlib.Path, pathlib.Path], env: dict[str, str],
                   user: int | None) -> _Run:
    """Run every code cell of ``notebook`` in a fresh kernel within ``settings.timeout`` seconds in all;
    after each check cell (``watched``), ask the kernel for that exercise's answer and judge it here."""
    connection, sockets = channels
    km = _KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets / "kernel"),
                        connection_file=str(connection / "kernel.json"))
    lifeline, held = os.pipe()  # the kernel's end, the grader's end (not inherited by any process it starts)
    km.launch = lambda cmd: sandbox.command(cmd, home, channels, settings.limits, sandbox=settings.sandboxed,
                                            user=user, lifeline=lifeline)
    km.owner = user
    client = _ScanningClient(
        notebook, set(watched), km=km, kernel_name="python3", allow_errors=True, record_timing=False,
        store_widget_state=False, shutdown_kernel="immediate", startup_timeout=STARTUP_TIMEOUT,
        skip_cells_with_tag=f"never-{uuid.uuid4()}", log=_QUIET, resources={"metadata": {"path": str(home)}},
    )
    client.owns_km = True  # nbclient shuts down the kernel it started, though its manager came from here
    run = _Run(client.scans, errors=client.errors)
    started = False
    deadline = math.inf  # the notebook's time runs from its kernel's start (STARTUP_TIMEOUT bounds that)

    async def execute(cell: nbformat.NotebookNode, index: int) -> bool:
        """Run one cell within the time left; False (and the run's status set) if the kernel stopped."""
        if _STOP.is_set():
            run.status, run.stopped = DIED, index
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            run.status, run.stopped = TIMED_OUT, index
            return False
        client.timeout = max(1, math.ceil(remaining))
        try:
            await client.async_execute_cell(cell, index)
        except CellTimeoutError:
            run.status, run.stopped = TIMED_OUT, index
            return False
        except DeadKernelError:
            run.status, run.stopped = DIED, index
            return False
        return True

    async def ask(source: str, index: int) -> list[str] | None:
        """The replies of one of the grader's cells run in the kernel (None: the kernel stopped)."""
        client.replies, client.reply_bytes = [], 0
        if not await execute(nbformat.v4.new_code_cell(source), client.capture):
            run.stopped = index  # the check cell ran, its answer could not be read
            return None
        return client.replies

    try:
        async with client.async_setup_kernel(env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, pass_fds=(lifeline,)):
            started = True
            # The time is for the cells: a kernel slow to start (many jobs, a loaded machine) takes none of it.
            deadline = time.monotonic() + settings.timeout
            os.close(lifeline)
            lifeline = -1
            with _LIVE_LOCK:
                _LIVE[id(client)] = getattr(client.km.provisioner, "pgid", None) or 0
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if not await execute(cell, index):
                    break
                if index in watched:
                    judged = await answers.judge(watched[index], lambda source, i=index: ask(source, i))
                    if judged is None:
                        break
                    run.judged[index] = judged
    except Exception as err:  # noqa: BLE001 - a kernel that cannot start, or fails to stop, is a row's problem
        if not started:
            run.status, run.stopped = NO_KERNEL, -1
            run.detail = f"{type(err).__name__}: {_clean(str(err), 120)}"
    finally:
        with _LIVE_LOCK:
            _LIVE.pop(id(client), None)
        atexit.unregister(client._cleanup_kernel)  # registered by nbclient; a kernel that never started leaves it
        with contextlib.suppress(Exception):
            if km.has_kernel:
                await km.shutdown_kernel(now=True)
        for end in (lifeline, held):
            if end >= 0:
                os.close(end)
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


def grade_file(path: pathlib.Path, root: pathlib.Path, course: dict[str, list[Exercise]], settings: Settings,
               env: dict[str, str] | None = None, work: pathlib.Path | None = None) -> Graded:
    """The row of the file at ``path`` (inside ``root``), its kernel run in a folder under ``work``: never raises."""
    start = time.perf_counter()
    row = Graded(path.relative_to(root).as_posix(), timeout=settings.timeout)
    try:
        _grade_into(row, path, course, settings, kernel_env() if env is None else env,
                    pathlib.Path(work or OUT.parent / WORK))
    except Exception as err:  # noqa: BLE001 - one file's failure never stops the class
        row.status = GRADER_ERROR
        row.problems.append(f"the grader failed on this file ({type(err).__name__}: {_clean(str(err), 120)})")
    row.seconds = time.perf_counter() - start
    return row


def _grade_into(row: Graded, path: pathlib.Path, course: dict[str, list[Exercise]], settings: Settings,
                env: dict[str, str], work: pathlib.Path) -> None:
    try:
        row.sha256 = hashlib.sha256(path.read_bytes()).hexdigest() if path.stat().st_size <= MAX_BYTES else ""
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
    touching = [index + 1 for index, cell in enumerate(notebook.cells)
                if cell.cell_type == "code" and GRADER_NAMES.search(cell.source)]
    if touching:
        row.problems.append(f"cell {touching[0]} names the grader's own machinery ({GRADER_NAMES.search(notebook.cells[touching[0] - 1].source)[0]}): "
                            "its verdicts may be forged; look at this notebook")
    watched = {index: answers.Ask([e for e in course[stem] if where[e.column] == index][0].source,
                                  notebook, index) for index in where.values() if index is not None}
    token = uuid.uuid4().hex
    user = sandbox.kernel_user() if settings.sandboxed else None
    with _work_folder(work, user) as (home, connection, sockets):
        try:
            run = asyncio.run(_execute(notebook, watched, settings, home, (connection, sockets),
                                       _home_env(env, home, token), user))
        finally:
            _kill_marked(token)
    _read_verdicts(row, run, where, settings.timeout, notebook)


def cell_name(notebook: nbformat.NotebookNode, index: int) -> str:
    """How a note names the cell at ``index``: its place among all cells, as nbformat and nbval count them, and
    among the code cells, as a student counts what JupyterLab shows: "cell 36 (code cell 16)"."""
    code = sum(cell.cell_type == "code" for cell in notebook.cells[: index + 1])
    return f"cell {index + 1} (code cell {code})"


def _read_verdicts(row: Graded, run: _Run, where: dict[str, int | None], timeout: float,
                   notebook: nbformat.NotebookNode | None = None) -> None:
    name = (lambda index: cell_name(notebook, index)) if notebook is not None else (lambda index: f"cell {index + 1}")
    row.status = run.status
    seen: Counter = Counter()
    for column, index in where.items():
        if index is None:
            row.verdicts[column] = MISSING
            continue
        if run.stopped is not None and index >= run.stopped:
            row.verdicts[column] = DID_NOT_RUN
            continue
        scan, judged = run.scans[index], run.judged.get(index, [])
        part = seen[index]  # the n-th check of this cell (a cell may call two checks)
        seen[index] += 1
        verdict = judged[part] if part < len(judged) else None
        printed = scan.verdict()
        if verdict is None or verdict.symbol is None:
            row.verdicts[column] = NO_VERDICT
            why = verdict.text if verdict is not None else "no answer"
            # an exception in a cell before the check (a syntax error in the function's cell) is often why
            before = [i for i in run.errors if i < index]
            if before and re.fullmatch(r"[A-Za-z_][\w.]{0,60}", run.errors[before[-1]]):
                why += f"; {name(before[-1])} raised {run.errors[before[-1]]} before it"
            row.problems.append(f"{column}: no verdict ({why})")
            continue
        row.verdicts[column], row.texts[column] = verdict.symbol, verdict.text
        if verdict.mistake:
            row.mistakes[column] = verdict.mistake
        if printed is not None and printed != verdict.symbol:
            row.problems.append(f"{column}: its notebook printed {printed} but the grader's own check says "
                                f"{verdict.symbol} (what a notebook prints does not count)")
        elif printed is None:
            error = scan.error if re.fullmatch(r"[A-Za-z_][\w.]{0,60}", scan.error) else "an exception"
            row.problems.append(f"{column}: the check cell printed no verdict"
                                + (f" (it raised {error})" if scan.error else "") + "; the grader's check counts")
    skipped = sum(value == DID_NOT_RUN for value in row.verdicts.values())
    where_stopped = f"in {name(run.stopped)}" if run.stopped is not None and run.stopped >= 0 else ""
    if run.status == TIMED_OUT:
        row.problems.insert(0, f"timed out after {timeout:g} s {where_stopped}; {skipped} check(s) did not run")
    elif run.status == DIED:
        row.problems.insert(0, f"the kernel died {where_stopped} (killed, out of memory or CPU time, or stopped "
                               f"itself); {skipped} check(s) did not run")
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


def _validate(submissions: pathlib.Path, out: pathlib.Path, jobs: int, settings: Settings) -> None:
    timeout = settings.timeout
    if not submissions.is_dir():
        what = "is a file, not a folder" if submissions.exists() else "does not exist"
        raise GradeError(f"submissions={str(submissions)!r} {what}; give the folder the class handed in")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise GradeError(f"jobs={jobs!r}: give a whole number of kernels at a time, at least 1")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise GradeError(f"timeout={timeout!r}: give the seconds one notebook may run, more than 0")
    for field in dataclasses.fields(settings.limits):
        value = getattr(settings.limits, field.name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise GradeError(f"{field.name}={value!r}: give a whole number, 0 for no limit")
    if out.is_dir():
        raise GradeError(f"out={str(out)!r} is a folder; give the path of the CSV file to write")
    if out.resolve().is_relative_to(submissions.resolve()):
        raise GradeError(f"out={str(out)!r} is inside submissions={str(submissions)!r}; "
                         "the grader never writes into the submissions: give a path outside it")


def parse_shard(shard: str | None) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4): the second of four shares of the class; None -> (1, 1)."""
    if shard is None:
        return 1, 1
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(shard))
    if not found or not 1 <= int(found[1]) <= int(found[2]):
        raise GradeError(f"shard={shard!r}: give i/N with 1 <= i <= N, e.g. 2/4 for the second of four shares")
    return int(found[1]), int(found[2])


def in_shard(relative: str, shard: tuple[int, int]) -> bool:
    """Whether the file ``relative`` (its path inside the submissions) is graded by ``shard``: a fixed share,
    by a hash of the path, the same on every machine and whatever else the folder holds."""
    index, count = shard
    return int(hashlib.sha256(relative.encode()).hexdigest(), 16) % count == index - 1


def default_jobs() -> int:
    """One kernel per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def journal_path(out: pathlib.Path) -> pathlib.Path:
    """Where the rows are written as each notebook finishes: ``grades.csv`` -> ``grades.jsonl``."""
    return out.with_suffix(".jsonl")


def read_journal(path: pathlib.Path) -> list[Graded]:
    """The rows of a journal, the last one for each file; a line cut short by a crash is ignored."""
    rows: dict[str, Graded] = {}
    if not path.exists():
        return []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            data = json.loads(line)
            row = Graded(**{f.name: data[f.name] for f in dataclasses.fields(Graded) if f.name in data})
        except (ValueError, TypeError, KeyError):
            continue
        rows[row.path] = row
    return list(rows.values())


class _Journal:
    """The rows written so far: each new one appended to the journal (flushed to disk) and the tables rewritten,
    so that a grader stopped at any moment leaves a valid table of what it finished."""

    def __init__(self, out: pathlib.Path, exercises: dict[str, list[Exercise]], kept: list[Graded],
                 write: Callable[[list[Graded]], None]):
        self.path, self.exercises, self.write = journal_path(out), exercises, write
        self.rows = {row.path: row for row in kept}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("w", encoding="utf-8") as file:  # only the rows kept from a run before
            for row in kept:
                file.write(json.dumps(dataclasses.asdict(row), ensure_ascii=False) + "\n")
        partial.replace(self.path)
        self.write(self.sorted())

    def add(self, row: Graded) -> None:
        self.rows[row.path] = row
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(dataclasses.asdict(row), ensure_ascii=False) + "\n")
            file.flush()
            os.fsync(file.fileno())
        self.write(self.sorted())

    def sorted(self) -> list[Graded]:
        return sorted(self.rows.values(), key=lambda row: row.path)


def split_done(paths: list[pathlib.Path], submissions: pathlib.Path, done: dict[str, Graded],
               timeout: float) -> tuple[list[pathlib.Path], list[Graded], list[Graded]]:
    """Which files a rerun grades: ``(todo, kept, more_time)``. A file's row from a run before (``done``, by path)
    is kept where the file has not changed since, unless the grader failed or was stopped on it, or it timed out
    with fewer seconds than ``timeout`` gives now (those rows are ``more_time``, and their files are in ``todo``:
    a class graded on a busy machine reruns its timeouts with a larger TIMEOUT, not every notebook)."""
    todo, kept, more_time = [], [], []
    for path in paths:
        row = done.get(path.relative_to(submissions).as_posix())
        if row is None or row.status in (GRADER_ERROR, INTERRUPTED) or not row.sha256 or row.sha256 != _sha256(path):
            todo.append(path)
        elif row.status == TIMED_OUT and row.timeout < timeout:
            todo.append(path)
            more_time.append(row)
        else:
            kept.append(row)
    return todo, kept, more_time


def columns_of(rows: list[Graded], exercises: dict[str, list[Exercise]]) -> list[str]:
    present = {row.notebook for row in rows}
    return [e.column for stem, notebook in exercises.items() if stem in present for e in notebook]


def grade(submissions: pathlib.Path, out: pathlib.Path = OUT, *, jobs: int | None = None, timeout: float = TIMEOUT,
          course: pathlib.Path = COURSE, echo: Callable[[str], None] = print, limits: sandbox.Limits | None = None,
          use_sandbox: bool | None = None, shard: str | None = None, regrade: bool = False,
          roster: pathlib.Path | None = None) -> list[Graded]:
    """Grade every notebook under ``submissions`` (or, with ``shard="i/N"``, a fixed share of them), write
    the tables beside ``out`` (the per-file CSV) as each notebook finishes and return the rows. A file graded
    by a run before (same path, same content, in ``out``'s journal) is not graded again unless ``regrade``.
    ``use_sandbox``: None for bubblewrap where installed, False to run without. Progress (one line per finished
    notebook) and the summary go to ``echo``.

    Raises GradeError for a missing folder, a folder without notebooks, jobs < 1, timeout <= 0, a bad limit
    or shard, an ``out`` inside ``submissions``, or a sandbox asked for where bubblewrap is missing."""
    submissions, out = pathlib.Path(submissions), pathlib.Path(out)
    jobs = default_jobs() if jobs is None else jobs
    if use_sandbox and not sandbox.bwrap():
        raise GradeError(f"sandbox=True, but {sandbox.missing()}")
    settings = Settings(timeout, limits or sandbox.Limits(), bool(sandbox.bwrap()) if use_sandbox is None
                        else use_sandbox)
    _validate(submissions, out, jobs, settings)
    the_shard = parse_shard(shard)
    the_roster = classroom.read_roster(pathlib.Path(roster)) if roster else None
    paths, hidden = find_submissions(submissions)
    if not paths:
        raise GradeError(f"submissions={str(submissions)!r} holds no notebooks (*.ipynb, searched recursively"
                         + (f"; {hidden} hidden ones skipped)" if hidden else ")"))
    paths = [path for path in paths if in_shard(path.relative_to(submissions).as_posix(), the_shard)]
    exercises = course_exercises(pathlib.Path(course))
    if not settings.sandboxed:
        echo(f"grade: {sandbox.missing() if not sandbox.bwrap() else 'running without the sandbox (asked for)'}")
    done = {} if regrade else {row.path: row for row in read_journal(journal_path(out))}
    todo, kept, more_time = split_done(paths, submissions, done, settings.timeout)
    if kept:
        timed_out = [row for row in kept if row.status == TIMED_OUT]
        echo(f"grade: {len(kept)} notebook(s) graded by a run before are kept (REGRADE=1 grades them again)"
             + (f"; {len(timed_out)} of them timed out after {max(row.timeout for row in timed_out):g} s, and a"
                f" larger TIMEOUT runs those again" if timed_out else ""))
    if more_time:
        echo(f"grade: {len(more_time)} notebook(s) that timed out in a run before, with less time, run again with"
             f" {settings.timeout:g} s")

    def write(rows: list[Graded]) -> None:
        write_csv(rows, columns_of(rows, exercises), out)
        classroom.write_reports(rows, exercises, out, the_roster)

    journal = _Journal(out, exercises, kept, write)
    work = out.resolve().parent / WORK
    _remove(work)  # what a grader killed before could not remove
    env = kernel_env(jobs)
    _STOP.clear()
    start = time.perf_counter()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade")
    try:
        futures = [pool.submit(grade_file, path, submissions, exercises, settings, env, work) for path in todo]
        for done_count, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            journal.add(future.result())
            echo(f"[{done_count}/{len(todo)}] {progress(journal.rows[future.result().path])}")
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        kill_running_kernels()
        pool.shutdown(wait=True)
        _remove(work)
        raise
    pool.shutdown()
    _remove(work)
    rows = journal.sorted()
    echo("")
    echo(summary(rows, exercises, seconds=time.perf_counter() - start, jobs=jobs, timeout=timeout, out=out,
                 submissions=submissions, hidden=hidden, sandboxed=settings.sandboxed, shard=the_shard,
                 kept=len(kept)))
    echo(classroom.summary(rows, exercises, out, the_roster))
    return rows


def _sha256(path: pathlib.Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.stat().st_size <= MAX_BYTES else ""
    except OSError:
        return ""


def _hide_environment() -> None:
    """Make this process's /proc entries (its environment among them) unreadable to the notebooks' processes,
    which run as the same user where there is no sandbox (Linux: PR_SET_DUMPABLE 0)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0)


def merge(journals: list[pathlib.Path], out: pathlib.Path = OUT, *, course: pathlib.Path = COURSE,
          roster: pathlib.Path | None = None, echo: Callable[[str], None] = print) -> list[Graded]:
    """Join the rows of several shards (their journals, ``*.jsonl``, or the CSV paths beside them) into one
    set of tables at ``out``: a file graded by two shards keeps the later row."""
    exercises = course_exercises(pathlib.Path(course))
    rows: dict[str, Graded] = {}
    for path in journals:
        path = journal_path(pathlib.Path(path))
        if not path.exists():
            raise GradeError(f"journal={str(path)!r} does not exist; give the shards' tables (OUT of each shard)")
        rows.update({row.path: row for row in read_journal(path)})
    out = pathlib.Path(out)
    the_roster = classroom.read_roster(pathlib.Path(roster)) if roster else None
    merged = _Journal(out, exercises, sorted(rows.values(), key=lambda row: row.path),
                      lambda rows: (write_csv(rows, columns_of(rows, exercises), out),
                                    classroom.write_reports(rows, exercises, out, the_roster))).sorted()
    echo(f"Merged {len(merged)} row(s) from {len(journals)} shard(s): {out}")
    echo(classroom.summary(merged, exercises, out, the_roster))
    return merged


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
    """The table: one row per file, one column per exercise, then the named mistakes and the problems. UTF-8
    with a byte-order mark (so that spreadsheets show ✅), written by the csv module (a comma or newline in a
    file name is quoted), text cells that a spreadsheet would take for a formula prefixed with '; replaced
    at once (a reader never sees half a table)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER + columns + ["mistakes", "problems"])
        for row in rows:
            mistakes = [f"{column.split(': ', 1)[-1]}: {row.mistakes[column]}" for column in columns
                        if column in row.mistakes]
            writer.writerow([_no_formula(row.student), _no_formula(row.path), row.notebook, row.status]
                            + [row.verdicts.get(column, "") for column in columns]
                            + [_no_formula("; ".join(mistakes)), _no_formula("; ".join(row.problems))])
    partial.replace(out)


def _no_formula(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary(rows: list[Graded], exercises: dict[str, list[Exercise]], *, seconds: float, jobs: int,
            timeout: float, out: pathlib.Path, submissions: pathlib.Path, hidden: int = 0, sandboxed: bool = True,
            shard: tuple[int, int] = (1, 1), kept: int = 0) -> str:
    """Per course notebook, how many ✅/❌/⏳/… each exercise got; then every file's problems. ``kept``: how many of
    ``rows`` a run before graded (not run again, so not in the time)."""
    where = "in a sandbox each" if sandboxed else "without a sandbox"
    share = f", share {shard[0]} of {shard[1]}" if shard[1] > 1 else ""
    reused = f" ({kept} of them kept from a run before, not run again)" if kept else ""
    lines = [f"Graded {len(rows)} notebook(s){reused} in {_clean(str(submissions), 200)}{share} in {seconds:.1f} s "
             f"({jobs} at a time, {timeout:g} s each, {where}): {out}"]
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
        lines.append(f"  {_clean(row.path, 200)}: " + "; ".join(_clean(problem, 300) for problem in row.problems))
    return "\n".join(lines)


def _limits(args: argparse.Namespace) -> sandbox.Limits:
    return sandbox.Limits(memory_mb=args.memory, cpu_s=args.cpu, processes=args.processes, file_mb=args.file_size,
                          tmp_mb=args.tmp)


def main(argv: list[str] | None = None) -> int:
    default = sandbox.Limits()
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.authoring.grade", description=__doc__.splitlines()[0],
        epilog="Each notebook runs in a bubblewrap sandbox where bwrap is installed; without it, with your rights.")
    parser.add_argument("submissions", type=pathlib.Path, nargs="?",
                        help="folder of the handed-in notebooks (searched recursively)")
    parser.add_argument("--out", type=pathlib.Path, default=OUT,
                        help=f"per-file CSV to write; grades.csv, feedback/ and the journal go beside it (default {OUT})")
    parser.add_argument("--jobs", type=int, default=None,
                        help=f"kernels at a time (default: one per core, here {default_jobs()})")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"seconds for all the cells of one notebook (default {TIMEOUT})")
    parser.add_argument("--memory", type=int, default=default.memory_mb,
                        help=f"MiB of address space per process of a kernel (default {default.memory_mb}; 0: none)")
    parser.add_argument("--cpu", type=int, default=default.cpu_s,
                        help=f"seconds of CPU time per process of a kernel (default {default.cpu_s}; 0: none)")
    parser.add_argument("--processes", type=int, default=default.processes,
                        help=f"processes and threads of a kernel (default {default.processes}; 0: none)")
    parser.add_argument("--file-size", type=int, default=default.file_mb,
                        help=f"MiB of any file a kernel writes (default {default.file_mb}; 0: none)")
    parser.add_argument("--tmp", type=int, default=default.tmp_mb,
                        help=f"MiB of /tmp in the sandbox (default {default.tmp_mb})")
    parser.add_argument("--no-sandbox", action="store_true", help="run the kernels without bubblewrap")
    parser.add_argument("--shard", default=None, help="i/N: grade the i-th of N fixed shares of the files")
    parser.add_argument("--regrade", action="store_true", help="grade again the files a run before graded")
    parser.add_argument("--roster", type=pathlib.Path, default=None,
                        help="CSV of the class: a student per row, first column the name to show, others aliases")
    parser.add_argument("--merge", type=pathlib.Path, nargs="+", default=None, metavar="SHARD_OUT",
                        help="join the tables of shards (each shard's --out) into --out instead of grading")
    parser.add_argument("--course", type=pathlib.Path, default=COURSE,
                        help="folder of the course notebooks the submissions are matched to (default: the course's)")
    args = parser.parse_args(argv)
    try:
        if args.merge:
            merge(args.merge, args.out, course=args.course, roster=args.roster)
            return 0
        if args.submissions is None:
            parser.error("give the folder of the submissions (or --merge the shards' tables)")
        signal.signal(signal.SIGTERM, _interrupt)  # a batch system's time limit: stop as on Ctrl-C
        _hide_environment()
        grade(args.submissions, args.out, jobs=args.jobs, timeout=args.timeout, course=args.course,
              limits=_limits(args), use_sandbox=False if args.no_sandbox else None, shard=args.shard,
              regrade=args.regrade, roster=args.roster)
    except GradeError as err:
        print(f"grade: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"grade: interrupted; the running kernels were stopped; the tables hold the notebooks finished "
              f"so far ({args.out}); run the same command again to grade the rest", file=sys.stderr)
        return 130
    return 0


def _interrupt(signum, frame):  # noqa: ANN001 - a signal handler's signature
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
