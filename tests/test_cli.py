"""End-to-end tests of the ``autograder`` command, run as a subprocess the way users run it.

The slow runs (two ``check`` runs and three ``grade`` runs) all start at once in one
module-scoped fixture and are awaited by the tests that read their results.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.config import solution_assignment
from autograder.ingest import file_name
from autograder.release import release_assignment
from autograder.samples import sample_files

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "solutions" / "backprop"
MODULES = ("backprop.py", "backprop_torch.py")
CLI = [sys.executable, "-m", "autograder.cli"]
TIMEOUT = 400
STUDENTS = ["alice", "bob", "carol", "dave"]
TEST_KEYS = {"name", "score", "max_score", "status", "visibility", "output"}


def cli_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_COURSE"}
    env.update(COLUMNS="250", NO_COLOR="1", TERM="dumb", PYTHONDONTWRITEBYTECODE="1")
    return env


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:  # shown when an assertion fails
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"


def run(args, cwd, timeout=120) -> Result:
    p = subprocess.run([*CLI, *map(str, args)], cwd=cwd, env=cli_env(), capture_output=True, text=True,
                       timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


class Background:
    """Subprocesses started together; result() waits for one of them."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, tuple[subprocess.Popen, Path, Path]] = {}
        self.done: dict[str, Result] = {}

    def start(self, name, args, cwd) -> None:
        out, err = self.logs / f"{name}.out", self.logs / f"{name}.err"
        with open(out, "w") as fo, open(err, "w") as fe:
            proc = subprocess.Popen([*CLI, *map(str, args)], cwd=cwd, env=cli_env(), stdout=fo, stderr=fe,
                                    stdin=subprocess.DEVNULL)
        self.procs[name] = (proc, out, err)

    def result(self, name) -> Result:
        if name not in self.done:
            proc, out, err = self.procs[name]
            try:
                proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"`autograder {name}` ran longer than {TIMEOUT} s")
            self.done[name] = Result(proc.returncode, out.read_text(), err.read_text())
        return self.done[name]

    def stop(self) -> None:
        for proc, _, _ in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def copy_modules(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in MODULES:
        shutil.copy2(src / name, dst / name)


def zip_modules(src: Path, archive: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(archive, "w") as zf:
        for name in MODULES:
            zf.write(src / name, prefix + name)


@dataclass
class World:
    base: Path
    released: Path
    stub_copy: Path
    ref_copy: Path
    subs: Path
    out: Path
    seed_subs: Path
    seed_outs: tuple[Path, Path]
    runs: Background
    odd_out: Path


HYPERLINK = '=HYPERLINK("evil.example","click")'
ODD_REFERENCE = ["-pthis", "@ids", "\x1b[31mred\nline", "y" * 251]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    released = base / "released" / "backprop"
    release_assignment(SOLUTION, released)  # independent of the checked-in assignments/

    stub_copy = base / "stub" / "backprop"
    shutil.copytree(released, stub_copy)
    ref_copy = base / "ref" / "backprop"
    shutil.copytree(released, ref_copy)
    copy_modules(SOLUTION, ref_copy)

    subs = base / "subs"
    copy_modules(SOLUTION, subs / "alice")
    copy_modules(released, subs / "bob")
    zip_modules(SOLUTION, subs / "carol.zip")
    (subs / "dave.zip").write_bytes(os.urandom(256))

    # Two more students for the --seed runs: a catalogued mistake, and a zip whose module
    # (otherwise the reference) first tries to read another student's file.
    seed_subs = base / "seed-subs"
    seed_subs.joinpath("erin").mkdir(parents=True)
    for name, data in sample_files(solution_assignment(REPO, "backprop"), "wrong-db-not-summed").items():
        (seed_subs / "erin" / name).write_bytes(data)
    stolen = seed_subs / "erin" / "backprop.py"
    with zipfile.ZipFile(seed_subs / "mallory.zip", "w") as zf:
        zf.writestr("backprop.py", f"_STOLEN = open({str(stolen)!r}).read()\n" + (SOLUTION / "backprop.py").read_text())
        zf.write(SOLUTION / "backprop_torch.py", "backprop_torch.py")

    logs = base / "logs"
    logs.mkdir()
    runs = Background(logs)
    out = base / "out"
    seed_outs = (base / "seed-out-1", base / "seed-out-2")
    runs.start("check-stub", ["check", "backprop"], cwd=stub_copy)
    runs.start("check-ref", ["check", "backprop"], cwd=ref_copy)
    # cwd inside the course: the course root is found from there.
    runs.start("grade", ["grade", "backprop", subs, "--out", out, "--jobs", "1"], cwd=REPO)
    # cwd outside the course, --course given; one run in-process, one through the process pool.
    runs.start("grade-seed-1", ["grade", "backprop", seed_subs, "--out", seed_outs[0], "--seed", "123",
                                "--jobs", "1", "--course", REPO], cwd=base)
    runs.start("grade-seed-2", ["grade", "backprop", seed_subs, "--out", seed_outs[1], "--seed", "123",
                                "--jobs", "2", "--course", REPO], cwd=base)
    # Students whose ids and folders attack the grader itself (see test_odd_ids_and_links_end_to_end).
    odd_subs, odd_out = base / "odd-subs", base / "odd-out"
    for student in ODD_REFERENCE:
        copy_modules(SOLUTION, odd_subs / student)
    copy_modules(released, odd_subs / HYPERLINK)
    (odd_subs / "linked").mkdir()
    (odd_subs / "linked" / "hw").symlink_to(SOLUTION, target_is_directory=True)
    (odd_subs / "copycat").symlink_to("-pthis")
    runs.start("grade-odd", ["grade", "backprop", odd_subs, "--out", odd_out, "--jobs", "1", "--course", REPO],
               cwd=base)
    yield World(base, released, stub_copy, ref_copy, subs, out, seed_subs, seed_outs, runs, odd_out)
    runs.stop()


# --------------------------------------------------------------------- helpers


def table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("│").split("│")] for line in text.splitlines()
            if line.startswith("│")]


