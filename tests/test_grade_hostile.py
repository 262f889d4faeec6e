"""`make grade` against notebooks that attack it: each must end as its own row, and the grader must finish.

A tiny course (one notebook, ``05_softmax``, with the real ``check_stable_softmax``) keeps each kernel to a
second or two. A class of hostile copies is graded once with the bubblewrap sandbox (skipped where bwrap is
missing) and once without it. Every attack is bounded, so that it cannot hurt the machine even where no
limit holds it: at most 200 processes that end themselves within seconds, an array reserved but never
touched, output for a few seconds, a child that ends itself after 60 s, writes of a few bytes into this
test's own folders. A notebook reports what its attack achieved through its answer, the only channel
the grader reads: ✅ where the attack worked, ⏳ where it failed.
"""

from __future__ import annotations

import contextlib
import csv
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import uuid

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.authoring import grade, sandbox

COLUMN = "05_softmax: check_stable_softmax"
TIMEOUT = 8  # seconds for a notebook's cells, once its kernel is up: 1-3 s on a loaded machine, the endless printer all of it
LIMITS = sandbox.Limits(memory_mb=1536, cpu_s=60, processes=64, file_mb=8, tmp_mb=16)
RIGHT = "    z = x - x.max(axis=-1, keepdims=True)\n    e = np.exp(z)\n    return e / e.sum(axis=-1, keepdims=True)"
WRONG = "    e = np.exp(x)\n    return e / e.sum(axis=-1, keepdims=True)"  # no max subtraction
PLACEHOLDER = '    raise NotImplementedError("write your solution here")'
ROOT_NPROC = "root is exempt from RLIMIT_NPROC, and outside the sandbox the kernel runs as root"


def notebook(body: str, *, before: str = "", check: str = "exercises.check_stable_softmax(stable_softmax)",
             after: str = "") -> nbformat.NotebookNode:
    """The tiny course's notebook with ``body`` as the solution, ``before`` an extra cell ahead of it."""
    cells = [new_code_cell("import numpy as np\nfrom course_lib import exercises")]
    cells += [new_code_cell(before)] if before else []
    cells += [new_code_cell(f"def stable_softmax(x):\n{body}"), new_code_cell(check)]
    cells += [new_code_cell(after)] if after else []
    return new_notebook(cells=cells)


def answer_if(condition: str) -> str:
    """A solution that is right where ``condition`` (Python, read in the notebook) holds: ✅ tells the attack worked."""
    indented = "\n".join("    " + line for line in RIGHT.splitlines())
    return f"    if {condition}:\n{indented}\n{PLACEHOLDER}"


def make_course(folder: pathlib.Path) -> pathlib.Path:
    folder.mkdir(parents=True)
    nbformat.write(notebook(RIGHT), folder / "05_softmax.ipynb")
    return folder


