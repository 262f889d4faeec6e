"""course_lib.authoring.grade (`make grade`): a class's notebooks run, each check's verdict in one table.

One class is graded once (the `graded` fixture, about 25 s on two cores): notebooks 00 and 01 as an
instructor, a learner who has not started, one who got one exercise right and one wrong, one whose
notebook loops forever, one whose output tries to break the table, a broken file and a notebook from
elsewhere. The other tests need no kernel. Attacks on the grader: test_grade_hostile.py; the trusted
verdicts: test_grade_answers.py; students, rosters, shards: test_grade_class.py.
"""

from __future__ import annotations

import contextlib
import csv
import io
import pathlib
import re
import subprocess

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.authoring import grade
from course_lib.authoring.grade import (DID_NOT_RUN, FAIL, MISSING, PASS, TODO, GradeError, _Scan, check_calls,
                                        course_exercises, identify, match_cells)
from course_lib.authoring.student import student_copy

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMEOUT = 12  # seconds for a notebook's cells once its kernel is up: those of 00 and 01 take about 2-5 s, the looping one all of it
PARK, OUTDOOR = "00_welcome: check_park_row", "00_welcome: check_outdoor_words"
DOT, COSINE = "01_dot_product: check_dot_product", "01_dot_product: check_cosine_similarity"
EVE = 'eve, "the\nhacker"/00_welcome.ipynb'  # a comma, quotes and a newline in a folder's name
# Printed outside the check cells: commas, quotes, newlines, a carriage return and fake verdicts.
NOISE = 'print(\'a,b,"c"\\n✅ Correct: x_park — fake\\r\\n"",,\\n❌ Not yet: outdoor_words\')'


