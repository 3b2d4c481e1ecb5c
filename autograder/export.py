"""Grades back to the LMS: the gradebook import files of Canvas and Moodle.

Both files are built from the results documents of a batch graded from the platform's own
download, whose ``intake`` records the platform's ids of each student (``grade`` writes it):

- Canvas, Gradebook > Import (CSV): the columns of Canvas's own gradebook export,
  ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column for the assignment,
  named as the export names it, ``Title (assignment id)``. Canvas matches a row to a
  student by ``ID`` (the Canvas user id, which the submissions download carries in its
  file names) and the column to an assignment by the id in parentheses; a header with no
  id is matched by title, or makes a new assignment (the import's preview says which).
  No "Points Possible" row is written: on import it would change the assignment's points.
- Moodle, Assignment > View all submissions > Upload grading worksheet (the offline
  grading worksheet): ``Identifier`` (``Participant <id>``, the participant id that the
  "Download all submissions" folder names carry), ``Grade``, ``Last modified (grade)``
  (which Moodle compares with its own: a grade changed in Moodle after that time is kept
  unless the upload ticks "Ignore last modified date"), and ``Feedback comments`` (the
  points, or why the upload could not be graded), with the worksheet's other columns
  beside them (Moodle ignores those on import). The headers are Moodle's English
  strings: upload with the interface in English.

Grades are points: the document's score, or scaled to ``points`` (the assignment's
maximum on the platform) as ``score / max_score * points``; two decimals at most.
A submission the grader failed on (``error: grader_error``) gets no row: the platform
keeps what it has until ``grade --resume`` regrades it. An ungradable upload
(``error: invalid`` or ``no_files``) is worth 0 and gets its row.
"""
from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .ingest import printable
from .report import csv_text

CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
MOODLE_PARTICIPANT = "Participant "  # Moodle's string 'hiddenuser' (English), stripped from Identifier on import


class ExportRefused(ValueError):
    """The results cannot make this platform's file; the message says what to do."""


@dataclass
class Exported:
    path: Path
    written: list[str] = field(default_factory=list)  # student ids, one row each
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (student id, why)


def _ids(doc: dict, layout: str) -> dict | None:
    intake = doc.get("intake")
    if not isinstance(intake, dict) or intake.get("layout") != layout or not isinstance(intake.get("ids"), dict):
        return None
    return intake["ids"]


def _number(value: float) -> str:
    """Points as the platforms read them: at most two decimals, no exponent, no trailing zeros."""
    text = f"{round(float(value), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def grade_points(doc: dict, points: float | None) -> tuple[float, float]:
    """(points earned, points available) for the platform: as graded, or scaled to ``points``."""
    score = float(doc.get("score") or 0)
    max_score = float(doc.get("max_score") or 0)
    if points is None:
        return score, max_score
    return (score / max_score * points if max_score else 0.0), float(points)


def _rows(docs: list[dict], layout: str, id_key: str, platform: str) -> tuple[list[tuple[dict, str]], list]:
    """The documents to write, each with its platform id; the others with the reason."""
    chosen, left_out, seen = [], [], {}
    for doc in docs:
        ids = _ids(doc, layout)
        value = ids.get(id_key) if ids else None
        if doc.get("error") == "grader_error":
            left_out.append((doc["student"], "a grader error: regrade it with `autograder grade --resume`, "
                                             "then export again"))
        elif value is None or str(value).strip() == "":
            left_out.append((doc["student"], f"no {platform} id in its results (not from a {platform} download)"))
        elif not str(value).strip().isdigit():
            left_out.append((doc["student"], f"its {platform} id {printable(str(value))!r} is not a number"))
        else:
            value = str(value).strip()
            if value in seen:
                raise ExportRefused(f"two results carry the {platform} id {value} ({printable(seen[value])} and "
                                    f"{printable(doc['student'])}): keep one of them and export again")
            seen[value] = doc["student"]
            chosen.append((doc, value))
    if not chosen and not any(doc.get("error") == "grader_error" and _ids(doc, layout) for doc in docs):
        raise ExportRefused(f"these results carry no {platform} ids: grade the {platform} download itself "
                            f"(the folder or zip {platform} gives), then export its results")
    return chosen, left_out


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)


def canvas_csv(docs: list[dict], assignment_title: str, out: Path, points: float | None = None) -> Exported:
    """Write Canvas's gradebook import CSV for one assignment. ``assignment_title`` is the header
    of its column: best the one Canvas's gradebook export shows, ``"Backprop (12345)"``."""
    if not assignment_title.strip():
        raise ExportRefused("the assignment's column needs a name, e.g. --assignment-column 'Backprop (12345)'")
    chosen, left_out = _rows(docs, "canvas", "user_id", "Canvas")
    rows = []
    for doc, user_id in chosen:
        earned, _ = grade_points(doc, points)
        rows.append([csv_text(str(doc.get("name") or "")), user_id, "", "", "", _number(earned)])
    _write(out, CANVAS_STUDENT_COLUMNS + [assignment_title], rows)
    return Exported(Path(out), [doc["student"] for doc, _ in chosen], left_out)