def make_class(folder: pathlib.Path, outside: pathlib.Path, marker: str) -> None:
    def write(name: str, nb: nbformat.NotebookNode) -> None:
        (folder / name).mkdir(parents=True)
        nbformat.write(nb, folder / name / "05_softmax.ipynb")

    write("right", notebook(RIGHT))
    write("wrong", notebook(WRONG))
    write("kill_parent", notebook(RIGHT, before="import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"))
    write("escaped_child", notebook(RIGHT, before=(
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', "
        f"'{marker}'], start_new_session=True)")))
    write("writes_outside", notebook(answer_if("wrote"), before=(  # the sandbox's own /tmp is allowed
        "wrote = False\n"
        f"for path in ['/tmp/{marker}', {str(folder / marker)!r}, {str(outside / marker)!r}]:\n"
        "    try:\n        open(path, 'w').write('x')\n        wrote = not path.startswith('/tmp/')\n"
        "    except OSError:\n        pass")))
    write("reads_environ", notebook(answer_if("leaked"), before=(
        "import os\nleaked = False\n"
        "for pid in [os.getppid()] + [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n        leaked |= b'GRADER_SECRET' in open(f'/proc/{pid}/environ', 'rb').read()\n"
        "    except OSError:\n        pass\n"
        "leaked |= 'GRADER_SECRET' in os.environ")))
    write("memory", notebook(answer_if("allocated"), before=(
        "try:\n    big = np.empty(2 * 2**30, dtype=np.uint8)  # reserved, never touched\n    allocated = True\n"
        "except MemoryError:\n    allocated = False\nbig = None")))
    write("processes", notebook(answer_if("started == 200"), before=(
        "import os, time\nstarted = 0\nfor _ in range(200):  # at most 200 (three times the limit), each gone within 2 s\n"
        "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
        "    if pid == 0:\n        time.sleep(2)\n        os._exit(0)\n    started += 1")))
    write("endless_output", notebook(RIGHT, after=(  # some 10 MB a second until the timeout, in lines of 100 kB:
        "import time\nwhile True:\n    print('x' * 100_000)\n    time.sleep(0.01)")))  # a flood, the kernel mostly asleep
    write("patched_check", notebook(WRONG, before=(
        "exercises.check_stable_softmax = lambda *a, **k: print('✅ Correct: stable_softmax() — fake')")))
    write("patched_print", notebook(WRONG, before=(
        "import builtins\n_print = builtins.print\n"
        "builtins.print = lambda *a, **k: _print(*(str(x).replace('❌ Not yet', '✅ Correct') for x in a), **k)")))
    write("edited_check", notebook(WRONG, check="print('✅ Correct: stable_softmax()')"))  # no check left
    write("edited_argument", notebook(WRONG, check="from course_lib import attention\n"
                                                   "exercises.check_stable_softmax(attention.softmax)"))
    write("printed_verdict", notebook(WRONG, after="print('✅ Correct: stable_softmax()')"))
    write("forged_answer", notebook(WRONG, before=(  # answers the grader with course_lib's softmax
        "import course_lib.authoring.answers as grader\nfrom course_lib import attention\n_call = grader._call\n"
        "grader._call = lambda expression, args, namespace: _call(expression, args, "
        "{**namespace, 'stable_softmax': attention.softmax})")))


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in pathlib.Path(f"/proc/{entry.name}/cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


MODES = [pytest.param(True, id="sandbox", marks=pytest.mark.skipif(
             not sandbox.bwrap(), reason=f"needs bubblewrap, which {sandbox._probe()[1]} "
                                         "(Debian/Ubuntu: apt-get install bubblewrap)")),
         pytest.param(False, id="no-sandbox")]


@pytest.fixture(scope="module", params=MODES)
def hostile(request, tmp_path_factory):
    """The hostile class graded once in this mode, by `python -m course_lib.authoring.grade` started with a secret
    in its environment: the table's rows by student, what it printed, what it left behind."""
    tmp = tmp_path_factory.mktemp("hostile")
    marker = f"grade-hostile-{uuid.uuid4().hex[:12]}"
    folder, outside, out = tmp / "class", tmp / "outside", tmp / "out" / "files.csv"
    outside.mkdir()
    make_class(folder, outside, marker)
    course = make_course(tmp / "course")
    args = [str(folder), "--out", str(out), "--jobs", "2", "--timeout", str(TIMEOUT), "--course", str(course),
            "--memory", str(LIMITS.memory_mb), "--cpu", str(LIMITS.cpu_s), "--processes", str(LIMITS.processes),
            "--file-size", str(LIMITS.file_mb), "--tmp", str(LIMITS.tmp_mb)] + ([] if request.param else ["--no-sandbox"])
    grader = run_cli(args, env=os.environ | {"GRADER_SECRET": "a secret of the instructor"})
    stdout, stderr = grader.communicate(timeout=300)
    time.sleep(0.2)
    left = processes_with(marker)
    for pid in left:  # never leave one behind, even when the test fails
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    written = [path for path in (folder / marker, pathlib.Path("/tmp") / marker, outside / marker) if path.exists()]
    for path in written:
        path.unlink()
    table = {row["file"].split("/")[0]: row for row in rows_of(out)}
    return {"sandboxed": request.param, "status": grader.returncode, "table": table, "echo": stdout + stderr,
            "left": left, "written": written, "out": out}


def test_the_grader_finishes_with_a_row_per_notebook(hostile):
    assert hostile["status"] == 0, hostile["echo"][-2000:]
    assert len(hostile["table"]) == 15
    assert hostile["table"]["right"][COLUMN] == grade.PASS
    assert hostile["table"]["wrong"][COLUMN] == grade.FAIL
    assert not (hostile["out"].parent / grade.WORK).exists(), "the kernels' work folders are removed"


def test_a_notebook_that_kills_its_parent_ends_only_its_own_row(hostile):
    row = hostile["table"]["kill_parent"]
    assert row["status"] == "kernel died" and row[COLUMN] == grade.DID_NOT_RUN
    # Cell 2 kills the kernel's parent; the kernel follows it a moment later, and on a loaded machine it may
    # still run cell 3 (the solution's def) before it goes, so the grader finds it dead in cell 2, 3 or 4
    # (the check, which then never ran: DID_NOT_RUN above). One full `make test` here failed on "[23]": the
    # kernel had died, the check had not run, and the cell named was another.
    assert re.search(r"the kernel died in cell [234] ", row["problems"]), row["problems"]


def test_an_escaped_child_does_not_outlive_the_run(hostile):
    assert hostile["table"]["escaped_child"][COLUMN] == grade.PASS
    assert hostile["left"] == [], "a child started with start_new_session=True outlived its notebook"


def test_writes_outside_the_work_folder_are_refused(hostile):
    if not hostile["sandboxed"]:
        pytest.skip("needs bubblewrap: without the sandbox a notebook writes wherever its user may")
    assert hostile["table"]["writes_outside"][COLUMN] == grade.TODO, "a write outside its folder went through"
    assert hostile["written"] == []


def test_the_graders_environment_is_out_of_reach(hostile):
    if not hostile["sandboxed"] and os.geteuid() == 0:
        pytest.skip("needs bubblewrap when grading as root: root reads every process's environment")
    assert hostile["table"]["reads_environ"][COLUMN] == grade.TODO, "the notebook read the grader's environment"


def test_memory_over_the_limit_is_refused(hostile):
    assert hostile["table"]["memory"][COLUMN] == grade.TODO, "2 GiB went through a 1.5 GiB limit"


def test_processes_over_the_limit_are_refused(hostile):
    if not hostile["sandboxed"] and os.geteuid() == 0:
        pytest.skip(ROOT_NPROC)
    row = hostile["table"]["processes"]
    assert row["status"] == "graded" and row[COLUMN] == grade.TODO, "200 processes went through a limit of 64"


def test_endless_output_times_out_and_keeps_its_verdict(hostile):
    row = hostile["table"]["endless_output"]
    assert (row["status"], row[COLUMN]) == ("timed out", grade.PASS)


@pytest.mark.parametrize("name", ["patched_check", "patched_print"])
def test_a_patched_check_or_print_cannot_fake_a_pass(hostile, name):
    row = hostile["table"][name]
    assert row[COLUMN] == grade.FAIL
    assert "its notebook printed ✅ but the grader's own check says ❌" in row["problems"]
    assert "a softmax without subtracting the maximum" in row["mistakes"]


def test_an_edited_check_cell_cannot_fake_a_pass(hostile):
    row = hostile["table"]["edited_check"]  # no check call left: not the course's notebook, never ✅
    assert (row["status"], row[COLUMN]) == ("not a course notebook", "")
    row = hostile["table"]["edited_argument"]
    assert row[COLUMN] == grade.FAIL, "the course's argument (stable_softmax) is judged, not the edited one"
    assert "the check cell (cell 3) was edited" in row["problems"]


def test_a_printed_verdict_does_not_count(hostile):
    assert hostile["table"]["printed_verdict"][COLUMN] == grade.FAIL


def test_code_aimed_at_the_graders_machinery_flags_its_row(hostile):
    row = hostile["table"]["forged_answer"]  # it may forge a ✅: that is what the flag is for
    assert "cell 2 names the grader's own machinery (course_lib.authoring): its verdicts may be forged" \
        in row["problems"]


def test_the_grader_says_once_what_it_runs_without(hostile):
    said = [line for line in hostile["echo"].splitlines() if line.startswith("grade: ") and "sandbox" in line]
    assert len(said) == (0 if hostile["sandboxed"] else 1)


def test_without_bubblewrap_the_grader_says_plainly_what_is_missing(tmp_path, monkeypatch):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "broken.ipynb").write_text("not a notebook")  # graded without a kernel
    monkeypatch.setattr(sandbox, "_probe", lambda: (None, "is not installed"))
    echoed: list[str] = []
    grade.grade(tmp_path / "class", tmp_path / "out" / "files.csv", jobs=1, echo=echoed.append)
    said = [line for line in echoed if line.startswith("grade: ")]
    assert said == [f"grade: {sandbox.missing()}"]
    assert "can read and write your files, use the network" in said[0]
    with pytest.raises(grade.GradeError, match="bubblewrap \\(bwrap\\) is not installed"):
        grade.grade(tmp_path / "class", tmp_path / "out" / "files.csv", jobs=1, use_sandbox=True, echo=echoed.append)


