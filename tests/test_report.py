"""Tests of autograder.report: gradebook CSV, tables, feedback."""
from __future__ import annotations

import csv
import re

import pytest
from rich.console import Console

from autograder import report
from autograder.grade import error_document

HEADER = ["student", "name", "score", "max_score", "percent", "tests_passed", "tests", "mistakes", "error",
          "points_not_graded"]


def t(name, outcome, score, max_score, output="", visibility="hidden"):
    return {
        "name": name, "score": score, "max_score": max_score,
        "status": "passed" if outcome == "passed" else "failed",
        "outcome": outcome, "output": output, "visibility": visibility,
    }


def doc(student, tests, mistakes=(), **extra):
    counted = [x for x in tests if x["outcome"] != "skipped"]
    d = {
        "assignment": "backprop", "student": student,
        "score": sum(x["score"] for x in counted), "max_score": sum(x["max_score"] for x in counted),
        "output": "", "tests": tests, "mistakes": list(mistakes),
        "isolation": {"process": "forked worker", "mode": "fork", "network": "none"},
    }
    d.update(extra)
    return d


ALICE = doc("alice", [t("test_a", "passed", 2, 2), t("test_b", "passed", 1, 1), t("test_c", "passed", 3, 3)])
BOB = doc("bob", [
    t("test_a", "passed", 2, 2),
    t("test_b", "failed", 0, 1, "db: yours has shape (3, 4), expected (4,)"),
    t("test_c", "not_implemented", 0, 3, "backprop.x: not implemented yet"),
    t("test_gpu", "skipped", 0, 5, "GPU test skipped: no CUDA device on this machine"),
], mistakes=["db not summed over the batch", "relu mask from dout"],
    not_graded={"points": 5.0, "tests": 1, "reason": "GPU test skipped: no CUDA device on this machine"})
CAROL = doc("carol", [
    t("test_a", "crashed", 0, 2, "the worker died"),
    t("test_b", "budget", 0, 1, "not run: time budget spent"),
    t("test_c", "passed", 3, 3),
])
DAVE = error_document("dave", "backprop",
                      "could not open dave.zip: File is not a zip file. Upload a valid .zip of your files.")


def render(renderable, width=200) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(renderable)
    return console.export_text()


def rows_of(text: str) -> list[list[str]]:
    """The body rows of a rendered rich table, as stripped cell texts."""
    return [[c.strip() for c in line.strip().strip("│").split("│")] for line in text.splitlines()
            if line.startswith("│")]


# --------------------------------------------------------------------- CSV


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_grades_csv_columns_and_values(tmp_path):
    path = tmp_path / "nested" / "grades.csv"
    report.write_grades_csv([ALICE, BOB, CAROL, DAVE], path)
    rows = read_csv(path)
    assert rows[0] == HEADER
    assert rows[1] == ["alice", "", "6", "6", "100.0", "3", "3", "", "", "0"]
    # bob: the skipped GPU test counts neither in tests nor in max_score, and its points are said.
    assert rows[2] == ["bob", "", "2", "6", "33.3", "1", "3", "db not summed over the batch; relu mask from dout", "",
                       "5"]
    assert rows[3] == ["carol", "", "3", "6", "50.0", "1", "3", "", "", "0"]
    # dave: max_score None -> 0 and no percent; the error kind is recorded.
    assert rows[4] == ["dave", "", "0", "0", "", "0", "0", "", "invalid", "0"]
    assert len(rows) == 5


def test_grades_csv_after_max_score_is_filled(tmp_path):
    dave = dict(DAVE, max_score=6.0)
    report.write_grades_csv([dave], tmp_path / "g.csv")
    assert read_csv(tmp_path / "g.csv")[1] == ["dave", "", "0", "6", "0.0", "0", "0", "", "invalid", "0"]


def test_grades_csv_fractional_points_and_quoting(tmp_path):
    d = doc("o'brien, pat", [t("a", "passed", 0.5, 0.5), t("b", "failed", 0, 1)], mistakes=['a "quoted", name'])
    report.write_grades_csv([d], tmp_path / "g.csv")
    text = (tmp_path / "g.csv").read_text()
    assert '"o\'brien, pat"' in text
    assert read_csv(tmp_path / "g.csv")[1] == ["o'brien, pat", "", "0.5", "1.5", "33.3", "1", "2", 'a "quoted", name', "",
                                                 "0"]


def test_grades_csv_empty_batch_has_only_the_header(tmp_path):
    report.write_grades_csv([], tmp_path / "g.csv")
    assert read_csv(tmp_path / "g.csv") == [HEADER]


# --------------------------------------------------------------------- gradebook table


