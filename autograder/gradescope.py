"""Grading one Gradescope submission: what ``run_autograder`` runs (``python -m autograder.gradescope ROOT``).

Gradescope's autograder layout (its "Autograder Specifications"): the bundle unzipped in
``ROOT/source``, the student's upload in ``ROOT/submission``, the results expected in
``ROOT/results/results.json``; ROOT is ``/autograder``, or ``$AUTOGRADER_GRADESCOPE_ROOT``.

The upload is read as ``autograder grade`` reads one student's folder (ingest: a zip, folders, names
such as ``Backprop.py`` or ``backprop (1).py``), graded by the judge with the bundle's suite, seed and
the engine's sandbox, and written in Gradescope's format:

- ``score``, ``execution_time``, ``output`` (the points, or why the upload could not be graded; never a
  hidden test's text), ``visibility: "visible"``, ``stdout_visibility: "hidden"`` (this script's
  stdout, for the staff, names the failing tests);
- ``tests``: one per test run, with ``name``, ``number``, ``score``, ``max_score``, ``status``
  (passed / failed), ``output`` and ``visibility``: ``public`` tests ``"visible"``, ``hidden`` ones
  ``"hidden"`` (the staff alone see them, the student sees only the total),
  ``after_due`` ones ``"after_due_date"``. Tests skipped here (``gpu`` tests: no CUDA) are left out:
  they count in neither score nor maximum;
- ``extra_data``: the engine's record for the staff (seed, isolation, limits, versions, fingerprint,
  intake, named mistakes, the maximum, what the student's code printed).

When the grader itself fails (the reference loses points on this container, or pytest cannot run),
no results.json is written and the exit status is not 0: Gradescope then tells the student that the
autograder failed and to contact the staff, instead of recording a 0.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT_VARIABLE = "AUTOGRADER_GRADESCOPE_ROOT"
VISIBILITY = {"visible": "visible", "hidden": "hidden", "after_due_date": "after_due_date"}
STUDENT = "submission"


def gradescope_results(doc: dict, show_hidden_mistakes: bool = False) -> dict:
    """A results document of the engine in Gradescope's results.json format."""
    tests, skipped, grader_faults = [], [], 0
    for test in doc.get("tests", []):
        if test.get("outcome") == "skipped":
            skipped.append(test)
            continue
        grader_faults += test.get("outcome") == "error"
        tests.append({
            "name": test["name"],
            "number": str(test.get("number", len(tests) + 1)),
            "score": float(test.get("score") or 0),
            "max_score": float(test.get("max_score") or 0),
            "status": "passed" if test.get("outcome") == "passed" else "failed",
            "output": test.get("output") or "",
            # Anything unknown is hidden: a test's text reaches a student only when its mark says so.
            "visibility": VISIBILITY.get(test.get("visibility"), "hidden"),
        })
    score = float(doc.get("score") or 0)
    max_score = doc.get("max_score")
    if doc.get("error") in ("invalid", "no_files") and not doc.get("tests"):
        output = str(doc.get("output") or "Your upload could not be graded.")
    else:
        output = f"{score:g} / {float(max_score or 0):g} points"
        if skipped:
            output += (f"; {len(skipped)} GPU test(s) not run (no CUDA device on the grading machine): "
                       "they count in neither the score nor the maximum")
        if grader_faults:
            output += (f"\n{grader_faults} test(s) could not run because of a fault of the grader, not of your "
                       "code: ask the course staff to regrade.")
        if show_hidden_mistakes:
            hints = {}
            for test in doc.get("tests", []):
                if test.get("visibility") != "visible":
                    for m in test.get("mistakes") or []:
                        hints.setdefault(m["name"], m.get("hint", ""))
            output += "".join(f"\nKnown mistake: {name}. {hint}" for name, hint in sorted(hints.items()))
    extra = {key: doc[key] for key in ("assignment", "seed", "isolation", "limits", "engine", "fingerprint", "intake",
                                       "mistakes", "not_graded", "error", "student_output") if key in doc}
    extra["max_score"] = max_score
    return {
        "score": score,
        "execution_time": float(doc.get("execution_time") or 0),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"dl_autograder": extra},
    }


