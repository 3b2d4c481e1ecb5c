"""The class report: similarity through copydetect (stub and reference excluded), the page's sections,
its inline figures, no external resource, HTML escaping, and the ``autograder report`` command."""
from __future__ import annotations

import base64
import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import classreport, report
from autograder.classreport import class_similarity, find_similar, write_class_report
from autograder.report import load_results as load_documents
from autograder.cli import main
from autograder.config import load_assignment
from autograder.ingest import file_name

EVIL = "<script>alert(1)</script>"

REFERENCE = '''
import numpy as np


def relu_forward(x):
    """ReLU: max(0, x), elementwise. Returns (out, cache)."""
    out = np.maximum(0, x)
    return out, x


def relu_backward(dout, cache):
    """The gradient of relu_forward."""
    return dout * (cache > 0)


def affine_forward(x, w, b):
    """x @ w + b, with x flattened to (N, D)."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """The gradients of affine_forward."""
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def softmax(x):
    """Row-wise softmax, shifted by the row maximum."""
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
'''

STUB = re.sub(r'(""".*?""")\n(?:    .*\n?)+', r'\1\n    raise NotImplementedError\n\n\n', REFERENCE)

ALICE = '''
import numpy as np


def relu_forward(x):
    """ReLU: max(0, x), elementwise. Returns (out, cache)."""
    # clamp the negatives to zero
    result = x.copy()
    result[result < 0] = 0.0
    return result, x


def relu_backward(dout, cache):
    """The gradient of relu_forward."""
    grad = dout.copy()
    grad[cache <= 0] = 0.0
    return grad


def affine_forward(x, w, b):
    """x @ w + b, with x flattened to (N, D)."""
    n = x.shape[0]
    flat = np.reshape(x, (n, int(np.prod(x.shape[1:]))))
    result = np.dot(flat, w) + b[None, :]
    return result, (x, w, b)


def affine_backward(dout, cache):
    """The gradients of affine_forward."""
    x, w, b = cache
    n = x.shape[0]
    flat = np.reshape(x, (n, int(np.prod(x.shape[1:]))))
    dx = np.reshape(np.dot(dout, np.transpose(w)), x.shape)
    dw = np.dot(np.transpose(flat), dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def softmax(x):
    """Row-wise softmax, shifted by the row maximum."""
    shifted = x - np.max(x, axis=1)[:, None]
    expd = np.exp(shifted)
    total = np.sum(expd, axis=1)[:, None]
    return expd / total
'''

# Alice's code with other names, other comments and another layout.
BOB = '''
import numpy as np
def relu_forward(x):
    """relu"""
    y = x.copy() ;  y[y < 0] = 0.0   # negatives out
    return y, x
def relu_backward(dout, cache):
    g = dout.copy()
    g[cache <= 0] = 0.0
    return g
def affine_forward(x, w, b):
    # flatten first
    m = x.shape[0]
    xf = np.reshape(x, (m, int(np.prod(x.shape[1:]))))
    y = np.dot(xf, w) + b[None, :]
    return y, (x, w, b)
def affine_backward(dout, cache):
    x, w, b = cache
    m = x.shape[0]
    xf = np.reshape(x, (m, int(np.prod(x.shape[1:]))))
    gx = np.reshape(np.dot(dout, np.transpose(w)), x.shape)
    gw = np.dot(np.transpose(xf), dout)
    gb = np.sum(dout, axis=0)
    return gx, gw, gb
def softmax(x):
    s = x - np.max(x, axis=1)[:, None]
    ex = np.exp(s)
    tot = np.sum(ex, axis=1)[:, None]
    return ex / tot
'''

ERIN = '''
import numpy as np


def relu_forward(x):
    mask = (x > 0).astype(x.dtype)
    return x * mask, mask


def relu_backward(dout, cache):
    return dout * cache


def affine_forward(x, w, b):
    rows = [row.ravel() for row in x]
    mat = np.stack(rows)
    return mat.dot(w) + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    mat = np.stack([row.ravel() for row in x])
    grads = [dout[i] @ w.T for i in range(len(x))]
    dx = np.stack(grads).reshape(*x.shape)
    return dx, mat.T.dot(dout), np.add.reduce(dout, 0)


def softmax(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        row = np.exp(x[i] - x[i].max())
        out[i] = row / row.sum()
    return out
'''