def test_gradebook_table_rows():
    text = render(report.gradebook_table([ALICE, BOB, CAROL, DAVE], "backprop: 4 submissions"))
    assert "backprop: 4 submissions" in text
    rows = rows_of(text)
    assert rows[0] == ["alice", "6 / 6", "100%", "3 / 3", ""]
    assert rows[1] == ["bob", "2 / 6", "33%", "1 / 3", "db not summed over the batch; relu mask from dout"]
    assert rows[2] == ["carol", "3 / 6", "50%", "1 / 3", "2 test(s) crashed or timed out"]
    assert rows[3] == ["dave", "0", "-", "0 / 0",
                       "could not open dave.zip: File is not a zip file. Upload a valid .zip of your files."]
    assert len(rows) == 4


def test_gradebook_table_headers_and_filled_max_score():
    text = render(report.gradebook_table([dict(DAVE, max_score=61.0)], "t"))
    header = [line for line in text.splitlines() if line.startswith("┃")][0]
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "student", "score", "%", "tests passed", "named mistakes / notes"]
    assert rows_of(text)[0][:3] == ["dave", "0 / 61", "0%"]


def test_gradebook_notes_show_only_the_first_line_of_an_error():
    d = error_document("eve", "backprop", "The grader could not run the tests.\nTraceback line 1\nline 2",
                       outcome="grader_error")
    rows = rows_of(render(report.gradebook_table([d], "t")))
    assert rows == [["eve", "0", "-", "0 / 0", "The grader could not run the tests."]]


def test_gradebook_shows_untrusted_text_literally():
    d = error_document("mallory", "backprop", "could not open mallory.zip: unsafe path '../[/x]' inside the zip.")
    text = render(report.gradebook_table([d], "t"))
    assert "'../[/x]'" in text


def test_gradebook_shows_student_ids_with_brackets():
    text = render(report.gradebook_table([dict(ALICE, student="ann[bold]")], "t"))
    assert rows_of(text)[0][0] == "ann[bold]"


# --------------------------------------------------------------------- check table


def test_check_table_labels_points_and_total():
    d = doc("you", [
        t("test_a", "passed", 2, 2),
        t("test_b", "failed", 0, 1),
        t("test_c", "not_implemented", 0, 3),
        t("test_d", "exception", 0, 1),
        t("test_e", "crashed", 0, 1),
        t("test_f", "budget", 0, 1),
        t("test_g", "error", 0, 1),
        t("test_h", "skipped", 0, 1),
        t("test_i", "passed", 0.5, 0.5),
    ])
    text = render(report.check_table(d))
    assert "backprop: public tests" in text
    rows = rows_of(text)
    assert rows == [
        ["test_a", "PASS", "2 / 2"],
        ["test_b", "FAIL", "0 / 1"],
        ["test_c", "TODO", "0 / 3"],
        ["test_d", "ERROR", "0 / 1"],
        ["test_e", "CRASH", "0 / 1"],
        ["test_f", "NOT RUN", "0 / 1"],
        ["test_g", "GRADER", "0 / 1"],
        ["test_h", "SKIP", "0 / 1"],
        ["test_i", "PASS", "0.5 / 0.5"],
        ["total", "", "2.5 / 10.5"],
    ]


def test_check_table_falls_back_to_status_without_outcome():
    d = doc("you", [t("test_a", "passed", 1, 1), t("test_b", "failed", 0, 1)])
    for x in d["tests"]:
        del x["outcome"]
    rows = rows_of(render(report.check_table(d)))
    assert rows[:2] == [["test_a", "PASS", "1 / 1"], ["test_b", "FAIL", "0 / 1"]]


def test_check_table_ten_of_twelve():
    tests = [t(f"test_{i}", "passed", 1, 1) for i in range(10)] + [t("test_x", "failed", 0, 2)]
    text = render(report.check_table(doc("you", tests)))
    assert rows_of(text)[-1] == ["total", "", "10 / 12"]
    assert text.count("PASS") == 10 and text.count("FAIL") == 1


def test_check_table_keeps_parametrize_ids():
    d = doc("you", [t("test_act[sigmoid]", "passed", 1, 1), t("test_act[tanh]", "failed", 0, 1)])
    rows = rows_of(render(report.check_table(d)))
    assert [r[0] for r in rows[:2]] == ["test_act[sigmoid]", "test_act[tanh]"]


# --------------------------------------------------------------------- feedback and isolation line


def test_feedback_prints_failures_only_and_counts_skips():
    console = Console(record=True, width=200, color_system=None)
    report.print_feedback(console, BOB)
    text = console.export_text()
    assert "test_a" not in text
    assert "test_b\ndb: yours has shape (3, 4), expected (4,)" in text
    assert "test_c\nbackprop.x: not implemented yet" in text
    assert "1 test(s) skipped: GPU test skipped: no CUDA device on this machine" in text


def test_feedback_of_a_clean_run_is_empty():
    console = Console(record=True, width=200, color_system=None)
    report.print_feedback(console, ALICE)
    assert console.export_text() == ""