def check_rows(result: Result) -> tuple[list[list[str]], tuple[float, float]]:
    """The per-test rows of the check table and its total (score, max)."""
    rows = table_rows(result.stdout)
    assert rows and rows[-1][0] == "total", result
    score, max_score = re.fullmatch(r"([\d.]+) / ([\d.]+)", rows[-1][2]).groups()
    return rows[:-1], (float(score), float(max_score))


def points(cell: str) -> tuple[float, float]:
    a, b = re.fullmatch(r"([\d.]+) / ([\d.]+)", cell).groups()
    return float(a), float(b)


def load(out: Path, student: str) -> dict:
    return json.loads((out / f"{student}.json").read_text())


def grades_rows(out: Path) -> list[list[str]]:
    """The rows of out/grades.csv below its header."""
    with open(out / "grades.csv", newline="") as fh:
        return list(csv.reader(fh))[1:]


def mask_addresses(text: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "0x?", text)


# --------------------------------------------------------------------- quick commands


def test_help_lists_every_command(tmp_path):
    r = run(["--help"], cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r
    listed = re.findall(r"^  (\w+)\s", r.stdout.split("Commands:")[1], re.M)
    assert set(listed) >= {"check", "grade", "release", "samples", "validate"}, r


def test_console_script_is_installed_next_to_the_interpreter(tmp_path):
    script = Path(sys.executable).with_name("autograder")
    if not script.exists():
        pytest.skip(f"no console script at {script} (package not installed in this environment)")
    p = subprocess.run([str(script), "--help"], cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and "Autograded deep-learning exercises." in p.stdout


def test_check_with_the_wrong_assignment_name(world):
    r = run(["check", "softmax"], cwd=world.stub_copy, timeout=60)
    assert r.returncode != 0, r
    assert "'softmax'" in r.stderr and "'backprop'" in r.stderr, r
    assert "Traceback" not in r.stderr


def test_check_outside_an_assignment_folder(tmp_path):
    r = run(["check", "backprop"], cwd=tmp_path, timeout=60)
    assert r.returncode == 1, r
    assert "assignment.toml" in r.stderr and "not found" in r.stderr, r
    assert "Traceback" not in r.stderr


def test_check_path_argument_must_exist(tmp_path):
    r = run(["check", "backprop", tmp_path / "missing"], cwd=tmp_path, timeout=60)
    assert r.returncode == 2, r
    assert "does not exist" in r.stderr


def test_grade_unknown_assignment(tmp_path):
    (tmp_path / "subs" / "x").mkdir(parents=True)
    r = run(["grade", "nonexistent", tmp_path / "subs", "--out", tmp_path / "out", "--course", REPO],
            cwd=tmp_path, timeout=60)
    assert r.returncode != 0, r
    assert "no assignment 'nonexistent'" in r.stderr and "backprop" in r.stderr, r


def test_release_check_in_sync():
    if not (REPO / "assignments" / "backprop").is_dir():
        pytest.skip("assignments/backprop is not generated yet (run `autograder release`)")
    r = run(["release", "--check"], cwd=REPO, timeout=120)
    assert r.returncode == 0, r
    assert "in sync" in r.stdout


def test_grade_survives_markup_in_a_zip_entry_name(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "mallory.zip", "w") as zf:
        zf.writestr("../[/x]", "x")
    r = run(["grade", "backprop", subs, "--out", tmp_path / "out", "--course", REPO], cwd=tmp_path, timeout=60)
    assert (tmp_path / "out" / "grades.csv").is_file()
    assert r.returncode == 0, r
    assert "unsafe path '../[/x]'" in r.stdout, r


# --------------------------------------------------------------------- check


def test_check_on_the_stubs_fails_with_todo(world):
    r = world.runs.result("check-stub")
    assert r.returncode == 1, r
    rows, (score, max_score) = check_rows(r)
    assert score == 0 and max_score > 0
    assert {row[1] for row in rows} == {"TODO"}, r
    assert sum(points(row[2])[1] for row in rows) == max_score
    assert all(points(row[2])[0] == 0 for row in rows)
    assert f"0 / {max_score:g}" in r.stdout
    assert r.stdout.count("not implemented") >= len(rows)
    assert re.search(r"^isolation: \S", r.stdout, re.M), r


def test_check_on_the_reference_passes(world):
    r = world.runs.result("check-ref")
    assert r.returncode == 0, r
    rows, (score, max_score) = check_rows(r)
    assert score == max_score > 0
    assert rows and {row[1] for row in rows} == {"PASS"}, r
    assert all(points(row[2])[0] == points(row[2])[1] for row in rows)
    assert f"{max_score:g} / {max_score:g}" in r.stdout
    assert "not implemented" not in r.stdout
    line = re.search(r"^isolation: (.+)$", r.stdout, re.M)
    assert line and len(line.group(1)) > 3, r
    seed = re.search(r"^seed: (\d+) .*--seed (\d+)", r.stdout, re.M)
    assert seed and seed.group(1) == seed.group(2), r


def test_check_stub_and_reference_have_the_same_tests(world):
    stub_rows, (_, stub_max) = check_rows(world.runs.result("check-stub"))
    ref_rows, (_, ref_max) = check_rows(world.runs.result("check-ref"))
    assert stub_max == ref_max
    assert [r[0] for r in stub_rows] == [r[0] for r in ref_rows]


def test_check_runs_exactly_the_public_tests_that_grading_runs(world):
    """The check total equals the points of the visible tests in a graded document."""
    rows, (_, check_max) = check_rows(world.runs.result("check-ref"))
    alice = graded(world)["alice"]
    visible = [t for t in alice["tests"] if t["visibility"] == "visible" and t["status"] != "skipped"]
    assert sum(t["max_score"] for t in visible) == check_max
    assert len(visible) == len(rows)


def test_check_table_shows_parametrize_ids(world):
    rows, _ = check_rows(world.runs.result("check-ref"))
    names = [r[0] for r in rows]
    assert any(re.search(r"\[\w+\]$", n) for n in names), names
    assert len(set(names)) == len(names), names


def test_check_does_not_modify_the_working_copy(world):
    world.runs.result("check-ref")
    world.runs.result("check-stub")
    for folder in (world.stub_copy, world.ref_copy):
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                       if "__pycache__" not in p.parts and p.is_file())
        # What release wrote (modules, public tests, notebooks) and nothing that check added.
        assert [f for f in files if not f.endswith(".ipynb")] == [
            "assignment.toml", "backprop.py", "backprop_torch.py", "tests/test_public.py"]
    assert (world.ref_copy / "backprop.py").read_bytes() == (SOLUTION / "backprop.py").read_bytes()


# --------------------------------------------------------------------- grade


def graded(world) -> dict[str, dict]:
    r = world.runs.result("grade")
    assert r.returncode == 0, r
    return {s: load(world.out, s) for s in STUDENTS}


def test_grade_exit_code_and_files(world):
    r = world.runs.result("grade")
    assert r.returncode == 0, r
    names = sorted(p.name for p in world.out.iterdir() if not p.name.startswith("."))
    assert names == ["alice.json", "bob.json", "carol.json", "dave.json", "feedback", "grades.csv", "report.html"]
    assert sorted(p.name for p in (world.out / "feedback").iterdir()) == sorted(
        f"{s}.{ext}" for s in ("alice", "bob", "carol", "dave") for ext in ("md", "html"))
    assert sorted(p.name for p in world.subs.iterdir()) == ["alice", "bob", "carol.zip", "dave.zip"]


def test_grade_reference_gets_full_marks(world):
    alice = graded(world)["alice"]
    assert alice["student"] == "alice" and alice["assignment"] == "backprop"
    assert alice["max_score"] > 0
    assert alice["score"] == alice["max_score"]
    assert {t["status"] for t in alice["tests"]} <= {"passed", "skipped"}
    assert any(t["status"] == "passed" for t in alice["tests"])
    assert alice["mistakes"] == []


def test_grade_stub_gets_zero_and_says_not_implemented(world):
    docs = graded(world)
    bob = docs["bob"]
    assert bob["score"] == 0
    assert bob["max_score"] == docs["alice"]["max_score"]
    assert not any(t["status"] == "passed" for t in bob["tests"])
    assert any("not implemented" in t["output"] for t in bob["tests"])
    assert sum(t["outcome"] == "not_implemented" for t in bob["tests"]) >= len(bob["tests"]) // 2


def test_grade_zip_is_graded_like_the_same_folder(world):
    docs = graded(world)
    alice, carol = docs["alice"], docs["carol"]
    assert carol["score"] == alice["score"] == alice["max_score"]
    assert carol["max_score"] == alice["max_score"]
    assert [(t["name"], t["status"], t["score"]) for t in carol["tests"]] == \
           [(t["name"], t["status"], t["score"]) for t in alice["tests"]]


def test_grade_broken_zip_gets_a_plain_message(world):
    docs = graded(world)
    dave = docs["dave"]
    assert dave["score"] == 0
    assert dave["max_score"] == docs["alice"]["max_score"]
    assert "dave.zip" in dave["output"] and "valid .zip" in dave["output"]
    assert dave["tests"] == []
    assert dave["error"] == "invalid"


def test_grade_documents_have_the_promised_fields(world):
    docs = graded(world)
    for student in ["alice", "bob", "carol"]:
        d = docs[student]
        assert type(d["seed"]) is int and 0 <= d["seed"]
        assert isinstance(d["isolation"], dict) and d["isolation"]["mode"] in {"fork", "spawn", "none"}
        assert d["tests"]
        for t in d["tests"]:
            assert TEST_KEYS <= set(t), t
            assert isinstance(t["name"], str) and t["name"]
            assert t["status"] in {"passed", "failed", "skipped"}
            assert t["visibility"] in {"visible", "hidden", "after_due_date"}
            assert isinstance(t["output"], str)
            assert 0 <= t["score"] <= t["max_score"] or (t["status"] == "skipped" and t["score"] == 0)
            if t["status"] == "passed":
                assert t["score"] == t["max_score"] > 0
        counted = [t for t in d["tests"] if t["status"] != "skipped"]
        assert d["score"] == pytest.approx(sum(t["score"] for t in counted))
        assert d["max_score"] == pytest.approx(sum(t["max_score"] for t in counted))
        assert {"visible", "hidden"} <= {t["visibility"] for t in d["tests"]}


def test_grades_csv(world):
    docs = graded(world)
    with open(world.out / "grades.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["student", "name", "score", "max_score", "percent", "tests_passed", "tests", "mistakes",
                       "error", "points_not_graded"]
    assert [r[0] for r in rows[1:]] == STUDENTS
    full = docs["alice"]["max_score"]
    assert [(r[2], r[3], r[4]) for r in rows[1:]] == [
        (f"{full:g}", f"{full:g}", "100.0"),
        ("0", f"{full:g}", "0.0"),
        (f"{full:g}", f"{full:g}", "100.0"),
        ("0", f"{full:g}", "0.0"),
    ]
    passed_alice = sum(t["status"] == "passed" for t in docs["alice"]["tests"])
    assert rows[1][5] == str(passed_alice) and rows[1][6] == str(passed_alice)
    assert rows[2][5] == "0" and rows[2][6] == str(passed_alice)
    assert rows[4][6] == "0" and rows[4][8] == "invalid"
    assert rows[1][8] == rows[2][8] == rows[3][8] == ""


def test_a_class_is_graded_with_one_seed_recorded_and_printed(world):
    docs = graded(world)
    seeds = {docs[s]["seed"] for s in ("alice", "bob", "carol")}
    assert len(seeds) == 1, seeds
    r = world.runs.result("grade")
    assert f"seed: {seeds.pop()}, for every submission" in r.stdout, r


def test_grade_prints_the_gradebook(world):
    docs = graded(world)
    r = world.runs.result("grade")
    full = docs["alice"]["max_score"]
    rows = table_rows(r.stdout)
    by_student = {row[0]: row for row in rows if row[0]}
    assert set(STUDENTS) <= set(by_student), r
    assert by_student["alice"][1] == f"{full:g} / {full:g}" and by_student["alice"][2] == "100%"
    assert by_student["bob"][1] == f"0 / {full:g}" and by_student["bob"][2] == "0%"
    assert by_student["carol"][1] == f"{full:g} / {full:g}"
    assert "dave.zip" in by_student["dave"][4]
    assert "backprop: 4 submissions" in r.stdout
    assert f"{world.out.resolve()}/<student>.json and grades.csv" in r.stdout


# --------------------------------------------------------------------- --seed


def seeded(world) -> tuple[dict, dict]:
    docs = []
    for i, out in enumerate(world.seed_outs, 1):
        r = world.runs.result(f"grade-seed-{i}")
        assert r.returncode == 0, r
        docs.append({s: load(out, s) for s in ("erin", "mallory")})
    return docs[0], docs[1]


def test_same_seed_same_results(world):
    first, second = seeded(world)
    for student in ("erin", "mallory"):
        a, b = first[student], second[student]
        assert a["seed"] == b["seed"] == 123
        assert [(t["name"], t["score"], t["outcome"]) for t in a["tests"]] == \
               [(t["name"], t["score"], t["outcome"]) for t in b["tests"]]
        assert a["score"] == b["score"]
        # The random inputs show in failure messages: identical inputs, identical messages.
        assert [mask_addresses(t["output"]) for t in a["tests"]] == [mask_addresses(t["output"]) for t in b["tests"]]


def test_seeded_wrong_submission_scores_between_zero_and_full(world):
    erin = seeded(world)[0]["erin"]
    assert 0 < erin["score"] < erin["max_score"]
    assert "db not summed over the batch" in erin["mistakes"]
    assert any("Known mistake: db not summed over the batch" in t["output"] for t in erin["tests"])


def test_numpy_scalar_loss_is_not_marked_wrong(world):
    erin = seeded(world)[0]["erin"]
    bad = [t["name"] for t in erin["tests"] if "yours is array float64 of shape (1,), expected float" in t["output"]
           or "where 1 = <function ndim" in t["output"]]
    assert bad == []


def test_a_zip_submission_cannot_read_another_students_files(world):
    mallory = seeded(world)[0]["mallory"]
    filesystem = mallory["isolation"].get("filesystem", "")
    if mallory["isolation"].get("mode") == "none" or not filesystem.startswith(("private root", "private mount")):
        pytest.skip(f"no filesystem isolation on this machine ({filesystem})")
    stolen = str(world.seed_subs / "erin" / "backprop.py")
    failed_import = [t for t in mallory["tests"] if "importing your code failed" in t["output"]]
    assert failed_import, [t["output"][:200] for t in mallory["tests"]]
    assert all(stolen in t["output"] for t in failed_import)
    assert any(e in failed_import[0]["output"] for e in ("FileNotFoundError", "PermissionError"))
    assert mallory["score"] < mallory["max_score"]


# --------------------------------------------------------------------- ids and folders that attack the grader


def test_odd_ids_and_links_end_to_end(world):
    """Ids that are pytest options, argument files, formulas, terminal escapes or too long for a file
    name are graded like any other; a folder linked to the solutions or to a classmate is refused."""
    r = world.runs.result("grade-odd")
    assert r.returncode == 0, r
    docs = {s: json.loads((world.odd_out / f"{file_name(s)}.json").read_text())
            for s in [*ODD_REFERENCE, HYPERLINK, "linked", "copycat"]}
    assert {s: d["student"] for s, d in docs.items()} == {s: s for s in docs}
    full = docs["-pthis"]["max_score"]
    assert [docs[s]["score"] for s in ODD_REFERENCE] == [full] * 4
    assert docs[HYPERLINK]["score"] == 0 and docs[HYPERLINK]["tests"]
    assert (docs["linked"]["output"], docs["linked"]["error"]) == (
        "hw is a symbolic link; upload the files themselves.", "invalid")
    assert docs["copycat"]["output"] == "copycat is a symbolic link; upload the files themselves."
    assert docs["copycat"]["score"] == docs["linked"]["score"] == 0
    # The files: plain ids are their own names, the others are cleaned, cut and hashed.
    names = sorted(p.name for p in world.odd_out.iterdir() if not p.name.startswith("."))
    assert names == sorted(["grades.csv", "feedback", "report.html", *(f"{file_name(s)}.json" for s in docs)])
    assert "-pthis.json" in names and "@ids.json" in names and f"{HYPERLINK}.json" in names
    assert [(row[0], row[2]) for row in grades_rows(world.odd_out)] == [
        ("\\x1b[31mred\\nline", f"{full:g}"), ("'-pthis", f"{full:g}"), (f"'{HYPERLINK}", "0"),
        ("'@ids", f"{full:g}"), ("copycat", "0"), ("linked", "0"), ("y" * 251, f"{full:g}")]
    # Nothing raw reaches the terminal: the escape shows as text.
    assert "\x1b" not in r.stdout + r.stderr
    assert "\\x1b[31mred" in r.stdout


def test_a_killed_batch_keeps_its_grades_and_resume_completes_it(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    copy_modules(SOLUTION, subs / "a")
    copy_modules(REPO / "assignments" / "backprop", subs / "b")
    copy_modules(REPO / "assignments" / "backprop", subs / "c")
    args = [*CLI, "grade", "backprop", subs, "--out", out, "--jobs", "1", "--course", REPO, "--no-report"]
    proc = subprocess.Popen(args, cwd=tmp_path, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT
    # Kill (-9) once the first result is in grades.csv, or at the latest when the second one is done.
    while not (out / "grades.csv").exists() and not (out / "b.json").exists() and time.monotonic() < deadline:
        assert proc.poll() is None, "the batch ended before it could be killed"
        time.sleep(0.01)
    proc.kill()
    assert proc.wait() == -signal.SIGKILL
    done = {p.stem for p in out.glob("*.json")}
    assert "a" in done and "c" not in done
    rows = {row[0]: row[2] for row in grades_rows(out)}
    assert "a" in rows and set(rows) <= done
    assert rows == {s: f"{load(out, s)['score']:g}" for s in rows}
    seed = load(out, "a")["seed"]

    r = run(["grade", "backprop", subs, "--out", out, "--jobs", "1", "--course", REPO, "--resume", "--no-report"],
            cwd=tmp_path,
            timeout=TIMEOUT)
    assert r.returncode == 0, r
    rows = {row[0]: row[2] for row in grades_rows(out)}
    full = load(out, "a")["max_score"]
    assert rows == {"a": f"{full:g}", "b": "0", "c": "0"}
    assert load(out, "a")["seed"] == seed  # kept, not graded again
    assert load(out, "b")["seed"] == load(out, "c")["seed"] == seed  # the class's one seed
