"""Every assignment's sample submissions, graded in one batch each, score as expected.

The batch mixes the reference, the stub, realistic wrong submissions and the
attacks, so it also shows that hanging, crashing and memory-hungry
submissions are contained while the rest of the same batch is graded right.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.config import list_assignments, solution_assignment
from autograder.grade import grade_batch
from autograder.ingest import discover
from autograder.samples import check_expectations, load_expectations, unpack_samples

COURSE = Path(__file__).resolve().parents[1]
ASSIGNMENTS = list_assignments(COURSE)
SEED = 20261121


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    a = solution_assignment(COURSE, request.param)
    out = tmp_path_factory.mktemp(f"samples-{a.name}")
    subs = discover(unpack_samples(a, out / ".unpacked"), out / ".staging", a.modules[0])
    docs = grade_batch(a, subs, out, reference_dir=a.folder, seed=SEED)
    return a, {d["student"]: d for d in docs}, out


def test_there_are_assignments():
    assert "backprop" in ASSIGNMENTS


def test_every_sample_scores_as_expected(graded):
    a, docs, _ = graded
    expected = load_expectations(a.samples_dir)
    assert {"reference", "stub"} <= set(expected)
    problems = check_expectations(list(docs.values()), expected)
    assert problems == []


def test_reference_gets_full_marks_in_the_same_batch_as_the_attacks(graded):
    _, docs, _ = graded
    ref = docs["reference"]
    assert ref["max_score"] > 0 and ref["score"] == ref["max_score"]
    assert all(t["outcome"] in ("passed", "skipped") for t in ref["tests"])
    assert ref["seed"] == SEED


def test_stub_reads_not_implemented_everywhere(graded):
    _, docs, _ = graded
    stub = docs["stub"]
    graded_tests = [t for t in stub["tests"] if t["outcome"] != "skipped"]
    assert stub["score"] == 0 and graded_tests
    assert all(t["outcome"] == "not_implemented" for t in graded_tests)
    assert all("not implemented yet" in t["output"] and "Traceback" not in t["output"] for t in graded_tests)


def test_every_wrong_sample_has_its_mistake_named(graded):
    a, docs, _ = graded
    expected = load_expectations(a.samples_dir)
    wrong = [s for s in docs if s.startswith("wrong-")]
    assert len(wrong) >= 3
    for student in wrong:
        doc = docs[student]
        assert 0 < doc["score"] < doc["max_score"], student
        for name in expected[student].get("mistakes", []):
            assert any(name in (m["name"] for m in t["mistakes"]) for t in doc["tests"]), (student, name)


def test_no_attack_beats_the_stub(graded):
    _, docs, _ = graded
    attacks = [s for s in docs if s.startswith("attack-")]
    if not attacks:
        pytest.skip("this assignment ships no attack submissions")
    assert len(attacks) >= 12
    for student in attacks:
        assert docs[student]["score"] <= docs["stub"]["score"], student


def test_containment_messages_are_plain(graded):
    _, docs, _ = graded
    if "attack-infinite-loop" not in docs:
        pytest.skip("this assignment ships no attack submissions")
    for student, phrase in [
        ("attack-infinite-loop", "took longer than"),
        ("attack-exit-in-call", "exit code 0"),
        ("attack-memory-bomb", "memory limit"),
        ("attack-output-bomb", "printed more than"),
    ]:
        outputs = [t["output"] for t in docs[student]["tests"] if t["outcome"] != "skipped"]
        assert any(phrase in o for o in outputs), student
        assert not any("Traceback (most recent call last)" in o for o in outputs), student
        assert all(t["outcome"] != "error" for t in docs[student]["tests"]), student


def test_budget_cuts_a_submission_that_hangs_in_every_call(graded):
    a, docs, _ = graded
    if "attack-infinite-loop" not in docs:
        pytest.skip("this assignment ships no attack submissions")
    doc = docs["attack-infinite-loop"]
    outcomes = [t["outcome"] for t in doc["tests"] if t["outcome"] != "skipped"]
    assert "budget" in outcomes
    # Without the budget this submission would take one time limit per test.
    assert doc["execution_time"] < a.limits.submission_seconds + 2 * a.limits.call_seconds + 15
    assert len(outcomes) * a.limits.call_seconds > 3 * a.limits.submission_seconds


def test_fake_results_and_leaks_never_reach_the_output(graded):
    _, docs, out = graded
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert written == sorted(f"{s}.json" for s in docs)
    for path in out.glob("*.json"):
        doc = json.loads(path.read_text())
        assert doc["score"] <= doc["max_score"]
        assert "FAKE RESULT" not in doc["output"]
        assert not any("LEAKED HIDDEN TESTS" in t["output"] for t in doc["tests"])


def test_no_sample_meets_a_grader_error(graded):
    """Whatever a sample returns (a str, a tuple of the wrong length), a test that cannot go on
    with it fails as the submission's, with a message about the value, never as the grader's."""
    _, docs, _ = graded
    for student, doc in docs.items():
        errors = [(t["name"], t["output"]) for t in doc["tests"] if t["outcome"] == "error"]
        assert not errors, (student, errors[:3])


def test_results_hold_only_bounded_clean_text(graded):
    """Text from the worker (exception messages, type names, printed output) is capped and cleaned
    in the judge, whatever the submission did to the worker's own caps."""
    _, docs, out = graded
    for path in out.glob("*.json"):
        assert path.stat().st_size < 1_000_000, path.name
        doc = json.loads(path.read_text())
        texts = [doc["output"], doc.get("student_output", ""), *(t["output"] for t in doc["tests"])]
        for text in texts:
            assert len(text) <= 70_000, path.name
            assert not any(ch in text for ch in "\x1b\x00\r\x07\u202e"), (path.name, text[:200])
