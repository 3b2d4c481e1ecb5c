"""Feedback for students (autograder.feedback): what a student may read, and nothing more.

Results documents come from really grading shipped softmax samples (one batch, module
scope) and from documents written here. The leak test is the point of this file: no hidden
test's name, node id, message line or precise number reaches a feedback file.
"""
from __future__ import annotations

import copy
import dataclasses
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import FeedbackOptions, load_assignment, solution_assignment
from autograder.feedback import student_feedback, write_feedback
from autograder.report import load_results
from autograder.grade import error_document, grade_batch
from autograder.ingest import discover, file_name
from autograder.samples import unpack_samples

COURSE = Path(__file__).resolve().parents[1]
SAMPLES = ("wrong-no-max-shift", "wrong-jacobian-diagonal", "stub")
SEED = 1


@pytest.fixture(scope="module")
def softmax():
    return solution_assignment(COURSE, "softmax")


@pytest.fixture(scope="module")
def graded(softmax, tmp_path_factory):
    """Three real samples and a broken zip, graded in one batch: {student: document}, results folder."""
    root = tmp_path_factory.mktemp("feedback")
    subs_dir = unpack_samples(softmax, root / "subs", list(SAMPLES))
    (subs_dir / "broken.zip").write_bytes(b"this is no zip")
    out = root / "out"
    subs = discover(subs_dir, out / ".staging", softmax.modules[0])
    docs = grade_batch(softmax, subs, out, reference_dir=softmax.folder, seed=SEED, jobs=1)
    return {d["student"]: d for d in docs}, out


def real(graded, student: str) -> dict:
    return copy.deepcopy(graded[0][student])


def as_after_due(doc: dict) -> dict:
    """The document with every other hidden test marked after_due (no shipped suite has one)."""
    doc = copy.deepcopy(doc)
    hidden = [t for t in doc["tests"] if t["visibility"] == "hidden"]
    for test in hidden[::2]:
        test["visibility"] = "after_due_date"
    return doc


def with_options(assignment, **options):
    return dataclasses.replace(assignment, feedback=FeedbackOptions(**options))


def readable(markdown: str, page: str) -> list[str]:
    """Both files, and each as a reader sees it: Markdown's backslash escapes and HTML's entities undone."""
    return [markdown, re.sub(r"\\(.)", r"\1", markdown), page, html.unescape(page)]


NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def precise_numbers(text: str) -> set[str]:
    """Numbers printed with 4 or more significant digits (1.2346, 0.001563, 12345)."""
    found = set()
    for number in NUMBER.findall(text):
        mantissa = number.split("e")[0]
        digits = mantissa.replace(".", "").lstrip("0")
        if "." not in mantissa:
            digits = digits.rstrip("0")
        if len(digits) >= 4:
            found.add(number)
    return found


def assert_no_leak(doc: dict, texts: list[str], shown: set[str], mistakes_shown: bool = False) -> int:
    """No test outside ``shown`` (visibilities) is named or quoted in ``texts``; returns how many
    secrets were looked for, so a test can tell it looked at something."""
    public = [t for t in doc["tests"] if t["visibility"] in shown]
    secret = [t for t in doc["tests"] if t["visibility"] not in shown]
    public_names = {t["name"] for t in public} | {t["name"].split(": ")[0] for t in public}
    public_text = "\n".join(t["output"] for t in public)
    public_numbers = set().union(*(precise_numbers(t["output"]) for t in public)) | {str(doc["seed"])} \
        | {f"{v:g}" for v in doc["limits"].values()}
    looked = 0
    for test in secret:
        for name in {test["name"], test["name"].split(": ")[0]} - public_names:
            looked += 1
            for text in texts:
                assert not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text), name
        for text in texts:
            assert test["nodeid"] not in text
        for line in {line.strip() for line in test["output"].splitlines()}:
            if len(line) <= 20 or line in public_text or (mistakes_shown and line.startswith("Known mistake: ")):
                continue  # short, or also in a shown test's message, or a hint the course shows
            looked += 1
            for text in texts:
                assert line not in text, (test["name"], line)
        numbers = precise_numbers(test["output"]) - public_numbers
        if mistakes_shown:
            numbers -= set().union(*(precise_numbers(m["hint"]) for m in test["mistakes"]))
        for number in numbers:
            looked += 1
            for text in texts:
                assert not re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text), (test["name"], number)
    for text in texts:
        assert "test_hidden" not in text
    return looked


