"""Grades back to the LMS: Canvas's gradebook import CSV and Moodle's grading worksheet, row by row;
the refusal without the platform's ids; the ``autograder export`` command."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from autograder import cli
from autograder.cli import main
from autograder.export import (ExportRefused, _number, canvas_csv, grade_points, moodle_csv, moodle_time,
                               nbgrader_gradebook, one_suite)


def result(student: str, score: float, max_score: float | None = 64.0, layout: str | None = "canvas",
           ids: dict | None = None, **extra) -> dict:
    # The output quotes a skip reason, which may be a hidden test's: it never reaches a feedback comment.
    doc = {"assignment": "backprop", "student": student, "score": score, "max_score": max_score,
           "output": f"{score:g} / {max_score or 0:g} points; 1 test(s) skipped (secret)", "tests": [{}],
           "mistakes": []}
    if layout:
        doc["intake"] = {"layout": layout, "ids": ids or {}, "matched": {}, "ignored": [], "notes": []}
    doc.update(extra)
    return doc


def canvas_class() -> list[dict]:
    return [
        result("5170001", 64, ids={"user_id": "5170001", "attachment_id": "91"}, name="silvaana"),
        result("5170002", 53, ids={"user_id": "5170002", "attachment_id": "92"}, name="=HYPERLINK(\"x\")"),
        result("5170003", 0, None, ids={"user_id": "5170003"}, error="invalid", name="müllerchloé",
               output="could not open the zip", tests=[]),
        result("5170004", 12, ids={"user_id": "5170004"}, error="grader_error"),
        result("alice", 64, layout="folders"),
        result("bob", 60, layout=None),  # no intake at all: a document written before intake was
    ]


def moodle_class() -> list[dict]:
    return [
        result("100001", 64, layout="moodle", ids={"participant_id": "100001"}, name="Ana Silva"),
        result("100002", 49.5, layout="moodle", ids={"participant_id": "100002"}, name="Ben, Okafor"),
        result("100003", 0, layout="moodle", ids={"participant_id": "100003"}, name="Chloé Müller",
               error="no_files", output="no backprop.py in your upload", tests=[]),
        result("100004", 12, layout="moodle", ids={"participant_id": "100004"}, error="grader_error"),
    ]


def rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_canvas_rows(tmp_path):
    out = tmp_path / "canvas.csv"
    done = canvas_csv(canvas_class(), "Backprop (12345)", out)
    assert rows(out) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Backprop (12345)"],
        ["silvaana", "5170001", "", "", "", "64"],
        ["'=HYPERLINK(\"x\")", "5170002", "", "", "", "53"],  # a name a spreadsheet would run is quoted
        ["müllerchloé", "5170003", "", "", "", "0"],  # an ungradable upload is worth 0
    ]
    assert done.written == ["5170001", "5170002", "5170003"]
    # Each left-out student with the reason its own document gives.
    assert done.left_out == [
        ("5170004", "a grader error: regrade it with `autograder grade --resume`, then export again"),
        ("alice", "not from a Canvas download: it was graded from a plain folder or zip"),
        ("bob", "its results do not record where its upload came from (no intake): grade it again with "
                "`autograder grade ... --only bob` into this folder, then export again"),
    ]
    assert done.maxima == [64.0]
    # The header is what Canvas's importer looks for: Student, ID, then SIS User ID and SIS Login ID
    # side by side, the student columns ending with Section.
    header = rows(out)[0]
    assert "Student" in header[0] and "ID" in header[1] and header[2:4] == ["SIS User ID", "SIS Login ID"]
    assert "Section" in header[4]
    assert out.read_bytes().startswith(b"Student,ID,") and b"\r\n" in out.read_bytes()


def test_canvas_scaled_points(tmp_path):
    out = tmp_path / "canvas.csv"
    canvas_csv(canvas_class()[:3], "Backprop", out, points=10)
    assert [r[5] for r in rows(out)] == ["Backprop", "10", "8.28", "0"]  # 53 / 64 * 10 = 8.28125


def test_halves_round_up(tmp_path):
    """58 / 64 * 100 = 90.625 is 90.63, as a gradebook shows it (Python's round gives 90.62)."""
    out = tmp_path / "canvas.csv"
    done = canvas_csv([result("5170001", 58, ids={"user_id": "5170001"}),
                       result("5170002", 0.2, 64, ids={"user_id": "5170002"})], "Backprop", out, points=100)
    assert [r[5] for r in rows(out)] == ["Backprop", "90.63", "0.31"]  # 0.3125 -> 0.31
    assert done.maxima == [100.0]
    assert [_number(v) for v in (90.625, 2.675, 0.005, 0.0049, 77.34375, -0.0, 64.0, 1e-9)] == \
        ["90.63", "2.68", "0.01", "0", "77.34", "0", "64", "0"]


def test_moodle_rows(tmp_path):
    out = tmp_path / "worksheet.csv"
    when = datetime(2025, 3, 14, 15, 9, 26, tzinfo=timezone(timedelta(hours=1)))
    done = moodle_csv(moodle_class(), out, points=100, modified=when)
    assert rows(out) == [
        ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
         "Last modified (submission)", "Last modified (grade)", "Feedback comments"],
        ["Participant 100001", "Ana Silva", "", "", "100", "100", "Yes", "", "2025-03-14T14:09:26+00:00",
         "Autograder: 64 / 64 points."],
        ["Participant 100002", "Ben, Okafor", "", "", "77.34", "100", "Yes", "", "2025-03-14T14:09:26+00:00",
         "Autograder: 49.5 / 64 points."],
        ["Participant 100003", "Chloé Müller", "", "", "0", "100", "Yes", "", "2025-03-14T14:09:26+00:00",
         "no backprop.py in your upload"],
    ]
    assert done.left_out[0][0] == "100004"
    assert b'"Ben, Okafor"' in out.read_bytes()