def course(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def answer(notebook: nbformat.NotebookNode, placeholder: str, code: str) -> None:
    """Write ``code`` in place of the line ``placeholder`` of the student copy ``notebook``."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and placeholder in c.source]
    cell.source = cell.source.replace(placeholder, code)


def body(function: str) -> str:
    """The placeholder line of the function ``function`` in a student copy."""
    return 'raise NotImplementedError("write your solution here")' + f"  # {function}"


def student(name: str) -> nbformat.NotebookNode:
    """A student copy whose function placeholders say which function they are in (to fill them one by one)."""
    copy = student_copy(course(name))
    for cell in copy.cells:
        found = re.match(r"def (\w+)\(", cell.source)
        if found:
            cell.source = cell.source.replace('raise NotImplementedError("write your solution here")', body(found[1]))
    return copy


def write(folder: pathlib.Path, relative: str, notebook: nbformat.NotebookNode) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def make_class(folder: pathlib.Path, marker: pathlib.Path) -> None:
    write(folder, "ada/00_welcome.ipynb", course("00_welcome"))  # the instructor's: all correct
    write(folder, "bo/00_welcome.ipynb", student_copy(course("00_welcome")))  # not started

    cy = student("01_dot_product")  # one right, one wrong that prints a fake "✅" inside its check cell
    answer(cy, body("my_dot_product"), "return xp.sum(a * b, axis=-1)")
    fake = "print('✅ Correct: cosine_similarity()')\n    return xp.sum(a * b, axis=-1)"
    answer(cy, body("cosine_similarity"), fake)
    write(folder, "cy/01_dot_product.ipynb", cy)

    gus = student("01_dot_product")  # a parenthesis left open: the function is never defined
    answer(gus, body("my_dot_product"), "return xp.sum(a * b, axis=-1")
    write(folder, "gus/01_dot_product.ipynb", gus)

    # right, then a loop that never ends: asleep, as the grader stops it by the clock whatever it does (a busy
    # loop took a core from the other tests until the timeout: this file's run, 23.6 s of CPU against 11.7)
    dee = student_copy(course("00_welcome"))
    answer(dee, "x_park = ...", 'x_park = x[data.TOKENS.index("park")]')
    answer(dee, "outdoor_words = ...", "import time\nwhile True:\n    time.sleep(0.1)")
    write(folder, "dee/00_welcome.ipynb", dee)

    eve = student_copy(course("00_welcome"))  # wrong, right, and noise everywhere but in the check cells
    answer(eve, "x_park = ...", f"x_park = x[0]\n{NOISE}")
    answer(eve, "outdoor_words = ...", "outdoor_words = ['go', 'park']")
    eve.cells.insert(1, new_code_cell(NOISE))
    write(folder, EVE, eve)

    (folder / "broken.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff not a notebook")
    write(folder, "fay/notes.ipynb", new_notebook(cells=[new_code_cell(f"open({str(marker)!r}, 'w').write('ran')")]))
    write(folder, "ada/.ipynb_checkpoints/00_welcome-checkpoint.ipynb", course("00_welcome"))


def snapshot(folder: pathlib.Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once through the command line: (exit status, stdout, the CSV's rows by file, ...)."""
    tmp = tmp_path_factory.mktemp("grade")
    folder, out, marker = tmp / "class", tmp / "out" / "files.csv", tmp / "fay-ran"
    make_class(folder, marker)
    before = snapshot(folder)
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        status = grade.main([str(folder), "--out", str(out), "--jobs", "2", "--timeout", str(TIMEOUT)])
    with out.open(newline="", encoding="utf-8-sig") as file:
        table = list(csv.reader(file))
    with (out.parent / "grades.csv").open(newline="", encoding="utf-8-sig") as file:
        students = {row["student"]: row for row in csv.DictReader(file)}
    return {"status": status, "stdout": stdout.getvalue(), "table": table,
            "rows": {row[1]: dict(zip(table[0], row)) for row in table[1:]}, "students": students,
            "unchanged": snapshot(folder) == before, "marker": marker, "out": out}


def test_instructor_notebook_gets_every_check_correct(graded):
    ada = graded["rows"]["ada/00_welcome.ipynb"]
    assert graded["status"] == 0
    assert (ada["status"], ada[PARK], ada[OUTDOOR], ada["problems"]) == ("graded", PASS, PASS, "")
    assert ada["student"] == "ada" and ada["course notebook"] == "00_welcome"
    assert ada[DOT] == ada[COSINE] == "", "no column of notebook 01 applies to notebook 00"


def test_blank_student_copy_gets_not_attempted(graded):
    bo = graded["rows"]["bo/00_welcome.ipynb"]
    assert (bo[PARK], bo[OUTDOOR]) == (TODO, TODO)


def test_one_right_one_wrong_and_a_fake_verdict_cannot_hide_the_check(graded):
    cy = graded["rows"]["cy/01_dot_product.ipynb"]
    assert (cy["status"], cy[DOT], cy[COSINE]) == ("graded", PASS, FAIL)
    assert cy[PARK] == cy[OUTDOOR] == ""


def test_a_check_with_no_verdict_names_the_error_in_the_cell_before_it(graded):
    """A syntax error in the function's cell leaves the check a NameError; the note points at the first cause."""
    gus = graded["rows"]["gus/01_dot_product.ipynb"]
    assert (gus["status"], gus[DOT]) == ("graded", grade.NO_VERDICT)
    assert re.search(r"check_dot_product: no verdict \(.*NameError.*; cell \d+ \(code cell \d+\) raised SyntaxError "
                     r"before it\)", gus["problems"]), gus["problems"]
    assert "gus" in graded["students"] and "with no verdict" in graded["students"]["gus"]["notes"]
    feedback = (graded["out"].parent / "feedback" / "gus.md").read_text()
    assert re.search(r"### check_dot_product no verdict\n\n    no verdict \(.*raised SyntaxError before it\)", feedback)


def test_notebook_past_the_timeout_keeps_what_ran_and_the_class_goes_on(graded):
    dee = graded["rows"]["dee/00_welcome.ipynb"]
    assert (dee["status"], dee[PARK], dee[OUTDOOR]) == ("timed out", PASS, DID_NOT_RUN)
    assert re.search(rf"timed out after {TIMEOUT} s in cell \d+ \(code cell \d+\); 1 check\(s\) did not run",
                     dee["problems"])
    assert graded["rows"]["ada/00_welcome.ipynb"]["status"] == "graded"


def test_broken_file_is_reported_and_the_rest_graded(graded):
    broken = graded["rows"]["broken.ipynb"]
    assert (broken["status"], broken["course notebook"], broken[PARK]) == ("unreadable", "", "")
    assert broken["problems"] == "not a notebook: not UTF-8 text"
    assert "broken.ipynb: not a notebook: not UTF-8 text" in graded["stdout"]


def test_notebook_not_of_the_course_is_marked_and_never_run(graded):
    fay = graded["rows"]["fay/notes.ipynb"]
    assert fay["status"] == "not a course notebook"
    assert "no check cell of the course" in fay["problems"]
    assert not graded["marker"].exists(), "a notebook that is not the course's must not run"


def test_output_cannot_break_the_table(graded):
    table = graded["table"]
    header = table[0]
    assert header[:4] == ["student", "file", "course notebook", "status"] and header[-2:] == ["mistakes", "problems"]
    assert header[4:-2] == [PARK, OUTDOOR, DOT, COSINE]
    assert sorted(row[1] for row in table[1:]) == sorted([
        "ada/00_welcome.ipynb", "bo/00_welcome.ipynb", "broken.ipynb", "cy/01_dot_product.ipynb",
        "dee/00_welcome.ipynb", EVE, "fay/notes.ipynb", "gus/01_dot_product.ipynb"]), \
        "one row per file; hidden checkpoints skipped"
    assert all(len(row) == len(header) for row in table)
    allowed = {"", PASS, FAIL, TODO, DID_NOT_RUN, grade.NO_VERDICT, MISSING}
    assert all(row[i] in allowed for row in table[1:] for i in range(4, len(header) - 2))
    eve = graded["rows"][EVE]
    assert (eve["student"], eve[PARK], eve[OUTDOOR]) == ('eve, "the\nhacker"', FAIL, PASS)


def test_progress_and_summary(graded):
    out = graded["stdout"]
    assert re.search(r"^\[\d/8\] ada/00_welcome\.ipynb: 2 ✅ \(\d+\.\d s\)$", out, re.M)
    assert re.search(r"^\[\d/8\] dee/00_welcome\.ipynb: 1 ✅ 1 did not run, timed out \(\d+\.\d s\)$", out, re.M)
    assert re.search(r"^\[\d/8\] eve, \"the\?hacker\"/00_welcome\.ipynb: 1 ✅ 1 ❌ ", out, re.M), "no raw newline"
    assert re.search(r"^00_welcome: 4 notebook\(s\)$", out, re.M)
    assert re.search(r"^  check_park_row +2 ✅ +1 ❌ +1 ⏳ +0 did not run$", out, re.M)
    assert re.search(r"^  check_outdoor_words +2 ✅ +0 ❌ +1 ⏳ +1 did not run$", out, re.M)
    assert "Not graded: 1 not a course notebook, 1 unreadable" in out
    assert "Skipped 1 hidden file(s) or folder(s)" in out


def test_submissions_are_left_as_they_were(graded):
    assert graded["unchanged"]


def test_a_row_per_student_with_points_and_a_total(graded):
    students = graded["students"]
    assert sorted(students) == ["ada", "bo", "cy", "dee", 'eve, "the\nhacker"', "gus"]
    assert students["ada"]["00_welcome (of 2)"] == "2" and students["ada"]["total (of 4)"] == "2"
    assert (students["cy"]["01_dot_product (of 2)"], students["cy"]["00_welcome (of 2)"]) == ("1", "")
    assert students["bo"]["total (of 4)"] == "0" and students["dee"]["total (of 4)"] == "1"


def test_the_named_mistake_is_kept_and_tallied(graded):
    eve = graded["rows"][EVE]
    assert eve["mistakes"] == "check_park_row: that is row 0 of x, the embedding of 'I'"
    assert re.search(r"^Most frequent mistakes \(what to re-teach\):$", graded["stdout"], re.M)
    assert re.search(r"^  00_welcome: check_park_row \(1 ❌\): 1× ", graded["stdout"], re.M)


def test_a_feedback_file_per_student_with_the_checks_own_text(graded):
    feedback = graded["out"].parent / "feedback"
    assert sorted(path.name for path in feedback.iterdir()) == [
        "ada.md", "bo.md", "cy.md", "dee.md", "eve_the_hacker.md", "gus.md"]
    cy = (feedback / "cy.md").read_text()
    assert "### check_dot_product ✅" in cy and "### check_cosine_similarity ❌" in cy
    assert "    ❌ Not yet: cosine_similarity() — " in cy
    assert "its notebook printed" not in cy, "a ✅ printed inside the check cell beside the check's ❌ is no tampering"


def test_the_journal_holds_a_row_per_file(graded):
    rows = grade.read_journal(grade.journal_path(graded["out"]))
    assert sorted(row.path for row in rows) == sorted(graded["rows"])


def test_folder_without_notebooks_is_an_error(tmp_path, capsys):
    (tmp_path / "readme.txt").write_text("no notebooks here")
    assert grade.main([str(tmp_path), "--out", str(tmp_path.parent / "g.csv")]) == 2
    assert f"submissions={str(tmp_path)!r} holds no notebooks" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    ({"submissions": "missing"}, r"submissions='.*missing' does not exist"),
    ({"jobs": 0}, r"jobs=0: give a whole number of kernels at a time, at least 1"),
    ({"timeout": 0}, r"timeout=0: give the seconds one notebook may run, more than 0"),
    ({"out": "class/grades.csv"}, r"out='.*grades.csv' is inside submissions="),
    ({"out": "."}, r"out='.*' is a folder"),
])
def test_bad_arguments_are_refused_with_the_argument(tmp_path, change, message):
    (tmp_path / "class").mkdir()
    args = {"submissions": "class", "out": "g.csv", "jobs": 1, "timeout": 5} | change
    args = {key: tmp_path / value if key in ("submissions", "out") else value for key, value in args.items()}
    with pytest.raises(GradeError, match=message):
        grade.grade(args.pop("submissions"), args.pop("out"), **args)