# ------------------------------------------------------------------ the leak test


@pytest.mark.parametrize("after_due", [False, True])
@pytest.mark.parametrize("hidden_mistakes", [False, True])
@pytest.mark.parametrize("student", SAMPLES)
def test_no_hidden_test_reaches_a_feedback_file(graded, softmax, tmp_path, student, after_due, hidden_mistakes):
    doc = as_after_due(real(graded, student))
    assignment = with_options(softmax, hidden_mistakes=hidden_mistakes)
    written = write_feedback(tmp_path, [doc], assignment, after_due=after_due)
    assert sorted(p.name for p in written) == [f"{student}.html", f"{student}.md"]
    markdown, page = (tmp_path / "feedback" / f"{student}.md").read_text(), \
        (tmp_path / "feedback" / f"{student}.html").read_text()
    shown = {"visible", "after_due_date"} if after_due else {"visible"}
    looked = assert_no_leak(doc, readable(markdown, page), shown, mistakes_shown=hidden_mistakes)
    assert looked > 20  # names of hidden tests at least, and, for the wrong ones, their messages
    if after_due:  # the after_due tests are shown now: by name, with their messages
        late = [t for t in doc["tests"] if t["visibility"] == "after_due_date"]
        assert late and all(t["name"].split(": ")[0] in page for t in late)
        assert "Tests shown after the due date" in markdown
    else:
        assert "Tests shown after the due date" not in markdown


def test_the_wrong_samples_give_the_leak_test_something_to_find(graded):
    """Hidden messages with values and precise numbers, so the leak test is no empty check."""
    doc = graded[0]["wrong-jacobian-diagonal"]
    failing = [t for t in doc["tests"] if t["visibility"] == "hidden" and t["outcome"] == "failed"]
    assert len(failing) >= 3
    assert any(precise_numbers(t["output"]) for t in failing)


# ------------------------------------------------------------------ what is shown


def test_public_tests_appear_with_their_messages(graded, softmax):
    doc = real(graded, "wrong-no-max-shift")
    markdown, page = student_feedback(doc, softmax)
    public = [t for t in doc["tests"] if t["visibility"] == "visible"]
    assert len(public) == 14
    for test in public:
        assert test["name"].split(": ")[0] in markdown and html.escape(test["name"].split(": ")[0]) in page
    failed = [t for t in public if t["outcome"] != "passed"]
    assert [t["name"] for t in failed] == ["test_softmax_large_logits_stay_finite"]
    message = failed[0]["output"]
    assert message.startswith("softmax returned nan/inf for logits of magnitude 1000")
    assert message in markdown  # in a fenced block, as written
    assert html.escape(message) in page
    # the mistake it named, with its hint
    assert "## Known mistakes found" in markdown
    hint = failed[0]["mistakes"][0]["hint"]
    assert html.escape(hint) in page
    assert "softmax without the max shift (exp overflows: inf / inf = nan)" in page
    assert "Found by: `test_softmax_large_logits_stay_finite`." in markdown


def test_totals_add_up_to_the_score(graded, softmax):
    for student in SAMPLES:
        doc = real(graded, student)
        markdown, page = student_feedback(doc, softmax)
        parts = {}
        for visibility in ("visible", "hidden"):
            counted = [t for t in doc["tests"] if t["visibility"] == visibility and t["outcome"] != "skipped"]
            parts[visibility] = (sum(t["score"] for t in counted), sum(t["max_score"] for t in counted),
                                 sum(t["outcome"] == "passed" for t in counted), len(counted))
        assert parts["visible"][0] + parts["hidden"][0] == doc["score"]
        assert parts["visible"][1] + parts["hidden"][1] == doc["max_score"]
        score, top, passed, count = parts["hidden"]
        line = f"hidden tests: {score:g} / {top:g} points ({passed} of {count} passed)"
        assert line in markdown and line in page
        score, top, passed, count = parts["visible"]
        assert f"public tests: {score:g} / {top:g} points ({passed} of {count} passed)" in markdown
        assert f"## Score: {doc['score']:g} / {doc['max_score']:g} points" in markdown
    stub = real(graded, "stub")
    assert "hidden tests: 0 / " in student_feedback(stub, softmax)[0]