def test_feedback_prints_brackets_literally():
    d = doc("you", [t("test_x[float32]", "failed", 0, 1, "expected [1, 2], got [/oops]")])
    console = Console(record=True, width=200, color_system=None)
    report.print_feedback(console, d)
    text = console.export_text()
    assert "test_x[float32]" in text and "expected [1, 2], got [/oops]" in text


def test_isolation_line():
    iso = {"process": "forked worker", "filesystem": "private mount namespace", "network": "no interfaces",
           "memory": "cgroup 1024 MiB", "cpu": "RLIMIT_CPU 61 s", "mode": "fork"}
    assert report.isolation_line({"isolation": iso}) == (
        "forked worker; filesystem: private mount namespace; network: no interfaces; memory: cgroup 1024 MiB")
    assert report.isolation_line({"isolation": {"mode": "none"}}) == "none"
    assert report.isolation_line({}) == "?"


@pytest.mark.parametrize("d, expected", [(ALICE, "100%"), (BOB, "33%"), (DAVE, "-"), (dict(DAVE, max_score=0), "-")])
def test_percent(d, expected):
    assert report._pct(d) == expected


def test_every_status_has_a_label():
    labels = {label for label, _ in report.STATUS_STYLE.values()}
    assert {"PASS", "FAIL", "TODO", "ERROR", "CRASH", "NOT RUN", "SKIP", "GRADER"} <= labels
    assert all(re.fullmatch(r"[A-Z ]+", label) for label in labels)


# --------------------------------------------------------------------- untrusted text: formulas, controls


def test_grades_csv_neutralises_formulas_in_every_text_column(tmp_path):
    docs = [
        doc('=HYPERLINK("http://evil.example","click")', [t("a", "passed", 1, 1)]),
        doc("@SUM(A1:A9)", [t("a", "passed", 1, 1)], mistakes=["=1+1", "plain"]),
        doc("+61+0", [t("a", "passed", 1, 1)]),
        doc("-pthis", [t("a", "passed", 1, 1)]),
        doc("\tx", [t("a", "passed", 1, 1)]),
        dict(error_document("\rx", "backprop", "broken"), error="=cmd|' /C calc'!A0"),
    ]
    report.write_grades_csv(docs, tmp_path / "g.csv")
    rows = read_csv(tmp_path / "g.csv")[1:]
    assert [r[0] for r in rows] == ['\'=HYPERLINK("http://evil.example","click")', "'@SUM(A1:A9)", "'+61+0",
                                    "'-pthis", "\\tx", "\\rx"]  # escaped: no longer a tab or CR first
    assert rows[1][7] == "'=1+1; plain"
    assert rows[5][8] == "'=cmd|' /C calc'!A0"
    assert rows[0][2:7] == ["1", "1", "100.0", "1", "1"]  # numbers stay numbers
    report.write_grades_csv([dict(docs[0], name="=Ana Silva")], tmp_path / "g.csv")
    assert read_csv(tmp_path / "g.csv")[1][1] == "'=Ana Silva"  # the name from the download is a text cell too


def test_grades_csv_escapes_control_characters(tmp_path):
    report.write_grades_csv([doc("a\x1b[31mb\nc\u202e", [t("a", "passed", 1, 1)])], tmp_path / "g.csv")
    text = (tmp_path / "g.csv").read_text()
    assert "\x1b" not in text and "\u202e" not in text
    assert read_csv(tmp_path / "g.csv")[1][0] == "a\\x1b[31mb\\nc\\u202e"


def test_grades_csv_is_replaced_whole(tmp_path):
    path = tmp_path / "grades.csv"
    report.write_grades_csv([ALICE, BOB], path)
    report.write_grades_csv([ALICE], path)
    assert [r[0] for r in read_csv(path)] == ["student", "alice"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]


def test_gradebook_escapes_control_characters():
    d = error_document("eve\x1b[2J\u202e", "backprop", "hw\x1b]0;owned\x07 is a symbolic link\nmore")
    text = render(report.gradebook_table([d, dict(ALICE, student="a\nb")], "t"))
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    rows = rows_of(text)
    assert rows[0][0] == "eve\\x1b[2J\\u202e" and rows[0][4] == "hw\\x1b]0;owned\\x07 is a symbolic link"
    assert rows[1][0] == "a\\nb"


def test_gradebook_shows_names_when_the_download_gives_them():
    ana = dict(ALICE, student="100001", name="Ana Silva")
    rows = rows_of(render(report.gradebook_table([ana, dict(BOB, student="100002")], "t")))
    assert rows[0][:3] == ["100001", "Ana Silva", "6 / 6"] and rows[1][:3] == ["100002", "", "2 / 6"]
    assert rows_of(render(report.gradebook_table([ALICE], "t")))[0][:2] == ["alice", "6 / 6"]  # no empty column
