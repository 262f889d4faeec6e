"""course_lib.authoring.classroom and the grader's bookkeeping: who handed a file in (folders, Canvas, Moodle,
a roster), a row per student, shards and their merge, the journal a rerun resumes from. No kernel is started:
the rows are made here as the grader makes them."""

from __future__ import annotations

import csv
import json
import pathlib
import subprocess

import pytest

from course_lib.authoring import classroom, grade
from course_lib.authoring.classroom import Identity, read_identity

SOFTMAX, TEMPERATURE = "05_softmax: check_stable_softmax", "05_softmax: check_softmax_temperature"
PARK = "00_welcome: check_park_row"
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path, identity", [
    ("alice/05_softmax.ipynb", Identity("alice", "", "folder")),
    ("alice/week 3/05_softmax.ipynb", Identity("alice", "", "folder")),
    ("alice_05_softmax (1).ipynb", Identity("alice", "", "file name")),
    ("bob_12345_05_softmax.ipynb", Identity("bob", "12345", "file name")),
    ("submissions/doejane_12345_67890_05_softmax.ipynb", Identity("doejane", "12345", "Canvas file name")),
    ("doejane_LATE_12345_67890_05_softmax-1.ipynb", Identity("doejane", "12345", "Canvas file name")),
    ("Jane Doe_4711_assignsubmission_file_/05_softmax.ipynb", Identity("Jane Doe", "4711", "Moodle folder")),
    ("moodle/Jane Doe_4711_assignsubmission_file_/alice_05_softmax.ipynb", Identity("Jane Doe", "4711", "Moodle folder")),
    ("05_softmax.ipynb", None),
])
def test_who_handed_a_file_in_is_read_from_its_path(path, identity):
    assert read_identity(path, "05_softmax") == identity


def row(path: str, notebook: str = "05_softmax", **verdicts) -> grade.Graded:
    columns = {"softmax": SOFTMAX, "temperature": TEMPERATURE, "park": PARK}
    return grade.Graded(path, notebook, verdicts={columns[k]: v for k, v in verdicts.items()}, sha256="x")


EXERCISES = {"00_welcome": [grade.Exercise("00_welcome", "check_park_row", PARK, "")],
             "05_softmax": [grade.Exercise("05_softmax", "check_stable_softmax", SOFTMAX, ""),
                            grade.Exercise("05_softmax", "check_softmax_temperature", TEMPERATURE, "")]}


def read_csv(path: pathlib.Path) -> dict[str, dict]:
    with path.open(newline="", encoding="utf-8-sig") as file:
        return {r["student"]: r for r in csv.DictReader(file)}


def test_a_row_per_student_the_better_of_two_files_counts_and_unmatched_files_are_listed(tmp_path):
    rows = [row("alice_05_softmax.ipynb", softmax="❌", temperature="✅"),
            row("alice_05_softmax (1).ipynb", softmax="✅", temperature="✅"),
            row("Alice/00_welcome.ipynb", "00_welcome", park="✅"),
            row("doejane_12345_67890_05_softmax.ipynb", softmax="✅", temperature="⏳"),
            row("05_softmax.ipynb", softmax="✅", temperature="✅")]
    out = tmp_path / "files.csv"
    classroom.write_reports(rows, EXERCISES, out, None)
    students = read_csv(tmp_path / "grades.csv")
    assert sorted(students) == ["alice", "doejane"], "Alice and alice are one student; no row for the unmatched"
    alice = students["alice"]
    assert (alice["00_welcome (of 1)"], alice["05_softmax (of 2)"], alice["total (of 3)"]) == ("1", "2", "3")
    assert "2 files for 05_softmax: the better counts (alice_05_softmax (1).ipynb)" in alice["notes"]
    assert (students["doejane"]["id"], students["doejane"]["total (of 3)"]) == ("12345", "1")
    assert (tmp_path / "unmatched.txt").read_text() == "05_softmax.ipynb: no student's name in its path\n"
    summary = classroom.summary(rows, EXERCISES, out, None)
    assert "Unmatched: 1 file(s), in no student's row" in summary


def test_a_roster_maps_lms_names_to_students_and_lists_what_it_does_not_match(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student,id,email\nJane Doe,12345,jane@example.org\nBob Smith,999,bob@example.org\n"
                      "Carla Diaz,777,carla@example.org\n")
    rows = [row("doejane_12345_67890_05_softmax.ipynb", softmax="✅"),
            row("Bob Smith_999_assignsubmission_file_/05_softmax.ipynb", softmax="❌"),
            row("mallory_05_softmax.ipynb", softmax="✅")]
    read = classroom.read_roster(roster)
    classroom.write_reports(rows, EXERCISES, tmp_path / "files.csv", read)
    students = read_csv(tmp_path / "grades.csv")
    assert sorted(students) == ["Bob Smith", "Carla Diaz", "Jane Doe"]
    assert students["Jane Doe"]["total (of 2)"] == "1" and students["Carla Diaz"]["notes"] == "no file handed in"
    unmatched = (tmp_path / "unmatched.txt").read_text()
    assert unmatched == ("mallory_05_softmax.ipynb: read as 'mallory' (file name), which matches no student "
                         "of the roster\n")
    summary = classroom.summary(rows, EXERCISES, tmp_path / "files.csv", read)
    assert "of the roster, no file from: Carla Diaz" in summary