def test_concrete_totals_of_a_document():
    a = load_assignment(COURSE / "solutions" / "softmax")
    doc = synthetic([
        entry("test_pub_a", "visible", "passed", 2),
        entry("test_pub_b", "visible", "failed", 1, "yours is 3, expected 4"),
        entry("test_secret_a", "hidden", "passed", 30),
        entry("test_secret_b", "hidden", "passed", 8),
        entry("test_secret_c", "hidden", "failed", 6, "expected 0.123456789"),
        entry("test_late_a", "after_due_date", "failed", 5, "late message, long enough to see"),
        entry("test_gpu_x", "hidden", "skipped", 3, "GPU test skipped: no CUDA device on this machine", gpu=True),
    ])
    markdown, page = student_feedback(doc, a)
    assert "## Score: 40 / 52 points (77%)" in markdown
    assert "- public tests: 2 / 3 points (1 of 2 passed)" in markdown
    assert "- hidden tests: 38 / 44 points (2 of 3 passed)" in markdown
    assert "- tests shown after the due date: 0 / 5 points (0 of 1 passed)" in markdown
    assert "1 test(s) worth 3 point(s) were skipped (they run on a GPU" in markdown
    for secret in ("test_secret", "0.123456789", "test_late_a", "late message", "GPU test skipped"):
        assert secret not in markdown and secret not in page
    late_md, late_page = student_feedback(doc, a, after_due=True)
    assert "late message, long enough to see" in late_md and "test_late_a" in late_page
    assert "test_secret" not in late_md + late_page


def test_seed_is_shown_with_the_command_that_repeats_it(graded, softmax):
    markdown, page = student_feedback(real(graded, "stub"), softmax)
    assert f"`autograder check softmax --seed {SEED}`" in markdown
    assert f"<code>autograder check softmax --seed {SEED}</code>" in page


# ------------------------------------------------------------------ named mistakes of hidden tests


def only_hidden_mistakes(doc: dict) -> dict:
    """The document as if its public tests had been hidden: its mistakes are then named by hidden tests alone."""
    doc = copy.deepcopy(doc)
    for t in doc["tests"]:
        t["visibility"] = "hidden"
    return doc


def test_mistakes_of_hidden_tests_are_shown_only_where_the_course_allows(graded, softmax):
    doc = only_hidden_mistakes(real(graded, "wrong-jacobian-diagonal"))
    named = {m["name"]: m["hint"] for t in doc["tests"] for m in t["mistakes"]}
    assert list(named) == ["Jacobian with only the diagonal s_i (1 - s_i)"]
    (name, hint), = named.items()

    assert softmax.feedback.hidden_mistakes is False  # the default
    markdown, page = student_feedback(doc, softmax)
    for text in readable(markdown, page):
        assert name not in text and hint[:40] not in text
    assert "this course does not show those" in markdown and "this course does not show those" in page

    shown_md, shown_page = student_feedback(doc, with_options(softmax, hidden_mistakes=True))
    texts = readable(shown_md, shown_page)
    assert name in texts[1] and name in texts[3]
    assert hint in texts[1] and hint in texts[3]
    assert "Found by: a hidden test." in texts[1]
    assert "does not show" not in shown_md
    assert_no_leak(doc, texts, {"visible"}, mistakes_shown=True)


# ------------------------------------------------------------------ documents of their own


