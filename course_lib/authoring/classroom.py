"""What an instructor uses from `make grade`: a row per student, feedback per student, the mistakes to re-teach.

From the per-file rows of ``grade.py`` it writes, beside the per-file table:

* ``grades.csv``: one row per student, the points per course notebook (one per ✅ exercise), the total, the
  files it counted and notes (two files of one notebook: the better counts; a student of the roster with no file;
  a file that timed out, or checks that did not run or got no verdict);
* ``feedback/<student>.md``: each exercise's verdict, with the check's own text, ready to send back;
* ``unmatched.txt``: the files no student could be read from (or, with a roster, no roster student matched) —
  listed, never merged into someone's row;

and prints a tally per exercise of the most frequent named mistakes.

Who handed a file in is read, first that applies, from: a Moodle folder (``Full Name_12345_assignsubmission_file_/…``),
a Canvas file name (``lastfirst_12345_67890_05_softmax.ipynb``, ``lastfirst_LATE_…``), the file name before the course
notebook's (``alice_05_softmax (1).ipynb``, ``bob_12345_05_softmax.ipynb``), the first folder (``alice/05_softmax.ipynb``).
A ``ROSTER`` CSV (a header; a column ``student``, the name to show; any other columns — id, login, e-mail, full name — are
other names of the same student) maps what was read to a student of the class.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import pathlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from course_lib.authoring.grade import Exercise, Graded

PASS = "✅"
# as course_lib.authoring.grade names them: a file's status, and the verdicts that no answer decided
GRADED, UNCOUNTED = "graded", {"did not run": "did not run", "no verdict": "with no verdict"}
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[A-Za-z]*_?$")
CANVAS = re.compile(r"^(?P<name>[a-z][a-z0-9-]*?)(?:_late)?_(?P<id>\d+)_(?P<submission>\d+)_(?P<file>.+)$", re.I)
TRAILING_ID = re.compile(r"^(?P<name>.*?)[_ -]+(?P<id>\d+)$")


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who a file says handed it in, and how that was read."""

    name: str
    number: str = ""  # an LMS user id, where the name holds one
    how: str = ""  # "Moodle folder", "Canvas file name", "file name", "folder"


def read_identity(relative: str, notebook: str = "") -> Identity | None:
    """Who handed in the file at ``relative`` (its path in the submissions, with "/"); None if nothing says."""
    parts = relative.split("/")
    for folder in parts[:-1]:
        found = MOODLE.match(folder)
        if found:
            return Identity(found["name"].strip(), found["id"], "Moodle folder")
    file = parts[-1]
    found = CANVAS.match(file)
    if found and (not notebook or notebook in found["file"]):
        return Identity(found["name"], found["id"], "Canvas file name")
    if notebook and notebook in file:
        before = file[: file.index(notebook)].strip("_- .")
        if before:
            trailing = TRAILING_ID.match(before)
            if trailing and trailing["name"]:
                return Identity(trailing["name"], trailing["id"], "file name")
            return Identity(before, "", "file name")
    if len(parts) > 1:
        return Identity(parts[0], "", "folder")
    return None


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


@dataclasses.dataclass
class Roster:
    """The class: each student's name to show, and every other name that identifies them."""

    students: list[str]
    aliases: dict[str, set[str]]  # key of a name -> the students it names

    def find(self, identity: Identity) -> list[str]:
        """The roster students an identity names (one, or none; more than one is ambiguous)."""
        found: set[str] = set()
        for text in (identity.number, identity.name):
            if text:
                found |= self.aliases.get(_key(text), set())
            if found:
                break
        return sorted(found)