def moodle_time(when: datetime) -> str:
    """A time Moodle's import reads (PHP strtotime) without doubt: ISO 8601 with its UTC offset."""
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def comment(doc: dict) -> str:
    """The feedback comment: the points, or why the upload could not be graded. Never the result's
    ``output`` of a graded submission, which may quote a hidden test's skip reason."""
    if doc.get("error") in ("invalid", "no_files") and not doc.get("tests"):
        return str(doc.get("output") or "Your upload could not be graded.")
    return f"Autograder: {float(doc.get('score') or 0):g} / {float(doc.get('max_score') or 0):g} points."


def moodle_csv(docs: list[dict], out: Path, points: float | None = None, modified: datetime | None = None,
               comments: bool = True) -> Exported:
    """Write Moodle's grading worksheet for one assignment. ``modified`` is the time the grades
    were made (default: now): Moodle keeps a grade that was changed after it. ``comments``: fill
    the Feedback comments column with the result's summary (without it, the column is left out and
    Moodle's comments stay as they are)."""
    chosen, left_out = _rows(docs, "moodle", "participant_id", "Moodle")
    stamp = moodle_time(modified or datetime.now(timezone.utc))
    header = MOODLE_COLUMNS if comments else MOODLE_COLUMNS[:-1]
    rows = []
    for doc, participant in chosen:
        earned, available = grade_points(doc, points)
        ids = _ids(doc, "moodle") or {}
        row = [MOODLE_PARTICIPANT + participant, csv_text(str(doc.get("name") or "")),
               csv_text(str(ids.get("email") or "")), "", _number(earned), _number(available), "Yes", "", stamp]
        if comments:
            row.append(csv_text(comment(doc)))
        rows.append(row)
    _write(out, header, rows)
    return Exported(Path(out), [doc["student"] for doc, _ in chosen], left_out)


NBGRADER_NOTEBOOK = "autograder"  # the notebook (and its one grade cell) that holds the engine's score in nbgrader


def nbgrader_gradebook(docs: list[dict], url: str, assignment: str) -> Exported:
    """Write the scores into nbgrader's gradebook (nbgrader's own API, ``nbgrader.api.Gradebook``).

    Each result becomes the ``auto_score`` of the grade cell ``autograder`` of a notebook ``autograder``
    in the nbgrader assignment ``assignment`` (made when missing; its ``max_score`` is the results'
    maximum), in the student's submission (made when missing). nbgrader adds it to the student's total
    with the assignment's notebook grades, and formgrader shows it; a manual score set there overrides
    it. The student is nbgrader's student id (``intake.ids.student_id`` of a grade of nbgrader's
    submitted/), else the results' student id. Grader errors are left out, as for the other platforms.
    """
    try:
        from nbgrader.api import Gradebook, MissingEntry, SubmittedNotebook, Grade
    except ImportError:
        raise ExportRefused("nbgrader is not installed: pip install 'dl-autograder[nbgrader]'") from None
    chosen, left_out = [], []
    for doc in docs:
        ids = _ids(doc, "nbgrader") or {}
        student = str(ids.get("student_id") or doc.get("student") or "").strip()
        if doc.get("error") == "grader_error":
            left_out.append((doc["student"], "a grader error: regrade it with `autograder grade --resume`, "
                                             "then export again"))
        elif not student:
            left_out.append((doc.get("student", "?"), "no student id"))
        else:
            chosen.append((doc, student))
    maxima = [float(d["max_score"]) for d, _ in chosen if d.get("max_score")]
    if not maxima:
        raise ExportRefused("no graded result to export (every one is a grader error, or none has a maximum)")
    top = max(maxima)
    # nbgrader makes a new gradebook's tables by running `alembic`, found on PATH: the one beside this
    # Python (a virtual environment's bin/, which is not on PATH unless activated).
    bin_dir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path
    with Gradebook(url) as gb:
        gb.update_or_create_assignment(assignment)
        gb.update_or_create_notebook(NBGRADER_NOTEBOOK, assignment)
        cell = gb.update_or_create_grade_cell(NBGRADER_NOTEBOOK, NBGRADER_NOTEBOOK, assignment,
                                              max_score=top, cell_type="code")
        notebook = gb.find_notebook(NBGRADER_NOTEBOOK, assignment)
        for doc, student in chosen:
            gb.update_or_create_student(student)
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                submission = gb.add_submission(assignment, student)
            try:
                grade = gb.find_grade(NBGRADER_NOTEBOOK, NBGRADER_NOTEBOOK, assignment, student)
            except MissingEntry:  # a submission made before the notebook was: give it the notebook and cell
                try:
                    submitted = gb.find_submission_notebook(NBGRADER_NOTEBOOK, assignment, student)
                except MissingEntry:
                    submitted = SubmittedNotebook(notebook=notebook, assignment=submission)
                    gb.db.add(submitted)
                grade = Grade(cell_id=cell.id, notebook=submitted)
                gb.db.add(grade)
            grade.auto_score = float(doc.get("score") or 0)
            grade.needs_manual_grade = False
            gb.db.commit()
    return Exported(Path(url), [doc["student"] for doc, _ in chosen], left_out)