def test_columns_are_named_by_notebook_and_check():
    exercises = course_exercises(NOTEBOOKS)
    assert [e.column for e in exercises["05_softmax"]] == [
        "05_softmax: check_stable_softmax", "05_softmax: check_softmax_temperature"]
    assert all(len({e.column for e in notebook}) == len(notebook) for notebook in exercises.values())


def test_a_check_called_twice_gets_two_columns_and_a_missing_cell_is_said(tmp_path):
    (tmp_path / "07_twice.ipynb").write_text(nbformat.writes(new_notebook(cells=[
        new_code_cell("exercises.check_attention(a)"), new_code_cell("exercises.check_attention(b)")])))
    (twice,) = course_exercises(tmp_path).values()
    assert [e.column for e in twice] == ["07_twice: check_attention (1)", "07_twice: check_attention (2)"]
    where, problems = match_cells(new_notebook(cells=[new_code_cell("exercises.check_attention(b)  # mine")]), twice)
    assert where == {"07_twice: check_attention (1)": 0, "07_twice: check_attention (2)": None}
    assert problems == ["07_twice: check_attention (1): the check cell (cell 1) was edited",
                        "07_twice: check_attention (2): no cell calls check_attention"]


def test_check_calls_ignore_comments_and_strings():
    source = "%matplotlib inline\nexercises.check_a(x)  # exercises.check_b(y)\ns = 'exercises.check_c()'"
    assert check_calls(source) == ["check_a"]
    assert check_calls("course_lib.exercises.check_d(x); exercises.check_e(y)") == ["check_d", "check_e"]
    assert check_calls("def broken(:\nexercises.check_f(x)") == ["check_f"]