def test_a_roster_without_a_student_column_is_refused(tmp_path):
    (tmp_path / "roster.csv").write_text("name,id\nJane,1\n")
    with pytest.raises(grade.GradeError, match="has no column 'student'"):
        classroom.read_roster(tmp_path / "roster.csv")


def test_grades_say_where_a_check_scored_nothing_for_another_reason_than_the_answer(tmp_path):
    """A timed-out file or a check with no verdict loses points as a wrong answer does; grades.csv says which."""
    stopped = row("bo/05_softmax.ipynb", softmax="✅", temperature="did not run")
    stopped.status = grade.TIMED_OUT
    classroom.write_reports([stopped, row("cy/05_softmax.ipynb", softmax="no verdict", temperature="❌"),
                             row("di/05_softmax.ipynb", softmax="❌", temperature="❌")], EXERCISES,
                            tmp_path / "files.csv", None)
    students = read_csv(tmp_path / "grades.csv")
    assert students["bo"]["notes"] == "05_softmax: timed out, 1 check(s) did not run (files.csv's problems say why)"
    assert students["cy"]["notes"] == "05_softmax: 1 check(s) with no verdict (files.csv's problems say why)"
    assert students["di"]["notes"] == "", "a wrong answer is a verdict: no note"


def test_classroom_names_statuses_and_verdicts_as_the_grader_does():
    assert (classroom.GRADED, classroom.PASS) == (grade.GRADED, grade.PASS)
    assert set(classroom.UNCOUNTED) == {grade.DID_NOT_RUN, grade.NO_VERDICT}


def test_feedback_holds_each_verdicts_text(tmp_path):
    graded = row("alice/05_softmax.ipynb", softmax="❌", temperature="⏳")
    graded.texts = {SOFTMAX: "❌ Not yet: stable_softmax() — this looks like no max\n   Hint: rows"}
    graded.problems = ["timed out after 9 s in cell 4; 1 check(s) did not run"]
    classroom.write_reports([graded], EXERCISES, tmp_path / "files.csv", None)
    text = (tmp_path / "feedback" / "alice.md").read_text()
    assert text.startswith("# Feedback for alice\n\n## 05_softmax (0 of 2)")
    assert "### check_stable_softmax ❌\n\n    ❌ Not yet: stable_softmax() — this looks like no max\n       Hint: rows" in text
    assert "### check_softmax_temperature ⏳" in text and "- timed out after 9 s" in text


def test_the_tally_names_the_most_frequent_mistakes():
    rows = [row(f"s{i}/05_softmax.ipynb", softmax="❌") for i in range(4)]
    for graded, mistake in zip(rows, ["no max", "no max", "no max", "wrong axis"]):
        graded.mistakes = {SOFTMAX: mistake}
    assert classroom.tally(rows, EXERCISES) == [f"  {SOFTMAX} (4 ❌): 3× no max; 1× wrong axis"]


def test_shards_split_the_class_into_fixed_disjoint_shares():
    paths = [f"student{i}/0{i % 9}_x.ipynb" for i in range(200)]
    shares = [[p for p in paths if grade.in_shard(p, (i, 4))] for i in range(1, 5)]
    assert sorted(sum(shares, [])) == sorted(paths) and all(20 < len(share) < 80 for share in shares)
    assert grade.parse_shard("2/4") == (2, 4) and grade.parse_shard(None) == (1, 1)
    for bad in ("0/4", "5/4", "2", "a/b"):
        with pytest.raises(grade.GradeError, match="give i/N with 1 <= i <= N"):
            grade.parse_shard(bad)


def write_journal(path: pathlib.Path, rows: list[grade.Graded], cut: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(grade.dataclasses.asdict(r)) + "\n" for r in rows) + cut)


def test_merge_joins_the_shards_tables(tmp_path):
    write_journal(tmp_path / "shard-1" / "files.jsonl", [row("a/05_softmax.ipynb", softmax="✅")])
    write_journal(tmp_path / "shard-2" / "files.jsonl", [row("b/05_softmax.ipynb", softmax="❌")],
                  cut='{"path": "c/05_softm')  # a shard killed while writing a row
    out = tmp_path / "all" / "files.csv"
    assert grade.main(["--merge", str(tmp_path / "shard-1" / "files.csv"), str(tmp_path / "shard-2" / "files.csv"),
                       "--out", str(out)]) == 0
    with out.open(newline="", encoding="utf-8-sig") as file:
        table = list(csv.DictReader(file))
    assert [(r["file"], r[SOFTMAX]) for r in table] == [("a/05_softmax.ipynb", "✅"), ("b/05_softmax.ipynb", "❌")]
    assert sorted(read_csv(tmp_path / "all" / "grades.csv")) == ["a", "b"]
    assert len(grade.read_journal(tmp_path / "all" / "files.jsonl")) == 2