def _write(path: Path, data: dict) -> None:
    from .report import replaced_whole

    with replaced_whole(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _staff_summary(doc: dict) -> None:
    """What the staff read in Gradescope's "Autograder Output" (stdout; hidden from students)."""
    from .report import isolation_line

    print(f"{doc.get('assignment')}: {float(doc.get('score') or 0):g} / {float(doc.get('max_score') or 0):g} points"
          + (f" ({doc['error']})" if doc.get("error") else ""))
    for test in doc.get("tests", []):
        if test.get("outcome") not in ("passed", "skipped"):
            first = (test.get("output") or "").strip().splitlines()[:1]
            print(f"  {test.get('outcome', '?'):>15}  {test['name']} [{test.get('visibility')}]"
                  + (f": {first[0][:200]}" if first else ""))
    if doc.get("mistakes"):
        print("named mistakes: " + "; ".join(doc["mistakes"]))
    for note in (doc.get("intake") or {}).get("notes", []):
        print(f"intake: {note}")
    print(f"seed: {doc.get('seed')}  isolation: {isolation_line(doc)}")


def run(root: Path) -> int:
    """Grade ROOT/submission with the bundle in ROOT/source; write ROOT/results/results.json. Returns the
    exit status: 0 when results were written, 2 when the grader failed (no results written)."""
    from .config import load_assignment
    from .grade import CanaryFailed, GradeTask, error_document, grade_one
    from .ingest import IntakeRefused, discover

    started = time.monotonic()
    root = Path(root).resolve()
    source, submission, results = root / "source", root / "submission", root / "results"
    config = json.loads((source / "gradescope.json").read_text())
    assignment = load_assignment(source / "solutions" / config["folder"], config["assignment"])
    results.mkdir(parents=True, exist_ok=True)
    (results / "results.json").unlink(missing_ok=True)
    if os.name == "posix" and os.geteuid() == 0:
        # The worker drops to a uid of its own: where no mount namespace hides them, file modes must.
        # All of ROOT: Gradescope's harness also writes submission_metadata.json there, which holds
        # the results (hidden tests' messages included) of the student's earlier submissions.
        for folder in (source, submission, results):
            if folder.is_dir():
                folder.chmod(0o700)
        for path in root.iterdir():
            if path.is_file():
                path.chmod(0o600)
        root.chmod(0o711)
    with tempfile.TemporaryDirectory(prefix="autograder-gradescope-") as tmp:
        klass = Path(tmp) / "class"
        klass.mkdir()
        problem = "your upload could not be read: upload the .py files themselves"
        try:
            if submission.is_dir():
                # Links are copied as links: ingest refuses them, as it does in a class download.
                shutil.copytree(submission, klass / STUDENT, symlinks=True)
            else:
                (klass / STUDENT).mkdir()
            subs = discover(klass, Path(tmp) / "staging", assignment.modules, layout="folders")
        except (OSError, IntakeRefused, shutil.Error) as exc:
            subs = []
            problem = f"your upload could not be read ({type(exc).__name__}): upload the .py files themselves"
        sub = subs[0] if subs else None
        if sub is None or sub.problem or sub.folder is None:
            doc = error_document(STUDENT, assignment.name, sub.problem if sub else problem,
                                 outcome=getattr(sub, "error", "invalid") if sub else "invalid")
            if sub is not None:
                doc["intake"] = sub.intake
        else:
            task = GradeTask(
                assignment_dir=str(assignment.folder), tests_dir=str(assignment.tests_dir),
                submission=str(sub.folder), student=STUDENT, results=str(Path(tmp) / "result.json"),
                reference_dir=str(assignment.folder), seed=config.get("seed"), isolation=config.get("isolation"),
                hide=(str(root), str(source), str(submission), str(results), str(klass)),
                canary=bool(config.get("canary", True)), fingerprint=config.get("fingerprint"),
            )
            try:
                doc = grade_one(task)
            except CanaryFailed as exc:
                print("THE GRADER FAILED ON ITS OWN REFERENCE SOLUTION: no result was written, and Gradescope "
                      "tells the student the autograder failed. Fix the image (setup.sh) or the bundle, then "
                      "regrade.\n" + str(exc))
                return 2
            doc["intake"] = sub.intake
    if doc.get("error") == "grader_error":
        # Gradescope would record the tests the grader failed as the student's zeros, and nothing
        # regrades them there: write no result, so that Gradescope says the autograder failed.
        print("THE GRADER FAILED on this submission (not the student's fault): no result was written.\n"
              + str(doc.get("output")))
        return 2
    if not doc.get("execution_time"):
        doc["execution_time"] = round(time.monotonic() - started, 3)
    doc["fingerprint"] = config.get("fingerprint")
    _write(results / "results.json", gradescope_results(doc, assignment.feedback.hidden_mistakes))
    _staff_summary(doc)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0] if argv else os.environ.get(ROOT_VARIABLE) or "/autograder")
    return run(root)


if __name__ == "__main__":
    sys.exit(main())