def read_roster(path: pathlib.Path) -> Roster:
    """The roster in the CSV at ``path``: a header with a column ``student``; other columns are aliases."""
    from course_lib.authoring.grade import GradeError

    try:
        with pathlib.Path(path).open(newline="", encoding="utf-8-sig") as file:
            rows = list(csv.DictReader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise GradeError(f"roster={str(path)!r} cannot be read ({type(err).__name__})") from None
    if not rows or "student" not in rows[0]:
        raise GradeError(f"roster={str(path)!r} has no column 'student' (a header line, then a student per line)")
    students, aliases = [], collections.defaultdict(set)
    for row in rows:
        student = (row.get("student") or "").strip()
        if not student:
            continue
        students.append(student)
        names = [value.strip() for value in row.values() if isinstance(value, str) and value.strip()]
        for name in names:
            aliases[_key(name)].add(student)
            words = name.split()
            if len(words) > 1:  # Canvas writes "Jane Doe" as "doejane"
                aliases[_key(words[-1] + "".join(words[:-1]))].add(student)
    return Roster(students, dict(aliases))


@dataclasses.dataclass
class Student:
    name: str
    number: str = ""
    files: dict[str, list["Graded"]] = dataclasses.field(default_factory=dict)  # notebook -> its rows


def students_of(rows: list["Graded"], roster: Roster | None) -> tuple[dict[str, Student], list[tuple["Graded", str]]]:
    """The students of the graded rows (by the name shown), and the rows no student was read from, with why."""
    students: dict[str, Student] = {name: Student(name) for name in (roster.students if roster else [])}
    unmatched = []
    for row in rows:
        if not row.notebook:
            continue
        identity = read_identity(row.path, row.notebook)
        if identity is None:
            unmatched.append((row, "no student's name in its path"))
            continue
        if roster is None:
            name, number = identity.name, identity.number
            key = next((s for s in students if _key(s) == _key(name)), name)
        else:
            found = roster.find(identity)
            if len(found) != 1:
                why = "matches no student of the roster" if not found else f"matches {len(found)} roster students"
                unmatched.append((row, f"read as {identity.name!r} ({identity.how}), which {why}"))
                continue
            key, number = found[0], identity.number
        student = students.setdefault(key, Student(key))
        student.number = student.number or number
        student.files.setdefault(row.notebook, []).append(row)
    return students, unmatched


def points(row: "Graded") -> int:
    return sum(value == PASS for value in row.verdicts.values())


def write_reports(rows: list["Graded"], exercises: dict[str, list["Exercise"]], out: pathlib.Path,
                  roster: Roster | None) -> None:
    """grades.csv, feedback/ and unmatched.txt beside ``out``, from ``rows``; each replaced whole."""
    students, unmatched = students_of(rows, roster)
    notebooks = [stem for stem in exercises if any(row.notebook == stem for row in rows)]
    folder = pathlib.Path(out).parent
    folder.mkdir(parents=True, exist_ok=True)
    grades = folder / ("grades.csv" if pathlib.Path(out).name != "grades.csv" else "students.csv")
    partial = grades.with_name(grades.name + ".partial")
    most = {stem: len(exercises[stem]) for stem in notebooks}
    with partial.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "id"] + [f"{stem} (of {most[stem]})" for stem in notebooks]
                        + [f"total (of {sum(most.values())})", "files", "notes"])
        for student in sorted(students.values(), key=lambda s: s.name.casefold()):
            counted, notes, cells = [], [], []
            for stem in notebooks:
                files = student.files.get(stem, [])
                best = max(files, key=lambda row: (points(row), row.path), default=None)
                cells.append(points(best) if best else "")
                if best:
                    counted.append(best.path)
                if len(files) > 1:
                    notes.append(f"{len(files)} files for {stem}: the better counts ({best.path})")
                if best is not None:  # checks that scored nothing for a reason other than the answer
                    lost = [best.status] if best.status != GRADED else []
                    lost += [f"{n} check(s) {what}" for value, what in UNCOUNTED.items()
                             if (n := sum(v == value for v in best.verdicts.values()))]
                    if lost:
                        notes.append(f"{stem}: {', '.join(lost)} (files.csv's problems say why)")
            if not counted:
                notes.append("no file handed in")
            writer.writerow([_cell(student.name), student.number] + cells
                             + [sum(c for c in cells if c != ""), _cell("; ".join(counted)), _cell("; ".join(notes))])
    partial.replace(grades)
    _write_feedback(students, exercises, folder / "feedback")
    lines = [f"{row.path}: {why}" for row, why in unmatched]
    (folder / "unmatched.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def slug(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("._")[:80] or "student"


def _write_feedback(students: dict[str, Student], exercises: dict[str, list["Exercise"]],
                    folder: pathlib.Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    written = set()
    for student in sorted(students.values(), key=lambda s: s.name):
        name = slug(student.name)
        while name in written:
            name += "_"
        written.add(name)
        lines = [f"# Feedback for {student.name}", ""]
        for stem, rows in student.files.items():
            for row in sorted(rows, key=lambda r: r.path):
                lines += [f"## {stem} ({points(row)} of {len(exercises.get(stem, []))})", "",
                          f"File: `{row.path}`" + (f" — {row.status}" if row.status != "graded" else ""), ""]
                for exercise in exercises.get(stem, []):
                    value = row.verdicts.get(exercise.column, "")
                    lines.append(f"### {exercise.check} {value}")
                    text = row.texts.get(exercise.column, "")
                    if not text:  # no verdict of the check's own: what the grader noted about it, if anything
                        text = "\n".join(problem.removeprefix(f"{exercise.column}: ") for problem in row.problems
                                          if problem.startswith(f"{exercise.column}: "))
                    lines += ["", *("    " + line for line in text.splitlines()), ""] if text else [""]
                if row.problems:
                    lines += ["Notes from the grader:", "", *(f"- {problem}" for problem in row.problems), ""]
        if not student.files:
            lines += ["No notebook of yours was found among the files handed in.", ""]
        partial = folder / f"{name}.md.partial"
        partial.write_text("\n".join(lines), encoding="utf-8")
        partial.replace(folder / f"{name}.md")


def tally(rows: list["Graded"], exercises: dict[str, list["Exercise"]], top: int = 3) -> list[str]:
    """Per exercise with a ❌, its most frequent named mistakes: what to re-teach."""
    lines = []
    for stem, notebook in exercises.items():
        for exercise in notebook:
            mistakes = collections.Counter(row.mistakes[exercise.column] for row in rows
                                           if exercise.column in row.mistakes)
            if mistakes:
                wrong = sum(mistakes.values())
                shown = "; ".join(f"{count}× {mistake}" for mistake, count in mistakes.most_common(top))
                lines.append(f"  {exercise.column} ({wrong} ❌): {shown}")
    return lines


def summary(rows: list["Graded"], exercises: dict[str, list["Exercise"]], out: pathlib.Path,
            roster: Roster | None) -> str:
    """The tally of named mistakes, the students, and what was not matched to one."""
    students, unmatched = students_of(rows, roster)
    folder = pathlib.Path(out).parent
    grades = folder / ("grades.csv" if pathlib.Path(out).name != "grades.csv" else "students.csv")
    lines = ["", "Most frequent mistakes (what to re-teach):", *(tally(rows, exercises) or ["  none"]), "",
             f"Students: {len(students)} in {grades}; feedback in {folder / 'feedback'}"]
    absent = [s.name for s in students.values() if not s.files]
    if absent:
        lines.append(f"  of the roster, no file from: {', '.join(sorted(absent))}")
    if unmatched:
        lines.append(f"Unmatched: {len(unmatched)} file(s), in no student's row ({folder / 'unmatched.txt'}):")
        lines += [f"  {row.path}: {why}" for row, why in unmatched]
    return "\n".join(lines)