# ---------------------------------------------------------------- a crash mid-run, Ctrl-C, and a rerun


def run_cli(args: list[str], **kwargs) -> subprocess.Popen:
    """`make grade`'s command, with Ctrl-C (SIGINT) at its default, as in a terminal's foreground job. Started
    from a background job of a shell script, pytest and its children inherit SIGINT ignored, and Python then
    never turns it into KeyboardInterrupt: the Ctrl-C test would see a grader that runs on to the end."""
    return subprocess.Popen([sys.executable, "-m", "course_lib.authoring.grade", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)


def rows_of(path: pathlib.Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as file:
        return list(csv.DictReader(file))


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_a_grader_stopped_mid_run_leaves_a_valid_table_and_a_rerun_finishes_it(tmp_path, stop):
    folder, out = tmp_path / "class", tmp_path / "out" / "files.csv"
    for name in ("a", "b", "c", "d"):
        (folder / name).mkdir(parents=True)
        # a notebook takes its kernel's start and 0.3 s more: the grader is stopped long before the class is done
        nbformat.write(notebook(RIGHT if name != "b" else WRONG, after="import time; time.sleep(0.3)"),
                       folder / name / "05_softmax.ipynb")
    course = make_course(tmp_path / "course")
    args = [str(folder), "--out", str(out), "--jobs", "1", "--timeout", "20", "--course", str(course)]
    grader = run_cli(args)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and rows_of(out)):
        time.sleep(0.1)
    os.kill(grader.pid, stop)
    _, err = grader.communicate(timeout=30)
    assert grader.returncode == (130 if stop == signal.SIGINT else -signal.SIGKILL)
    if stop == signal.SIGINT:
        assert "interrupted" in err and "run the same command again" in err
    partial = rows_of(out)
    assert 1 <= len(partial) < 4 and all(row[COLUMN] in (grade.PASS, grade.FAIL) for row in partial), \
        [(row["file"], row["status"], row["problems"]) for row in partial]
    time.sleep(0.5)  # a kernel whose grader was killed goes with it (PR_SET_PDEATHSIG, bubblewrap --die-with-parent)
    assert processes_with(str(out.parent / grade.WORK)) == []
    rerun = run_cli(args)
    stdout, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0
    assert f"{len(partial)} notebook(s) graded by a run before are kept" in stdout
    assert f"Graded 4 notebook(s) ({len(partial)} of them kept from a run before, not run again) in " in stdout
    table = rows_of(out)
    assert [row["file"] for row in table] == [f"{name}/05_softmax.ipynb" for name in "abcd"]
    assert [row[COLUMN] for row in table] == [grade.PASS, grade.FAIL, grade.PASS, grade.PASS]
    assert not (out.parent / grade.WORK).exists()


def test_kernels_start_however_long_the_output_folders_path(tmp_path):
    """A Unix socket's path may be at most 107 bytes; the kernels' work folder sits beside OUT, whose path may be longer."""
    folder, out = tmp_path / "class", tmp_path / ("a-long-folder-name-" * 6) / "files.csv"
    (folder / "ada").mkdir(parents=True)
    nbformat.write(notebook(RIGHT), folder / "ada" / "05_softmax.ipynb")
    course = make_course(tmp_path / "course")
    assert len(str(out.parent / grade.WORK / "0123456789ab" / "channels" / "kernel-65535")) > 107
    args = [str(folder), "--out", str(out), "--jobs", "1", "--timeout", "60", "--course", str(course)]
    grader = run_cli(args + ([] if sandbox.bwrap() else ["--no-sandbox"]))
    stdout, stderr = grader.communicate(timeout=180)
    assert grader.returncode == 0, (stdout + stderr)[-2000:]
    (row,) = rows_of(out)
    assert (row["status"], row[COLUMN]) == ("graded", grade.PASS), row["problems"]


def test_the_timeout_counts_the_cells_not_the_kernels_start(tmp_path, monkeypatch):
    """``--timeout`` is the time for a notebook's cells together: a kernel that is slow to start (here held
    back 4 s, as on a machine grading many notebooks at once) does not use up a 3 s timeout."""
    folder, out = tmp_path / "class", tmp_path / "out" / "files.csv"
    (folder / "ada").mkdir(parents=True)
    nbformat.write(notebook(RIGHT), folder / "ada" / "05_softmax.ipynb")
    course = make_course(tmp_path / "course")
    command = sandbox.command
    monkeypatch.setattr(sandbox, "command", lambda kernel, *args, **kwargs: [
        "sh", "-c", 'sleep 4; exec "$@"', "sh", *command(kernel, *args, **kwargs)])
    (row,) = grade.grade(folder, out, jobs=1, timeout=3, course=course, use_sandbox=bool(sandbox.bwrap()),
                         echo=lambda line: None)
    assert (row.status, row.verdicts.get(COLUMN)) == ("graded", grade.PASS), row.problems