def entry(name, visibility, outcome, points, output="", mistakes=(), gpu=False) -> dict:
    passed = outcome == "passed"
    return {"name": name, "number": "0", "nodeid": f"test_{visibility}.py::{name}", "status": outcome,
            "score": float(points) if passed else 0.0, "max_score": 0.0 if outcome == "skipped" else float(points),
            "outcome": outcome, "output": output, "visibility": visibility, "duration": 0.01,
            "mistakes": list(mistakes), "gpu": gpu}



def synthetic(tests: list[dict], **extra) -> dict:
    counted = [t for t in tests if t["outcome"] != "skipped"]
    doc = {"assignment": "softmax", "student": "alice", "score": sum(t["score"] for t in counted),
           "max_score": sum(t["max_score"] for t in counted), "output": "summary with test_secret_summary",
           "visibility": "visible", "stdout_visibility": "hidden", "tests": tests, "seed": 7,
           "isolation": {"mode": "fork"}, "limits": {"call_seconds": 5, "submission_seconds": 30, "memory_mb": 1024},
           "mistakes": sorted({m["name"] for t in tests for m in t["mistakes"]}),
           "student_output": "PRINTED-BY-THE-STUDENT-CODE 0.98765432"}
    skipped = [t for t in tests if t["outcome"] == "skipped"]
    if skipped:
        doc["not_graded"] = {"points": 3.0 * len(skipped), "tests": len(skipped), "reason": skipped[0]["output"]}
    return doc | extra


@pytest.fixture(scope="module")
def plain():
    return load_assignment(COURSE / "solutions" / "softmax")


def test_untrusted_text_is_escaped(plain):
    evil = "<script>alert('x')</script>"
    doc = synthetic(
        [entry("test_pub[<b>x</b>]", "visible", "exception", 1, f"softmax raised ValueError: {evil}\n<img src=x>")],
        student="<img src=x onerror=alert(1)>", name="Bob </title><script>",
        intake={"layout": "canvas <i>", "matched": {"softmax.py": "hw/<script>.py"}, "ignored": ["<a href=x>.txt"],
                "notes": ["renamed `x` to *y*"]})
    markdown, page = student_feedback(doc, plain)
    body = page.split("<style>")[0] + page.split("</style>")[1]
    assert "<script" not in body and "<img" not in body and "<b>" not in body and "<i>" not in body
    assert "<a " not in body
    assert html.escape(evil) in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "default-src 'none'" in page  # and a policy that would stop a script or a load anyway
    # Markdown: raw text only inside code (blocks and spans), escaped everywhere else
    outside = re.sub(r"```text\n.*?\n```", "", markdown, flags=re.S)
    outside = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", outside)
    assert not re.search(r"(?<!\\)[<>]", outside), outside
    assert "\\<img src=x onerror=alert(1)\\>" in markdown
    assert "hw/<script>.py" in markdown  # in a code span, where Markdown shows it as text


def test_the_page_is_self_contained(graded, softmax):
    _, page = student_feedback(real(graded, "wrong-jacobian-diagonal"), softmax)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    for outside in ("http://", "https://", "<script", "<link", "src=", "@import", "url("):
        assert outside not in page


def test_what_the_student_printed_is_left_out(plain):
    doc = synthetic([entry("test_pub", "visible", "passed", 1)])
    for text in student_feedback(doc, plain):
        assert "PRINTED-BY-THE-STUDENT-CODE" not in text and "0.98765432" not in text
        assert "test_secret_summary" not in text  # the document's output may name a hidden skipped test


def test_an_invalid_upload_shows_why(graded, softmax, plain):
    doc = real(graded, "broken")
    assert doc["error"] == "invalid" and doc["tests"] == []
    markdown, page = student_feedback(doc, softmax)
    assert "**Your submission could not be graded.**" in markdown
    assert doc["output"] == "could not open broken.zip: File is not a zip file. Upload a valid .zip of your files."
    assert doc["output"] in markdown and html.escape(doc["output"]) in page
    assert "## Score: 0 / 67 points (0%)" in markdown
    assert "Public tests" not in markdown and "hidden tests" not in markdown

    none = error_document("dave", "softmax", "no files found: the upload held no softmax.py", outcome="no_files")
    markdown, page = student_feedback(none, plain)
    assert "no files found: the upload held no softmax.py" in markdown and "could not be graded" in page
    assert "## Score: 0 points" in markdown  # max_score still unknown


