"""What isolation costs: grade N copies of the reference isolated, then in-process.

Both runs use the same judge (one pytest run per submission, in this process,
one after another), the same tests and the same seed; the only difference is
where student code runs. Each copy is graded isolated and then in-process,
so that a change in the machine's speed during the run affects both. In-process (no isolation at all) is the physical
limit. Target: isolated <= 1.2 x in-process + 15 ms per submission.

    .venv/bin/python benchmarks/bench_grading.py --copies 20
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(COURSE))

from autograder.config import solution_assignment  # noqa: E402
from autograder.grade import GradeTask, grade_one, warm  # noqa: E402


def make_copies(assignment, n: int, root: Path) -> list[Path]:
    folders = []
    for i in range(n):
        folder = root / f"student-{i:03d}"
        folder.mkdir(parents=True)
        for module in assignment.modules:
            shutil.copy(assignment.folder / f"{module}.py", folder)
        folders.append(folder)
    return folders


def grade(assignment, folder: Path, isolation: str, out: Path, seed: int) -> float:
    task = GradeTask(
        assignment_dir=str(assignment.folder), tests_dir=str(assignment.tests_dir), submission=str(folder),
        student=folder.name, results=str(out / f"{isolation}-{folder.name}.json"),
        reference_dir=str(assignment.folder), seed=seed, isolation=isolation,
    )
    start = time.perf_counter()
    doc = grade_one(task)
    elapsed = time.perf_counter() - start
    if doc.get("score") != doc.get("max_score"):
        raise SystemExit(f"{isolation}: the reference did not get full marks ({doc.get('output')})")
    return elapsed


def grade_interleaved(assignment, folders: list[Path], out: Path, seed: int,
                      cpus: dict[str, set[int] | None]) -> dict[str, list[float]]:
    """Each copy graded isolated, then in-process: a drift in the machine's speed hits both alike.

    Each mode runs on the CPUs `autograder grade -j 1` gives it: an isolated judge is
    kept on one CPU with its worker (grade.pin_judge), an in-process judge keeps them all.
    """
    times: dict[str, list[float]] = {"fork": [], "none": []}
    for folder in folders:
        for isolation in times:
            if cpus[isolation]:
                os.sched_setaffinity(0, cpus[isolation])
            times[isolation].append(grade(assignment, folder, isolation, out, seed))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--assignment", default="backprop")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    assignment = solution_assignment(COURSE, args.assignment)
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as tmp:
        root = Path(tmp)
        folders = make_copies(assignment, args.copies + 1, root / "subs")
        (root / "out").mkdir()
        every = warm("fork", cpu_slot=0)  # as `autograder grade -j 1` does
        cpus = {"fork": os.sched_getaffinity(0) if every else None, "none": every}
        grade_interleaved(assignment, folders[:1], root / "out", args.seed, cpus)  # warm-up, not timed
        results = grade_interleaved(assignment, folders[1:], root / "out", args.seed, cpus)

    iso, inproc = statistics.mean(results["fork"]), statistics.mean(results["none"])
    budget = 1.2 * inproc + 0.015
    print(f"assignment {args.assignment}, {args.copies} copies of the reference, one judge, sequential, interleaved")
    print(f"isolated (fork server + sandbox): {iso * 1000:8.1f} ms per submission "
          f"(median {statistics.median(results['fork']) * 1000:.1f})")
    print(f"in-process (no isolation):        {inproc * 1000:8.1f} ms per submission "
          f"(median {statistics.median(results['none']) * 1000:.1f})")
    print(f"ratio isolated / in-process:      {iso / inproc:8.3f}")
    print(f"overhead per submission:          {(iso - inproc) * 1000:8.1f} ms")
    verdict = "met" if iso <= budget else "NOT met"
    print(f"target isolated <= 1.2 x in-process + 15 ms = {budget * 1000:.1f} ms: {verdict}")
    sys.exit(0 if iso <= budget else 1)


if __name__ == "__main__":
    main()