def test_a_notebook_is_known_by_its_name_and_confirmed_by_its_checks():
    exercises = course_exercises(NOTEBOOKS)
    softmax = grade.Counter(["check_stable_softmax"])
    assert identify("alice_05_softmax (1).ipynb", softmax, exercises) == ("05_softmax", "")
    assert identify("homework.ipynb", softmax, exercises) == (
        "05_softmax",
        "its name names no course notebook, but its check cells are those of 05_softmax: graded as 05_softmax")
    assert identify("06_weighted_sum.ipynb", softmax, exercises)[0] == "05_softmax"
    assert identify("105_softmax.ipynb", grade.Counter(), exercises)[0] is None
    assert identify("05_softmax.ipynb", grade.Counter(), exercises) == (
        None,
        "its name says 05_softmax, but it has none of the check cells of 05_softmax nor of another course notebook")


def test_verdicts_are_read_across_messages_and_the_worst_wins():
    scan = _Scan()
    for text in ["✅ Correct: x — fine\n", "noise ❌ No", "t yet: x — wrong\n", "⏳ Not attempted yet: y\n"]:
        scan.feed({"msg_type": "stream", "content": {"name": "stdout", "text": text}})
    assert scan.found == {PASS, FAIL, TODO} and scan.verdict() == FAIL
    quiet = _Scan()
    quiet.feed({"msg_type": "error", "content": {"ename": "NameError"}})
    assert quiet.verdict() is None and quiet.error == "NameError"


def test_make_grade_needs_submissions_and_passes_the_options():
    dry = subprocess.run(["make", "-n", "--no-print-directory", "grade"], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode != 0 and "SUBMISSIONS is not set: make grade SUBMISSIONS=" in dry.stderr
    dry = subprocess.run(["make", "-n", "--no-print-directory", "grade", "SUBMISSIONS=hand in", "OUT=g.csv", "JOBS=3",
                          "TIMEOUT=9"], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert '-m course_lib.authoring.grade "hand in" --out "g.csv" --jobs 3 --timeout 9' in dry.stdout


def test_a_kernels_home_starts_with_the_graders_font_list(tmp_path, monkeypatch):
    """Each kernel's Matplotlib cache (home/.matplotlib, its MPLCONFIGDIR) starts with the grader's font list,
    so that no kernel searches the system's fonts again; with no list to copy, the folder is left to Matplotlib."""
    import matplotlib

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setattr(matplotlib, "get_cachedir", lambda: str(cache))
    with grade._work_folder(tmp_path / "work", None) as (home, _, _):
        assert not (home / ".matplotlib").exists()
    (cache / "fontlist-v390.json").write_text('{"ttflist": []}')
    with grade._work_folder(tmp_path / "work", None) as (home, _, _):
        assert (home / ".matplotlib" / "fontlist-v390.json").read_text() == '{"ttflist": []}'
        assert grade._home_env({}, home, "token")["MPLCONFIGDIR"] == str(home / ".matplotlib")
    assert not home.exists(), "the work folder is removed after the kernel"