def test_moodle_without_comments_and_unscaled(tmp_path):
    out = tmp_path / "worksheet.csv"
    moodle_csv(moodle_class()[:2], out, modified=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc), comments=False)
    assert rows(out) == [
        ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
         "Last modified (submission)", "Last modified (grade)"],
        ["Participant 100001", "Ana Silva", "", "", "64", "64", "Yes", "", "2025-01-02T03:04:05+00:00"],
        ["Participant 100002", "Ben, Okafor", "", "", "49.5", "64", "Yes", "", "2025-01-02T03:04:05+00:00"],
    ]


def test_refused_without_the_platform_ids(tmp_path):
    plain = [result("alice", 64, layout="folders", ids={"student_id": "alice"}), result("bob", 3, layout=None)]
    with pytest.raises(ExportRefused, match="^these results carry no Canvas ids: grade the Canvas download itself"):
        canvas_csv(plain, "Backprop", tmp_path / "c.csv")
    with pytest.raises(ExportRefused, match="^these results carry no Moodle ids: grade the Moodle download itself"):
        moodle_csv(canvas_class(), tmp_path / "m.csv")
    with pytest.raises(ExportRefused, match="no Canvas ids"):
        canvas_csv(moodle_class(), "Backprop", tmp_path / "c.csv")
    assert not (tmp_path / "c.csv").exists() and not (tmp_path / "m.csv").exists()


def test_no_id_reasons(tmp_path):
    """A result of this platform's download without the id, or of another platform's, says which."""
    docs = [result("5170001", 64, ids={"user_id": "5170001"}),
            result("5170002", 10, ids={"attachment_id": "92"}),
            result("100001", 10, layout="moodle", ids={"participant_id": "100001"}),
            result("x", 10, layout="something new")]
    done = canvas_csv(docs, "Backprop", tmp_path / "c.csv")
    assert done.left_out == [("5170002", "the Canvas download gave no user id for it"),
                             ("100001", "not from a Canvas download: it was graded from a Moodle download"),
                             ("x", "not from a Canvas download: it was graded from the layout 'something new'")]
    done = moodle_csv(docs, tmp_path / "m.csv")
    assert done.written == ["100001"]
    assert done.left_out[0] == ("5170001", "not from a Moodle download: it was graded from a Canvas download")


def mixed_suites() -> list[dict]:
    """A regrade stopped half-way: 3 results of the new suite, 2 of the old, 2 without a fingerprint
    (written before the document was complete), as the trial found it."""
    old, new = "sha256:00000000000000000001", "sha256:00000000000000000002"
    return ([result(f"51700{i:02d}", 60, ids={"user_id": f"51700{i:02d}"}, fingerprint=new) for i in (1, 2, 3)]
            + [result(f"51700{i:02d}", 66, 66, ids={"user_id": f"51700{i:02d}"}, fingerprint=old) for i in (4, 5)]
            + [result(f"51700{i:02d}", 53, 65) for i in (6, 7)])


MIXED_REFUSAL = ("4 result(s) (5170004, 5170005, 5170006, 5170007) were graded by another version of the suite "
                 "than the other 3 (or before fingerprints were recorded): run `autograder grade ... --resume` "
                 "into this folder first, then export again")


def test_refused_for_mixed_suites(tmp_path):
    docs = mixed_suites()
    for export in (lambda: canvas_csv(docs, "Backprop", tmp_path / "c.csv"),
                   lambda: moodle_csv(docs, tmp_path / "m.csv"),
                   lambda: nbgrader_gradebook(docs, f"sqlite:///{tmp_path / 'gb.db'}", "backprop")):
        with pytest.raises(ExportRefused) as refused:
            export()
        assert str(refused.value) == MIXED_REFUSAL
    assert not list(tmp_path.iterdir())  # no file, no gradebook
    # A fingerprint missing from the documents counts as one of its own: it is refused too, even when
    # the rest agree (the results that lack intake because a regrade stopped are never "left out").
    same = [result(f"51700{i:02d}", 60, ids={"user_id": f"51700{i:02d}"}, fingerprint="sha256:a")
            for i in range(1, 10)] + [result("5170010", 53)]
    with pytest.raises(ExportRefused, match=r"^1 result\(s\) \(5170010\) were graded by another version of the "
                                            r"suite than the other 9 \(or before"):
        canvas_csv(same, "Backprop", tmp_path / "c.csv")
    # Many: a few ids, then how many more.
    many = [result(f"s{i:02d}", 1, fingerprint="sha256:a") for i in range(9)] + \
        [result(f"t{i:02d}", 1, fingerprint="sha256:b") for i in range(7)]
    with pytest.raises(ExportRefused) as refused:
        one_suite(many)
    assert str(refused.value).startswith("7 result(s) (t00, t01, t02, t03, t04 and 2 more) were graded by another "
                                         "version of the suite than the other 9 (or before")
    # One suite, or none recorded at all (results of an older version): exported as usual.
    one_suite([result("a", 1, fingerprint="sha256:a"), result("b", 2, fingerprint="sha256:a")])
    one_suite([result("a", 1), result("b", 2)])