def test_a_grader_error_is_worded_as_the_graders(plain):
    log = ("The grader could not run the tests on this submission (exit code 3). This is a problem with the "
           "grader, not the submission; please report it to the course staff.\n"
           "E   test_hidden.py::test_secret_thing expected 0.123456789\nINTERNALERROR> KeyError: 'reference'")
    doc = error_document("erin", "softmax", log, outcome="grader_error")
    markdown, page = student_feedback(doc, plain)
    assert "## Score: not graded yet\n" in markdown and "%" not in page.split("</style>")[1]
    assert "This is a fault of the grader or its machine, not of your submission; the course staff will grade " \
           "it again." in markdown
    for text in readable(markdown, page):
        assert "test_secret_thing" not in text and "0.123456789" not in text and "INTERNALERROR" not in text


def test_grader_errors_in_some_tests(plain):
    doc = synthetic([
        entry("test_pub", "visible", "error", 1, "grader error in call (KeyError: 'secret_key'); please report this"),
        entry("test_pub_ok", "visible", "passed", 1),
        entry("test_secret", "hidden", "error", 2, "grader error in setup (RuntimeError: CUDA secret_state)"),
    ], error="grader_error")
    markdown, page = student_feedback(doc, plain)
    assert ("Part of the grading failed for reasons that are not yours: 2 test(s) worth 3 point(s) could not be "
            "graded because of a fault of the grader or its machine. The course staff will grade them again, "
            "so this score may still go up.") in markdown
    assert "| 1 | `test_pub` | GRADER | 0 / 1 |" in markdown
    assert "not because of your code. The course staff will grade it again." in markdown
    assert 'class="label grader">GRADER<' in page
    for text in (markdown, page):
        assert "secret_key" not in text and "secret_state" not in text and "test_secret" not in text


def test_limits_hit_by_hidden_tests_are_counted_not_quoted(plain):
    doc = synthetic([
        entry("test_pub", "visible", "crashed", 1, "softmax took longer than 5 s (the limit per call)"),
        entry("test_secret_a", "hidden", "crashed", 1, "softmax ran out of memory on the 50000-class secret input"),
        entry("test_secret_b", "hidden", "crashed", 1, "the worker died on the secret input"),
        entry("test_secret_c", "hidden", "budget", 1, "not run: the time budget of 30 s was used up"),
    ])
    markdown, page = student_feedback(doc, plain)
    assert "- 1 shown test(s) stopped at a limit or were not run; their messages say which: test\\_pub." in markdown
    assert ("- 2 hidden test(s) stopped because your code crashed or went over a limit (time, memory, processes "
            "or output).") in markdown
    assert "- 1 hidden test(s) were not run: your submission had used up its total time." in markdown
    assert "each call into your code: 5 s; all calls of your submission together: 30 s; memory: 1024 MB" in markdown
    assert "softmax took longer than 5 s (the limit per call)" in markdown  # the public test's own message
    for text in readable(markdown, page):
        assert "secret" not in text and "50000" not in text


def test_what_was_taken_from_the_upload(plain):
    doc = synthetic([entry("test_pub", "visible", "passed", 1)], intake={
        "layout": "Canvas download", "ids": {"canvas": "12345"}, "matched": {"softmax.py": "HW2/Softmax (1).py"},
        "ignored": ["notes.txt", "__MACOSX/._softmax.py"], "notes": ["softmax_torch.py was not in the upload"]})
    markdown, page = student_feedback(doc, plain)
    assert "## What was taken from your upload" in markdown
    assert "- Layout: Canvas download" in markdown
    assert "- Ids in the download: canvas: 12345" in markdown
    assert "  - `softmax.py`: `HW2/Softmax (1).py`" in markdown
    assert "- Ignored: `notes.txt`, `__MACOSX/._softmax.py`" in markdown
    assert "softmax_torch.py was not in the upload" in page
    assert "<td><code>softmax.py</code></td><td><code>HW2/Softmax (1).py</code></td>" in page
    without = synthetic([entry("test_pub", "visible", "passed", 1)])
    assert "What was taken from your upload" not in "".join(student_feedback(without, plain))


