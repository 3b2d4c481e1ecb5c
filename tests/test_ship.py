"""Shipping the course: the Gradescope autograder run locally in a simulated /autograder, the student
release installed in a fresh virtual environment away from the course, ``submit``, and the scores into
nbgrader's gradebook."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.config import load_assignment
from autograder.gradescope import gradescope_results
from autograder.submit import SubmitError, check_modules, write_zip

REPO = Path(__file__).resolve().parent.parent
SOLUTION = REPO / "solutions" / "backprop"
RELEASED = REPO / "assignments" / "backprop"


def cli(args, cwd=REPO, timeout=240, env=None, exe=None) -> subprocess.CompletedProcess:
    command = [exe, *map(str, args)] if exe else [sys.executable, "-m", "autograder", *map(str, args)]
    full_env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_COURSE"}
    full_env.update(env or {})
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)


def public_test_names() -> set[str]:
    return set(re.findall(r"^def (test_\w+)", (RELEASED / "tests" / "test_public.py").read_text(), re.M))


# ------------------------------------------------------------------ Gradescope


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gradescope") / "backprop.zip"
    r = cli(["export", "gradescope", "backprop", "--out", out, "--seed", "42"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "set the assignment's points on Gradescope to 64" in r.stdout
    return out


def run_autograder(bundle: Path, root: Path, files: dict[str, bytes | Path], canary: bool = True):
    """Unzip the bundle into root/source, as Gradescope does, put the upload in root/submission, run
    root/run_autograder with this interpreter; returns (process, results.json or None)."""
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    for name in ("run_autograder", "setup.sh"):
        (root / "source" / name).chmod(0o755)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    if not canary:
        config = json.loads((root / "source" / "gradescope.json").read_text())
        (root / "source" / "gradescope.json").write_text(json.dumps({**config, "canary": False}))
    for rel, data in files.items():
        (root / "submission" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / rel).write_bytes(data.read_bytes() if isinstance(data, Path) else data)
    env = {"AUTOGRADER_GRADESCOPE_ROOT": str(root), "AUTOGRADER_GRADESCOPE_PYTHON": sys.executable}
    proc = subprocess.run([str(root / "run_autograder")], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **env}, cwd=root)
    results = root / "results" / "results.json"
    return proc, (json.loads(results.read_text()) if results.is_file() else None)


def check_visibility(results: dict) -> None:
    """Public tests visible; every other test hidden (or after the due date), its text with it. Public tests
    come first (the judge runs them before the others), then test_hidden.py's, which reuse some of their names."""
    public = public_test_names()
    tests = results["tests"]
    last_public = max(i for i, t in enumerate(tests) if t["visibility"] == "visible")
    for i, test in enumerate(tests):
        base = test["name"].split(":")[0].split("[")[0]
        assert set(test) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert i == 0 or int(test["number"]) > int(tests[i - 1]["number"])  # skipped gpu tests leave gaps
        if i <= last_public:
            assert base in public and test["visibility"] == "visible", test
        else:
            assert test["visibility"] in ("hidden", "after_due_date"), test
    assert {t["name"].split(":")[0].split("[")[0] for t in tests[:last_public + 1]} == public


