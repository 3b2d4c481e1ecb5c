"""What each shipped sample submission must score, read from ``samples/expected.toml``.

One table per sample folder::

    [reference]
    score = "max"                 # full marks
    [stub]
    score = 0
    [wrong-db-not-summed]
    below_max = true
    mistakes = ["db not summed over the batch"]   # each must be named in the feedback
    [attack-float-subclass]
    at_most = "stub"              # no more than the stub's score
    output_contains = "..."       # some test's message contains this text
    [gpu-hog]
    score = "max"                 # without CUDA (its gpu tests skipped)...
    [gpu-hog.with_gpu]
    below_max = true              # ...and instead of all the above where its gpu tests ran

The engine's tests and ``autograder samples`` both check them.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

EXPECTED_FILE = "expected.toml"


def load_expectations(samples_dir: Path) -> dict[str, dict]:
    path = Path(samples_dir) / EXPECTED_FILE
    return tomllib.loads(path.read_text()) if path.is_file() else {}


def check_expectations(docs: list[dict], expected: dict[str, dict]) -> list[str]:
    """Human-readable problems; empty when every sample scored as expected."""
    by_student = {d["student"]: d for d in docs}
    problems = []
    for student, doc in by_student.items():
        want = expected.get(student)
        if want is None:
            problems.append(f"{student}: no entry in {EXPECTED_FILE}")
            continue
        problems += [f"{student}: {p}" for p in _check_one(doc, want, by_student)]
    for student in sorted(set(expected) - set(by_student)):
        problems.append(f"{student}: listed in {EXPECTED_FILE} but not graded")
    return problems


def _check_one(doc: dict, want: dict, by_student: dict[str, dict]) -> list[str]:
    gpu_ran = any(t.get("gpu") and t.get("outcome") != "skipped" for t in doc.get("tests", []))
    want = want.get("with_gpu", want) if gpu_ran else {k: v for k, v in want.items() if k != "with_gpu"}
    problems = []
    if doc.get("error") == "grader_error":  # no verdict on the sample at all: the machine failed it
        problems.append(f"grader error: {doc['output'].splitlines()[0]}")
    score, max_score = doc["score"], doc.get("max_score") or 0
    if "score" in want:
        target = max_score if want["score"] == "max" else float(want["score"])
        if abs(score - target) > 1e-9:
            problems.append(f"scored {score:g}, expected {target:g}")
    if want.get("below_max") and not score < max_score:
        problems.append(f"scored {score:g} of {max_score:g}, expected to lose points")
    if "at_most" in want:
        ref = want["at_most"]
        limit = by_student[ref]["score"] if isinstance(ref, str) and ref in by_student else float(ref)
        if score > limit + 1e-9:
            problems.append(f"scored {score:g}, more than {ref} ({limit:g})")
    for name in want.get("mistakes", []):
        if name not in doc.get("mistakes", []):
            problems.append(f"mistake {name!r} not named (named: {doc.get('mistakes', [])})")
    text = want.get("output_contains")
    if text and not any(text in t.get("output", "") for t in doc.get("tests", [])) and text not in doc.get("output", ""):
        problems.append(f"no test message contains {text!r}")
    return problems