def test_a_rerun_keeps_what_is_done_and_gives_a_timeout_more_time_only_when_asked(tmp_path):
    """Kept: unchanged files with a row, a timeout under the same TIMEOUT (an endless loop would time out again).
    Graded again: new or changed files, rows the grader failed on or was stopped in, and a timeout under a
    shorter TIMEOUT than now (a class first graded on a busy machine), and a journal's timeout of unknown length."""
    folder = tmp_path / "class"
    names = ["done", "changed", "new", "failed", "slow", "slow_old_journal"]
    for name in names:
        (folder / name).mkdir(parents=True)
        (folder / name / "05_softmax.ipynb").write_text(f"{{}} {name}")
    paths = [folder / name / "05_softmax.ipynb" for name in names]
    sha = {name: grade._sha256(path) for name, path in zip(names, paths)}

    def old(name: str, status: str = grade.GRADED, timeout: float = 120, sha256: str = "") -> grade.Graded:
        return grade.Graded(f"{name}/05_softmax.ipynb", "05_softmax", status, sha256=sha256 or sha[name],
                            timeout=timeout)

    done = {row.path: row for row in [old("done"), old("changed", sha256="0" * 64),
                                       old("failed", grade.GRADER_ERROR), old("slow", grade.TIMED_OUT),
                                       old("slow_old_journal", grade.TIMED_OUT, timeout=0.0)]}
    todo, kept, more_time = grade.split_done(paths, folder, done, 120)
    assert [p.parent.name for p in todo] == ["changed", "new", "failed", "slow_old_journal"]
    assert [r.path for r in kept] == ["done/05_softmax.ipynb", "slow/05_softmax.ipynb"]
    assert [r.path for r in more_time] == ["slow_old_journal/05_softmax.ipynb"]
    todo, kept, more_time = grade.split_done(paths, folder, done, 300)
    assert [p.parent.name for p in todo] == ["changed", "new", "failed", "slow", "slow_old_journal"]
    assert [r.path for r in kept] == ["done/05_softmax.ipynb"]
    written = tmp_path / "files.jsonl"
    write_journal(written, [old("slow", grade.TIMED_OUT, timeout=45)])
    assert grade.read_journal(written)[0].timeout == 45, "the journal keeps each row's timeout"


def test_a_rerun_says_which_kept_rows_timed_out_and_how_to_run_them_again(tmp_path):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    path = tmp_path / "class" / "alice" / "05_softmax.ipynb"
    path.write_text("{}")
    out = tmp_path / "out" / "files.csv"
    write_journal(grade.journal_path(out), [grade.Graded("alice/05_softmax.ipynb", "05_softmax", grade.TIMED_OUT,
                                                         sha256=grade._sha256(path), timeout=120)])
    said = []
    rows = grade.grade(tmp_path / "class", out, jobs=1, timeout=120, echo=said.append, use_sandbox=False)
    assert [row.status for row in rows] == [grade.TIMED_OUT], "nothing ran: the one file was kept"
    assert any("1 notebook(s) graded by a run before are kept (REGRADE=1 grades them again); 1 of them timed out"
               " after 120 s, and a larger TIMEOUT runs those again" in line for line in said), said


def test_merge_of_a_missing_shard_is_an_error(tmp_path, capsys):
    assert grade.main(["--merge", str(tmp_path / "nowhere" / "files.csv"), "--out", str(tmp_path / "f.csv")]) == 2
    assert "does not exist; give the shards' tables" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    ({"limits": grade.sandbox.Limits(memory_mb=-1)}, r"memory_mb=-1: give a whole number, 0 for no limit"),
    ({"shard": "3/2"}, r"shard='3/2': give i/N"),
])
def test_bad_limits_and_shards_are_refused(tmp_path, change, message):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "x.ipynb").write_text("{}")
    with pytest.raises(grade.GradeError, match=message):
        grade.grade(tmp_path / "class", tmp_path / "files.csv", jobs=1, **change)


def test_make_grade_passes_the_limits_shard_roster_and_merge():
    def dry(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "-n", "--no-print-directory", "grade", *args], cwd=ROOT, capture_output=True,
                              text=True)

    made = dry("SUBMISSIONS=hand in", "MEMORY=2048", "CPU=60", "PROCESSES=64", "FILE_SIZE=16", "SHARD=2/4",
               "ROSTER=class.csv", "REGRADE=1", "SANDBOX=0")
    assert made.returncode == 0, made.stderr
    for option in ('--memory 2048', '--cpu 60', '--processes 64', '--file-size 16', '--shard 2/4',
                   '--roster "class.csv"', '--regrade', '--no-sandbox'):
        assert option in made.stdout
    merged = dry("MERGE=build/grade/shard-*/files.csv", "OUT=build/grade/files.csv")
    assert merged.returncode == 0, merged.stderr
    assert '-m course_lib.authoring.grade --merge build/grade/shard-*/files.csv --out "build/grade/files.csv"' \
        in merged.stdout