def test_bundle_layout(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        config = json.loads(zf.read("gradescope.json"))
        wheel = next(n for n in names if n.endswith(".whl"))
    assert {"setup.sh", "run_autograder", "constraints.txt", "README.md", "gradescope.json",
            "solutions/backprop/tests/test_hidden.py", "solutions/backprop/backprop.py",
            "solutions/backprop/mistakes.py"} <= names
    assert not any("/samples/" in n or "__pycache__" in n for n in names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert config["assignment"] == "backprop" and config["seed"] == 42 and config["canary"] is True
    assert wheel == config["wheel"] and wheel.startswith("dl_autograder-")


def test_reference_full_marks_stub_zero(bundle, tmp_path):
    proc, ref = run_autograder(bundle, tmp_path / "ref", {f"{m}.py": SOLUTION / f"{m}.py"
                                                         for m in ("backprop", "backprop_torch")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ref["score"] == sum(t["max_score"] for t in ref["tests"]) == ref["extra_data"]["dl_autograder"]["max_score"]
    assert ref["score"] >= 60 and all(t["status"] == "passed" for t in ref["tests"])
    assert ref["visibility"] == "visible" and ref["stdout_visibility"] == "hidden"
    assert ref["extra_data"]["dl_autograder"]["seed"] == 42 and ref["extra_data"]["dl_autograder"]["isolation"]
    assert ref["output"].startswith(f"{ref['score']:g} / {ref['score']:g} points")
    check_visibility(ref)
    assert "64 / 64 points" in proc.stdout  # the staff's summary, in Gradescope's stdout

    proc, stub = run_autograder(bundle, tmp_path / "stub", {f"{m}.py": RELEASED / f"{m}.py"
                                                           for m in ("backprop", "backprop_torch")}, canary=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stub["score"] == 0 and len(stub["tests"]) == len(ref["tests"])
    assert all(t["status"] == "failed" and t["output"] for t in stub["tests"])
    check_visibility(stub)
    # No hidden test's message reaches the student: the visible ones are the public tests' own.
    hidden = [t["output"] for t in stub["tests"] if t["visibility"] != "visible"]
    shown = json.dumps([t for t in stub["tests"] if t["visibility"] == "visible"]) + stub["output"]
    assert hidden and not any(text in shown for text in hidden if "test_" in text)


def test_upload_with_platform_names_and_no_files(bundle, tmp_path):
    """An upload as a zip with browser-renamed files is graded like the exact names; one without any
    module gets 0 and a message the student can act on."""
    upload = tmp_path / "upload.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        zf.write(SOLUTION / "backprop.py", "hw/Backprop.py")
        zf.write(SOLUTION / "backprop_torch.py", "hw/backprop_torch (1).py")
    proc, doc = run_autograder(bundle, tmp_path / "renamed", {"upload.zip": upload}, canary=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert doc["score"] == sum(t["max_score"] for t in doc["tests"]) > 0
    assert "taken as backprop.py" in proc.stdout

    proc, doc = run_autograder(bundle, tmp_path / "none", {"notes.txt": b"hello"}, canary=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert doc["score"] == 0 and doc["tests"] == []
    assert "expected backprop.py and backprop_torch.py" in doc["output"]


def test_gradescope_results_mapping():
    doc = {"assignment": "a", "score": 1.0, "max_score": 3.0, "execution_time": 1.5, "seed": 3,
           "isolation": {"mode": "fork"}, "mistakes": ["m"], "student_output": "hi",
           "tests": [
               {"name": "p", "number": "1", "score": 1, "max_score": 1, "outcome": "passed", "output": "",
                "visibility": "visible"},
               {"name": "h", "number": "2", "score": 0, "max_score": 1, "outcome": "failed",
                "output": "secret input", "visibility": "hidden",
                "mistakes": [{"name": "m", "hint": "do x", "target": "f"}]},
               {"name": "d", "number": "3", "score": 0, "max_score": 1, "outcome": "crashed", "output": "x",
                "visibility": "after_due_date"},
               {"name": "g", "number": "4", "score": 0, "max_score": 0, "outcome": "skipped",
                "output": "GPU test skipped", "visibility": "hidden", "gpu": True},
               {"name": "w", "number": "5", "score": 0, "max_score": 0, "outcome": "error", "output": "bug",
                "visibility": "weird"},
           ]}
    gs = gradescope_results(doc)
    assert [t["name"] for t in gs["tests"]] == ["p", "h", "d", "w"]
    assert [t["visibility"] for t in gs["tests"]] == ["visible", "hidden", "after_due_date", "hidden"]
    assert [t["status"] for t in gs["tests"]] == ["passed", "failed", "failed", "failed"]
    assert "secret" not in gs["output"] and "Known mistake" not in gs["output"]
    assert "1 GPU test(s) not run" in gs["output"] and "fault of the grader" in gs["output"]
    assert gs["extra_data"]["dl_autograder"]["seed"] == 3 and "max_score" not in gs
    assert "Known mistake: m. do x" in gradescope_results(doc, show_hidden_mistakes=True)["output"]
    bad = gradescope_results({"score": 0, "max_score": None, "tests": [], "error": "no_files",
                              "output": "the submission is empty"})
    assert bad["output"] == "the submission is empty" and bad["score"] == 0


# ------------------------------------------------------------------ the student release and submit


def test_submit_checks_names(tmp_path):
    copy = tmp_path / "backprop"
    shutil.copytree(RELEASED, copy)
    a = load_assignment(copy)
    (copy / "backprop.py").rename(copy / "Backprop.py")
    with pytest.raises(SubmitError, match=r"backprop\.py is missing, but Backprop\.py looks like it: rename it"):
        check_modules(a, copy)
    (copy / "Backprop.py").rename(copy / "backprop.py")
    (copy / "backprop_torch.py").unlink()
    with pytest.raises(SubmitError, match=r"backprop_torch\.py is missing from"):
        check_modules(a, copy)
    shutil.copy2(RELEASED / "backprop_torch.py", copy / "backprop_torch.py")
    (copy / "notes.py").write_text("x = 1\n")
    zipped = write_zip(a, copy)
    assert zipped.name == "backprop-submission.zip"
    assert sorted(zipfile.ZipFile(zipped).namelist()) == ["backprop.py", "backprop_torch.py"]


def test_student_release_in_a_fresh_venv(tmp_path):
    """The release installs away from the course (no solutions, no hidden test reachable), and a student
    runs check and submit with it."""
    out = tmp_path / "release"
    r = cli(["export", "student", "backprop", "--out", out])
    assert r.returncode == 0, r.stdout + r.stderr
    wheel = next(out.glob("dl_autograder-*.whl"))
    listed = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert {"INSTALL.md", "constraints.txt", "backprop/assignment.toml", "backprop/backprop.py",
            "backprop/tests/test_public.py"} <= set(listed)
    assert not any("hidden" in p or "mistakes" in p or "samples" in p or p.startswith("solutions") for p in listed)
    assert all(n.startswith(("autograder/", "dl_autograder-")) for n in zipfile.ZipFile(wheel).namelist())
    assert f"pip install -c constraints.txt {wheel.name}" in (out / "INSTALL.md").read_text()

    # A fresh venv: the wheel installed into it; its dependencies (torch, numpy, ...) borrowed from the
    # course's venv as a plain path (its .pth files, the editable install among them, are not run).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    deps = next((Path(sys.prefix) / "lib").glob("python3*/site-packages"))
    (site / "zz_borrowed_deps.pth").write_text(f"{deps}\n")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                        "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    student = out / "backprop"
    probe = subprocess.run([venv / "bin" / "python", "-c", "import autograder, autograder.config as c; "
                            "print(autograder.__file__); print(c.find_course_root())"],
                           cwd=student, capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_COURSE", "PYTHONPATH")})
    where, course = probe.stdout.split()
    assert where.startswith(str(site)) and course == "None", probe.stdout + probe.stderr

    exe = str(venv / "bin" / "autograder")
    r = cli(["submit"], cwd=student, exe=exe)
    assert r.returncode == 1, r.stdout + r.stderr  # the stubs fail their public tests: zip written, exit 1
    assert "TODO" in r.stdout and "zip is written all the same" in r.stderr
    zipped = student / "backprop-submission.zip"
    assert sorted(zipfile.ZipFile(zipped).namelist()) == ["backprop.py", "backprop_torch.py"]
    for m in ("backprop", "backprop_torch"):
        shutil.copy2(SOLUTION / f"{m}.py", student / f"{m}.py")
    r = cli(["check", "backprop"], cwd=student, exe=exe)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "private root" in r.stdout and str(REPO / "autograder") not in r.stdout


# ------------------------------------------------------------------ nbgrader


def test_nbgrader_gradebook(tmp_path, monkeypatch):
    nbgrader_api = pytest.importorskip("nbgrader.api")
    # nbgrader runs `alembic` from PATH to make a new gradebook: the course's venv is not activated here.
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    from autograder.export import nbgrader_gradebook

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with nbgrader_api.Gradebook(url) as gb:  # a course where nbgrader already knows bob's submission
        gb.update_or_create_assignment("backprop")
        gb.update_or_create_student("bob")
        gb.add_submission("backprop", "bob")
    docs = [
        {"assignment": "backprop", "student": "alice", "score": 64.0, "max_score": 64.0,
         "intake": {"layout": "nbgrader", "ids": {"student_id": "alice"}}},
        {"assignment": "backprop", "student": "bob", "score": 53.0, "max_score": 64.0},
        {"assignment": "backprop", "student": "carol", "score": 0.0, "max_score": 64.0, "error": "grader_error"},
    ]
    done = nbgrader_gradebook(docs, url, "backprop")  # the notebook assignment itself, as --nbgrader-assignment
    assert done.written == ["alice", "bob"] and [s for s, _ in done.left_out] == ["carol"]
    docs[1]["score"] = 60.0
    nbgrader_gradebook(docs, url, "backprop")  # again: updated, not duplicated
    with nbgrader_api.Gradebook(url) as gb:
        assert gb.find_submission("backprop", "alice").score == 64.0
        assert gb.find_submission("backprop", "bob").score == 60.0
        assert gb.find_submission("backprop", "bob").max_score == 64.0
        assert gb.find_grade("autograder", "autograder", "backprop", "bob").needs_manual_grade is False
        assert sorted(s.id for s in gb.students) == ["alice", "bob"]