# ------------------------------------------------------------------ files, folder and command


def test_write_and_load(tmp_path, plain):
    odd = "x/../<y>"
    docs = [synthetic([entry("test_pub", "visible", "passed", 1)], student=s) for s in ("bob", odd)]
    for doc in docs:
        (tmp_path / f"{file_name(doc['student'])}.json").write_text(json.dumps(doc))
    (tmp_path / "grades.csv").write_text("student,score\n")
    (tmp_path / "notes.json").write_text(json.dumps({"not": "a result"}))
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / ".staging").mkdir()
    (tmp_path / ".staging" / "carl.json").write_text(json.dumps(docs[0] | {"student": "carl"}))
    loaded = load_results(tmp_path)
    assert [d["student"] for d in loaded] == ["bob", odd]
    feedback = tmp_path / "feedback"
    feedback.mkdir()
    (feedback / "bob.md").write_text("old")
    written = write_feedback(tmp_path, loaded, plain)
    odd_name = file_name(odd)
    assert "/" not in odd_name and odd_name.startswith("x_.._<y>~")
    assert sorted(p.name for p in written) == sorted(["bob.md", "bob.html", f"{odd_name}.md", f"{odd_name}.html"])
    assert sorted(os.listdir(feedback)) == sorted(p.name for p in written)  # no .tmp left
    assert (feedback / "bob.md").read_text().startswith("# Softmax, its derivative, and cross-entropy: feedback")


def test_the_feedback_command(graded):
    docs, out = graded
    shutil.rmtree(out / "feedback", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_COURSE"} | {"COLUMNS": "250", "NO_COLOR": "1"}
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "feedback", str(out), "--course", str(COURSE)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"feedback for 4 student(s): 8 files in {(out / 'feedback').resolve()}" in run.stdout
    names = sorted(os.listdir(out / "feedback"))
    assert names == sorted(f"{s}{ext}" for s in docs for ext in (".md", ".html"))
    page = (out / "feedback" / "wrong-no-max-shift.html").read_text()
    assert "test_softmax_large_logits_stay_finite" in page
    empty = out.parent / "empty"
    empty.mkdir(exist_ok=True)
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "feedback", str(empty), "--course", str(COURSE)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 1 and "no results documents" in run.stderr


# ------------------------------------------------------------------ [feedback] in assignment.toml


def write_toml(folder: Path, extra: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assignment.toml").write_text('[assignment]\nmodules = ["m"]\n' + extra)
    return folder


def test_the_feedback_table(tmp_path):
    assert load_assignment(write_toml(tmp_path / "a", "")).feedback == FeedbackOptions(hidden_mistakes=False)
    on = load_assignment(write_toml(tmp_path / "b", "[feedback]\nhidden_mistakes = true\n"))
    assert on.feedback.hidden_mistakes is True
    with pytest.raises(ValueError, match=r"c/assignment.toml: \[feedback\] hidden_tests = true: unknown key"):
        load_assignment(write_toml(tmp_path / "c", "[feedback]\nhidden_tests = true\n"))
    with pytest.raises(ValueError, match=r'd/assignment.toml: \[feedback\] hidden_mistakes = "yes": must be true'):
        load_assignment(write_toml(tmp_path / "d", "[feedback]\nhidden_mistakes = \"yes\"\n"))
    with pytest.raises(ValueError, match=r"e/assignment.toml: \[feedback\] must be a table"):
        folder = write_toml(tmp_path / "e", "")
        (folder / "assignment.toml").write_text('feedback = 1\n[assignment]\nmodules = ["m"]\n')
        load_assignment(folder)