def test_refused_for_a_duplicate_id(tmp_path):
    twice = [result("a", 1, ids={"user_id": "7"}), result("b", 2, ids={"user_id": "7"})]
    with pytest.raises(ExportRefused, match="two results carry the Canvas id 7"):
        canvas_csv(twice, "Backprop", tmp_path / "c.csv")


def test_numbers():
    assert grade_points({"score": 53, "max_score": 64}, None) == (53, 64)
    assert grade_points({"score": 0, "max_score": None}, 10) == (0, 10)
    assert moodle_time(datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)) == "2025-06-01T12:00:00+00:00"


def write_results(folder: Path, docs: list[dict]) -> Path:
    folder.mkdir()
    for doc in docs:
        (folder / f"{doc['student']}.json").write_text(json.dumps(doc))
    (folder / "grades.csv").write_text("student,score\n")
    return folder


def test_export_command(tmp_path, monkeypatch):
    notes = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=notes, width=300))  # the command's notes go to stderr
    canvas = write_results(tmp_path / "canvas", canvas_class())
    runner = CliRunner()
    res = runner.invoke(main, ["export", "canvas", str(canvas), "--out", str(tmp_path / "c.csv"),
                               "--assignment-column", "Backprop (12345)", "--points", "100"])
    assert res.exit_code == 0, res.output
    assert "canvas: 3 grade(s) written" in res.output and "left out: 5170004: a grader error" in notes.getvalue()
    assert "warning: no --points" not in notes.getvalue()
    assert rows(tmp_path / "c.csv")[1] == ["silvaana", "5170001", "", "", "", "100"]
    res = runner.invoke(main, ["export", "canvas", str(canvas), "--out", str(tmp_path / "c.csv"),
                               "--assignment-column", "Backprop (12345)"])
    assert res.exit_code == 0, res.output
    assert ("warning: no --points: the grades are out of 64, the points as graded. Canvas takes them as they are "
            "against the assignment's \"Points possible\": pass those points as --points (e.g. --points 100) to "
            "scale the grades to them.") in " ".join(notes.getvalue().split())  # as one line, not wrapped

    moodle = write_results(tmp_path / "moodle", moodle_class())
    notes.truncate(0)
    notes.seek(0)
    res = runner.invoke(main, ["export", "moodle", str(moodle), "--out", str(tmp_path / "m.csv"), "--no-comments"])
    assert res.exit_code == 0, res.output
    assert " ".join(notes.getvalue().split()).endswith(
        "left out: 100004: a grader error: regrade it with `autograder grade --resume`, then export again "
        "warning: no --points: the grades are out of 64, the points as graded. Moodle skips every grade above the "
        "assignment's \"Maximum grade\" (100 unless changed), and takes the others on its own scale: pass that "
        "maximum grade as --points (e.g. --points 100) to scale the grades to it.")
    first = rows(tmp_path / "m.csv")[1]
    assert first[:8] == ["Participant 100001", "Ana Silva", "", "", "64", "64", "Yes", ""]
    graded = datetime.fromisoformat(first[8])
    assert graded.utcoffset() == timedelta(0)
    assert abs(graded.timestamp() - (moodle / "100001.json").stat().st_mtime) < 1  # the time of grading

    res = runner.invoke(main, ["export", "moodle", str(canvas), "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 1
    assert "these results carry no Moodle ids: grade the Moodle download itself" in res.output
    assert not (tmp_path / "x.csv").exists()

    mixed = write_results(tmp_path / "mixed", mixed_suites())
    for platform in ("canvas", "moodle"):
        res = runner.invoke(main, ["export", platform, str(mixed), "--out", str(tmp_path / "x.csv"),
                                   "--assignment-column", "Backprop (12345)", "--points", "100"])
        assert res.exit_code == 1
        assert " ".join(res.output.split()) == f"Error: {MIXED_REFUSAL}"
        assert not (tmp_path / "x.csv").exists()


def test_comment_of_any_ungradable_upload():
    from autograder.export import comment

    assert comment(result("a", 0, error="no_files", output="no backprop.py in your upload", tests=[])) == \
        "no backprop.py in your upload"
    assert comment(result("a", 0, error="too_big", output="the upload is over 20 MB", tests=[])) == \
        "the upload is over 20 MB"  # an error value this version does not know is still an ungradable upload
    assert comment(result("a", 53)) == "Autograder: 53 / 64 points."
