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
maximum on the platform) as ``score / max_score * points``; two decimals at most, halves
rounded up (90.625 is 90.63, as a gradebook rounds it).
Every export refuses results of several suites: each document records the ``fingerprint`` of
the suite that graded it, and a folder whose documents do not all carry the same one (a
regrade interrupted, or still running) would mix old and new scores.
A submission the grader failed on (``error: grader_error``) gets no row: the platform
keeps what it has until ``grade --resume`` regrades it. An ungradable upload
(``error: invalid`` or ``no_files``) is worth 0 and gets its row.
"""
from __future__ import annotations

import csv
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .ingest import printable
from .report import csv_text, replaced_whole

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
    maxima: list[float] = field(default_factory=list)  # the points available in the rows written, each once


IDS_SHOWN = 5  # ids named in a refusal, before "and N more"


def one_suite(docs: list[dict]) -> None:
    """Refuse results graded by more than one suite: the documents' ``fingerprint`` must be the
    same in all (a document without one, written before fingerprints were recorded or by a regrade
    stopped half-way, counts as a fingerprint of its own). The most frequent one is taken as the
    folder's; the others are named."""
    by_print: dict[str | None, list[str]] = defaultdict(list)
    for doc in docs:
        fingerprint = doc.get("fingerprint")
        by_print[fingerprint if isinstance(fingerprint, str) and fingerprint else None].append(str(doc["student"]))
    if len(by_print) < 2:
        return
    main_print = max(by_print, key=lambda fp: (len(by_print[fp]), fp is not None, fp or ""))
    others = sorted(s for fp, students in by_print.items() if fp != main_print for s in students)
    shown = ", ".join(printable(s) for s in others[:IDS_SHOWN])
    more = f" and {len(others) - IDS_SHOWN} more" if len(others) > IDS_SHOWN else ""
    raise ExportRefused(f"{len(others)} result(s) ({shown}{more}) were graded by another version of the suite "
                        f"than the other {len(by_print[main_print])} (or before fingerprints were recorded): "
                        "run `autograder grade ... --resume` into this folder first, then export again")


def _ids(doc: dict, layout: str) -> dict | None:
    intake = doc.get("intake")
    if not isinstance(intake, dict) or intake.get("layout") != layout or not isinstance(intake.get("ids"), dict):
        return None
    return intake["ids"]


def _number(value: float) -> str:
    """Points as the platforms read them: at most two decimals, halves rounded up (90.625 is 90.63,
    not Python's 90.62), no exponent, no trailing zeros. The float's shortest decimal form is what is
    rounded: 2.675, stored as 2.67499999..., is 2.68 as a person reading it expects."""
    exact = Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{exact:f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def grade_points(doc: dict, points: float | None) -> tuple[float, float]:
    """(points earned, points available) for the platform: as graded, or scaled to ``points``."""
    score = float(doc.get("score") or 0)
    max_score = float(doc.get("max_score") or 0)
    if points is None:
        return score, max_score
    return (score / max_score * points if max_score else 0.0), float(points)


ID_NAMES = {"user_id": "user id", "participant_id": "participant id"}
LAYOUT_WORDS = {"folders": "a plain folder or zip", "canvas": "a Canvas download", "moodle": "a Moodle download",
                "gradescope": "a Gradescope download", "nbgrader": "nbgrader's submitted/"}


def _no_id(doc: dict, layout: str, id_key: str, platform: str) -> str:
    """Why a result has no platform id, as its document says: no intake at all, another
    platform's (or plain folders'), or this platform's without the id."""
    intake = doc.get("intake")
    if not isinstance(intake, dict):
        return ("its results do not record where its upload came from (no intake): grade it again with "
                f"`autograder grade ... --only {printable(str(doc['student']))}` into this folder, then export again")
    source = intake.get("layout")
    if source != layout:
        came = LAYOUT_WORDS.get(source) if isinstance(source, str) else None
        came = came or f"the layout {printable(str(source))!r}"
        return f"not from a {platform} download: it was graded from {came}"
    return f"the {platform} download gave no {ID_NAMES.get(id_key, id_key)} for it"


def _rows(docs: list[dict], layout: str, id_key: str, platform: str) -> tuple[list[tuple[dict, str]], list]:
    """The documents to write, each with its platform id; the others with the reason. Refused
    when the documents are of several suites (``one_suite``)."""
    one_suite(docs)
    chosen, left_out, seen = [], [], {}
    for doc in docs:
        ids = _ids(doc, layout)
        value = ids.get(id_key) if ids else None
        if doc.get("error") == "grader_error":
            left_out.append((doc["student"], "a grader error: regrade it with `autograder grade --resume`, "
                                             "then export again"))
        elif value is None or str(value).strip() == "":
            left_out.append((doc["student"], _no_id(doc, layout, id_key, platform)))
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
    with replaced_whole(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


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
    return Exported(Path(out), [doc["student"] for doc, _ in chosen], left_out, _maxima(chosen, points))


def _maxima(chosen: list[tuple[dict, str]], points: float | None) -> list[float]:
    """The points available in the rows written, each once (an ungradable upload's unknown maximum aside)."""
    return sorted({available for doc, _ in chosen if (available := grade_points(doc, points)[1])})


def moodle_time(when: datetime) -> str:
    """A time Moodle's import reads (PHP strtotime) without doubt: ISO 8601 with its UTC offset."""
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def comment(doc: dict) -> str:
    """The feedback comment: the points, or why the upload could not be graded. Never the result's
    ``output`` of a graded submission, which may quote a hidden test's skip reason."""
    if doc.get("error") and doc.get("error") != "grader_error" and not doc.get("tests"):  # invalid, no_files, ...
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
    return Exported(Path(out), [doc["student"] for doc, _ in chosen], left_out, _maxima(chosen, points))


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
    one_suite(docs)
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