# Erin's affine functions and softmax, renamed; relu of her own.
HEIDI = '''
import numpy as np


def relu_forward(x):
    keep = np.greater(x, 0)
    return np.where(keep, x, np.zeros_like(x)), keep


def relu_backward(dout, cache):
    return np.where(cache, dout, 0 * dout)


def affine_forward(x, w, b):
    lines = [r.ravel() for r in x]
    m = np.stack(lines)
    return m.dot(w) + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    m = np.stack([r.ravel() for r in x])
    parts = [dout[k] @ w.T for k in range(len(x))]
    dx = np.stack(parts).reshape(*x.shape)
    return dx, m.T.dot(dout), np.add.reduce(dout, 0)


def softmax(x):
    res = np.empty_like(x)
    for k in range(x.shape[0]):
        r = np.exp(x[k] - x[k].max())
        res[k] = r / r.sum()
    return res
'''

# The reference, renamed and recommented: a copy of a public solution.
GRACE = REFERENCE.replace("out", "result").replace("dw", "grad_w").replace("#", "# note:")

CODE = {"alice": ALICE, "bob": BOB, "carol": STUB, "dave": STUB, "erin": ERIN, "frank": REFERENCE,
        "grace": GRACE, "heidi": HEIDI, EVIL: STUB}

MISTAKES = '''
from autograder.mistakes import mistake


@mistake("affine_backward", "db not summed over the batch", hint="sum dout over axis 0")
def affine_backward(dout, cache):
    raise NotImplementedError


@mistake("softmax", "softmax without the max shift", hint="subtract the row max")
def softmax(x):
    raise NotImplementedError
'''


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course with one assignment, toy: reference, stub, mistakes catalogue."""
    root = tmp_path / "course"
    for part, code in (("solutions", REFERENCE), ("assignments", STUB)):
        folder = root / part / "toy"
        folder.mkdir(parents=True)
        (folder / "assignment.toml").write_text('[assignment]\ntitle = "Toy <layers>"\nmodules = ["toy"]\n')
        (folder / "toy.py").write_text(code)
    (root / "solutions" / "toy" / "mistakes.py").write_text(MISTAKES)
    return root


def make_test(name: str, outcome: str, visibility: str = "hidden", output: str = "", mistakes=()) -> dict:
    return {"name": name, "nodeid": f"test_hidden.py::{name.split(':')[0]}", "score": float(outcome == "passed"),
            "max_score": 1.0, "status": "passed" if outcome == "passed" else "failed", "outcome": outcome,
            "output": output, "visibility": visibility, "duration": 0.01, "gpu": False,
            "mistakes": [{"name": m, "hint": "the hint", "target": "affine_backward"} for m in mistakes]}


def doc(student: str, outcomes: list[str], seconds: float = 1.0, mistakes=(), **extra) -> dict:
    names = ["test_relu: relu's values", "test_affine", "test_softmax", "test_public_shapes"]
    outputs = {"crashed": "took longer than 5 s while running toy.softmax; look for an infinite loop",
               "budget": "not run: this submission used up its time budget of 30 s in earlier tests"}
    tests = [make_test(n, o, "visible" if n == "test_public_shapes" else "hidden", outputs.get(o, ""),
                  mistakes if o == "failed" else ()) for n, o in zip(names, outcomes)]
    score = sum(t["score"] for t in tests)
    return {"assignment": "toy", "student": student, "score": score, "max_score": 4.0, "execution_time": seconds,
            "output": f"{score:g} / 4 points", "tests": tests, "mistakes": sorted(set(mistakes)), "seed": 7,
            "limits": {"submission_seconds": 30}, **extra}


def class_docs() -> list[dict]:
    passed = ["passed"] * 4
    return [
        doc("alice", passed, 1.2, name="Alice A."),
        doc("bob", passed, 1.1),
        doc("carol", ["not_implemented"] * 4, 0.5),
        doc("dave", ["not_implemented"] * 4, 0.6),
        doc("erin", ["passed", "failed", "passed", "passed"], 2.0, mistakes=["db not summed over the batch"]),
        doc("frank", passed, 0.9),
        doc("grace", passed, 1.0),
        doc("heidi", ["passed", "failed", "crashed", "budget"], 31.0, mistakes=["db not summed over the batch"]),
        doc(EVIL, ["crashed", "failed", "passed", "error"], 4.0, mistakes=["made up, <b>not</b> catalogued"],
            error="grader_error", name="<img src=x onerror=alert(2)>"),
        {"assignment": "toy", "student": "ivan", "score": 0.0, "max_score": 4.0, "execution_time": 0.0,
         "output": "could not open ivan.zip", "tests": [], "error": "invalid", "mistakes": []},
    ]


def results(course: Path, tmp_path: Path) -> Path:
    """A results folder as `grade` leaves it: documents, and the graded copies in .staging."""
    out = tmp_path / "results"
    for student, code in CODE.items():
        folder = out / ".staging" / file_name(student)
        folder.mkdir(parents=True)
        (folder / "toy.py").write_text(code)
    for d in class_docs():
        (out / f"{file_name(d['student'])}.json").write_text(json.dumps(d))
    (out / "not-a-result.json").write_text('{"hello": 1}')
    return out


def pairs(sim) -> list[tuple[str, str]]:
    return [(p.a, p.b) for p in sim.pairs]


def test_similarity_finds_copies_not_the_stub_nor_the_reference(course, tmp_path):
    out = results(course, tmp_path)
    assignment = load_assignment(course / "solutions" / "toy")
    docs = load_documents(out)
    sim = class_similarity(out, docs, assignment, course / "solutions" / "toy", course / "assignments" / "toy")
    assert sim.problem is None
    assert sorted(sim.boilerplate) == ["toy.py (reference)", "toy.py (stub)"]
    # ivan has no graded copy; every other student was compared.
    assert [s for s, _ in sim.not_compared] == ["ivan"]
    assert len(sim.compared) == len(CODE)
    # Renamed, recommented and reformatted, Alice's and Bob's code is the same; Heidi copied most of Erin's.
    assert pairs(sim) == [("alice", "bob"), ("erin", "heidi")]
    assert sim.pairs[0].score > 0.9 and sim.pairs[0].overlap >= 300
    assert 0.5 <= sim.pairs[1].score < sim.pairs[0].score
    # Copies of the stub (carol, dave, the <script> id) and of the reference (frank, grace) make no pair,
    # though they are identical to each other.
    flagged = {s for p in sim.pairs for s in (p.a, p.b)}
    assert not flagged & {"carol", "dave", "frank", "grace", EVIL}
    # The pair's code is shown escaped, the shared parts marked.
    assert "<mark>" in sim.pairs[0].code_a and "result &lt; 0" in sim.pairs[0].code_a


def test_without_boilerplate_the_stub_copies_would_pair(course, tmp_path):
    """The control: it is the boilerplate that keeps the stub and reference copies out."""
    folder = tmp_path / "x"
    files = {}
    for student in ("carol", "dave", "frank", "grace", "erin"):
        (folder / student).mkdir(parents=True)
        path = folder / student / "toy.py"
        path.write_text(CODE[student])
        files[student] = [path]
    found = pairs(find_similar(files, []))
    assert ("carol", "dave") in found and ("frank", "grace") in found
    assert pairs(find_similar(files, [course / "solutions" / "toy" / "toy.py",
                                      course / "assignments" / "toy" / "toy.py"])) == []


def test_ranking_and_threshold(tmp_path):
    files = {}
    for student in ("alice", "bob", "erin", "heidi"):
        path = tmp_path / student / "toy.py"
        path.parent.mkdir()
        path.write_text(CODE[student])
        files[student] = [path]
    every = find_similar(files, [], threshold=0.0, min_overlap=0)
    scores = [p.score for p in every.pairs]
    assert scores == sorted(scores, reverse=True) and len(every.scores) == 6
    assert pairs(every)[:2] == [("alice", "bob"), ("erin", "heidi")]
    assert pairs(find_similar(files, [], threshold=0.99)) == [("alice", "bob")]


def test_report_page(course, tmp_path):
    out = results(course, tmp_path)
    assignment = load_assignment(course / "solutions" / "toy")
    path = write_class_report(out, load_documents(out), assignment, course / "solutions" / "toy",
                              course / "assignments" / "toy")
    assert path == out / "report.html"
    page = path.read_text(encoding="utf-8")
    for section in ("summary", "scores", "tests", "mistakes", "incidents", "time", "similarity"):
        assert f'<section id="{section}">' in page
    # Figures are inline PNGs: score, pass rate, mistakes, incidents, time, pair similarity.
    images = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert len(images) == 6
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # Nothing is fetched from anywhere: no URL, no linked style sheet or script.
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|<link|<script|@import|url\(", page, re.I)
    # Text from the results is escaped: the id, the name, a mistake's name, the title.
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;b&gt;not&lt;/b&gt; catalogued" in page
    assert "Toy &lt;layers&gt; (toy): class report" in page
    # Summary numbers.
    summary = page.split('<section id="summary">')[1].split("</section>")[0]
    assert "<td>submissions</td><td>10</td>" in summary
    assert "<td>graded</td><td>8</td>" in summary  # ivan could not be graded; EVIL met a grader error
    assert "could not be drawn" not in page
    assert re.search(r"could not be graded[^<]*</td><td>1<", summary)
    assert re.search(r"grader error[^<]*</td><td>1<", summary)
    assert "<td>full marks</td><td>4</td>" in summary  # alice, bob, frank, grace
    # Pass rates: the public test is marked; the grader error leaves EVIL's last test out of the count.
    tests = page.split('<section id="tests">')[1].split("</section>")[0]
    assert re.search(r"test_public_shapes</td><td class=\"public\">public</td>.*?<td class=\"n\">5 / 8</td>",
                     tests)
    assert re.search(r"test_relu</td><td class=\"hidden\">hidden</td>.*?<td class=\"n\">6 / 9</td>", tests)
    # Catalogued mistakes, the one no one made included; the uncatalogued one the results name too.
    mistakes = page.split('<section id="mistakes">')[1].split("</section>")[0]
    assert re.search(r"db not summed over the batch</b>.*?<td class=\"n\">2</td>", mistakes)
    assert re.search(r"softmax without the max shift</b>.*?<td class=\"n\">0</td>", mistakes)
    assert "Alice A." not in mistakes and "erin" in mistakes
    incidents = page.split('<section id="incidents">')[1].split("</section>")[0]
    for kind in ("time-out", "not run", "grader error"):
        assert f'<th class="n">{kind}</th>' in incidents
    similar = page.split('<section id="similarity">')[1].split("</section>")[0]
    assert "alice <span class=\"name\">(Alice A.)</span></td><td>bob</td>" in similar
    assert "ivan: no graded copy in .staging" in similar


def test_report_says_why_similarity_is_missing(course, tmp_path, monkeypatch):
    out = results(course, tmp_path)
    assignment = load_assignment(course / "solutions" / "toy")
    monkeypatch.setitem(sys.modules, "copydetect", None)  # as if it were not installed
    sim = class_similarity(out, load_documents(out), assignment, None, None)
    assert sim.problem.startswith("the copydetect library cannot be imported")
    assert "could not be computed: the copydetect library cannot be imported" in \
        classreport._similarity_html(sim, 0.5, 100, {})
    monkeypatch.delitem(sys.modules, "copydetect")
    gone = class_similarity(tmp_path / "nowhere", [], assignment, None, None)
    assert "graded copies" in gone.problem and "are gone" in gone.problem


def test_report_command(course, tmp_path):
    out = results(course, tmp_path)
    result = CliRunner().invoke(main, ["report", str(out), "--course", str(course)])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "alice" in page and "db not summed over the batch" in page
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["report", str(empty), "--course", str(course)])
    assert result.exit_code == 1 and "no results documents" in result.output


def test_incident_kinds():
    assert classreport.incident({"outcome": "crashed", "output": "took longer than 5 s while ..."}) == "time-out"
    assert classreport.incident({"outcome": "crashed", "output": "used more than the memory limit of 1024 MiB"}) \
        == "limit"
    assert classreport.incident({"outcome": "crashed", "output": "printed more than 65536 bytes"}) == "limit"
    assert classreport.incident({"outcome": "crashed", "output": "crashed with a segmentation fault"}) == "crash"
    assert classreport.incident({"outcome": "budget"}) == "not run"
    assert classreport.incident({"outcome": "error"}) == "grader error"
    assert classreport.incident({"outcome": "failed"}) is None


def test_stub_text_is_a_stub():
    assert STUB.count("raise NotImplementedError") == 5 and "np.maximum" not in STUB
    assert textwrap.dedent(STUB).startswith("\nimport numpy as np")


def test_a_figure_that_fails_leaves_a_sentence():
    def broken(*args):
        raise ValueError("no <data>")

    html = classreport._img(broken, "scores", [])
    assert html == '<p class="problem">The figure "scores" could not be drawn: ValueError: no &lt;data&gt;</p>'


def ungradable(student: str, error: str, output: str) -> dict:
    return {"assignment": "toy", "student": student, "score": 0.0, "max_score": 4.0, "execution_time": 0.0,
            "output": output, "tests": [], "error": error, "mistakes": []}


def mixed_class() -> list[dict]:
    """Five graded (100, 50, 0, 75 and 100%), three that could not be graded (invalid, no_files, and
    an error value this version does not know), two grader errors (in one test, and the whole run)."""
    return [
        doc("a", ["passed"] * 4),
        doc("b", ["passed", "failed", "passed", "failed"]),
        doc("c", ["not_implemented"] * 4),
        doc("d", ["passed", "passed", "passed", "failed"]),
        doc("e", ["passed"] * 4),
        ungradable("f", "invalid", "could not open f.zip"),
        ungradable("g", "no_files", "no toy.py in your upload (found: toy.ipynb)"),
        ungradable("h", "too_big", "a future kind of ingest error"),
        doc("i", ["passed", "error", "failed", "failed"], error="grader_error"),
        {**ungradable("j", "grader_error", "pytest did not finish"), "max_score": None},
    ]


def test_every_result_in_one_group_as_in_the_gradebook():
    from autograder.report import batch_summary

    docs = mixed_class()
    assert [report.group(d) for d in docs] == ["graded"] * 5 + ["could not be graded"] * 3 + ["grader error"] * 2
    s = classreport.summarise(docs)
    assert (s.submissions, s.graded, s.ungradable, s.grader_errors, s.tested) == (10, 5, 3, 2, 6)
    assert s.graded + s.ungradable + s.grader_errors == s.submissions
    # The statistics are over the five graded only.
    assert (s.mean, s.median, s.mean_points, s.max_score, s.full_marks, s.zeros) == (65.0, 75.0, 2.6, 4.0, 2, 1)
    # The gradebook's summary line counts the same.
    line = batch_summary(docs)[0]
    assert re.match(r"5 graded\b", line) and "3 could not be graded" in line
    assert re.search(r"\b2 with a grader error", line, re.I)


def test_summary_table_and_its_note():
    s = classreport.summarise(mixed_class())
    html = classreport._summary_html(s, mixed_class())
    assert html == (
        '<table class="summary">'
        "<tr><td>submissions</td><td>10</td></tr>"
        "<tr><td>graded</td><td>5</td></tr>"
        "<tr><td>could not be graded (invalid upload or no files; scored 0)</td><td>3</td></tr>"
        "<tr><td>with a grader error (not the student&#x27;s fault; `--resume` regrades them)</td><td>2</td></tr>"
        "<tr><td>mean score of the graded</td><td>65.0% (2.6 of 4 points)</td></tr>"
        "<tr><td>median score of the graded</td><td>75.0%</td></tr>"
        "<tr><td>full marks</td><td>2</td></tr>"
        "<tr><td>zero points</td><td>1</td></tr>"
        "<tr><td>seed</td><td>7</td></tr>"
        "</table>"
        '<p class="note">Mean, median, full marks and zero points are over the 5 graded submission(s), as is the '
        "histogram's blue; the 3 that could not be graded (scored 0, red in the histogram) and the 2 with a "
        "grader error (not drawn) are counted apart, as in the gradebook.</p>")


def test_score_figure_draws_the_summary_numbers(monkeypatch):
    """The histogram counts every graded and every ungradable student, and its mean and median are the
    table's; the grader errors are named in the legend, not drawn."""
    figures = []
    monkeypatch.setattr(classreport, "_png", lambda fig: figures.append(fig) or "png")
    docs = mixed_class()
    assert classreport.score_figure(docs, classreport.summarise(docs)) == "png"
    fig, = figures
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(legend) == sorted(["graded (5)", "could not be graded (3; scored 0)", "mean of the graded 65.0%",
                                     "median of the graded 75.0%", "not drawn: 2 with a grader error"])
    ax, = fig.axes
    blue, red = ax.containers
    assert sum(bar.get_height() for bar in blue) == 5
    assert sum(bar.get_height() for bar in red) == 3 and red[0].get_height() == 3  # all at 0%
    assert blue[0].get_height() == 1  # c, the one graded with 0 points
    assert [line.get_xdata()[0] for line in ax.lines[:2]] == [65.0, 75.0]
    # Without a summary it computes the same one.
    classreport.score_figure(docs)
    assert [t.get_text() for t in figures[1].legends[0].get_texts()] == legend
