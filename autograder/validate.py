"""Validation of an exercise: its hidden tests must tell right from wrong, whatever the seed.

Grades, in one batch, the reference, the released stub, and one generated
submission per catalogued mistake (the reference with that one function
replaced by its wrong variant), and on request the shipped samples, each
under several seeds. It passes when the reference gets full marks, the stub
gets zero, and every mistake loses points and is named, under every seed,
and no test's verdict on any of them changes with the seed (DESIGN.md: a
verdict depends on the code alone).
"""
from __future__ import annotations

import ast
import fnmatch
import inspect
import shutil
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Group
from rich.markup import escape
from rich.table import Table

from .config import solution_assignment
from .grade import GradeTask, run_tasks
from .ingest import Submission, discover
from .mistakes import Mistake, load_catalogue
from .release import strip_solutions
from .samples import SampleError, sample_names, unpack_samples


def variant_source(source: str, attr: str, variant) -> str:
    """``source`` with its top-level definition of ``attr`` replaced by ``variant``'s code."""
    tree = ast.parse(source)
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == attr), None)
    if node is None:
        raise ValueError(f"the reference defines no top-level {attr!r}")
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    lines = source.splitlines(keepends=True)
    code = textwrap.dedent(inspect.getsource(variant))
    vtree = ast.parse(code)
    vnode = vtree.body[0]
    vlines = code.splitlines(keepends=True)[vnode.lineno - 1:]  # drop the @mistake decorator
    keyword = "class" if isinstance(vnode, ast.ClassDef) else "def"
    vlines[0] = vlines[0].replace(f"{keyword} {vnode.name}", f"{keyword} {attr}", 1)
    return "".join(lines[:start] + vlines + lines[node.end_lineno:])


def build_submissions(folder: Path, modules: tuple[str, ...], catalogue: list[Mistake], into: Path) -> dict:
    """Write reference/, stub/ and one mistake-N/ folder per mistake; returns {student: Mistake|None}."""
    plan: dict[str, Mistake | None] = {"reference": None, "stub": None}
    sources = {m: (folder / f"{m}.py").read_text() for m in modules}
    for name, text in sources.items():
        for sub, content in (("reference", text), ("stub", strip_solutions(text, name))):
            (into / sub).mkdir(parents=True, exist_ok=True)
            (into / sub / f"{name}.py").write_text(content)
    for i, m in enumerate(catalogue, 1):
        module = m.module if m.module in modules else modules[0]
        attr = m.attr if m.module in modules else m.target
        student = f"mistake-{i:02d}"
        shutil.copytree(into / "reference", into / student)
        (into / student / f"{module}.py").write_text(variant_source(sources[module], attr, m.variant))
        plan[student] = m
    return plan


REASONS = 3  # failing tests whose messages a row shows
REASON_WIDTH = 160  # characters of each


@dataclass
class Graded:
    """One submission of the validation, graded under every seed."""

    label: str
    kind: str  # "reference", "stub", "mistake" or "sample"
    docs: list[dict]  # one results document per seed, in the order of the seeds
    mistake: Mistake | None = None

    def failing(self, doc: dict) -> list[str]:
        return [t["name"].split(":")[0] for t in doc["tests"] if t.get("outcome") not in ("passed", "skipped")]

    def verdict(self) -> tuple[str, bool]:
        """The row's verdict and whether it holds under every seed."""
        broken = [d for d in self.docs if d.get("error")]
        if broken:  # the judge could not run: nothing to say about the tests
            return f"NOT GRADED under {len(broken)} seed(s): {broken[0]['output'].splitlines()[0][:100]}", False
        if self.kind == "reference":
            good = all(d["score"] == d["max_score"] and not self.failing(d) for d in self.docs)
            return ("full marks" if good else "REFERENCE FAILS TESTS"), good
        if self.kind == "stub":
            good = all(d["score"] == 0 for d in self.docs)
            return ("zero" if good else "STUB EARNS POINTS"), good
        if self.kind == "sample":
            if len(self.docs) == 1:
                return "graded under one seed (--seeds 2 or more compares its verdicts)", True
            return "same verdicts under every seed", True  # flips() says otherwise where they differ
        caught = all(d["score"] < d["max_score"] for d in self.docs)
        named = all(self.mistake.name in d.get("mistakes", []) for d in self.docs)
        if caught and named:
            return "caught and named", True
        return ("caught, NOT NAMED" if caught else "NOT CAUGHT"), False

    def reasons(self, seeds: list[int], limit: int = REASONS, width: int = REASON_WIDTH) -> list[str]:
        """Why the row reads as it does, in the judge's own words: the first line of each failing
        test's message (at most ``limit`` tests, ``width`` characters each), under the first seed
        with a failing test; for a stub that earns points, the tests that award them."""
        graded = [(s, d) for s, d in zip(seeds, self.docs) if not d.get("error")]
        if self.kind == "stub":
            seed, doc = next(((s, d) for s, d in graded if d["score"] > 0), (None, None))
            if doc is None:
                return []
            earning = [t["name"].split(":")[0] for t in doc["tests"] if t.get("score", 0) > 0]
            more = f" and {len(earning) - limit} more" if len(earning) > limit else ""
            return [f"earns points under seed {seed}: {', '.join(earning[:limit])}{more}"]
        seed, doc = next(((s, d) for s, d in graded if self.failing(d)), (None, None))
        if doc is None:
            return []
        failed = [t for t in doc["tests"] if t.get("outcome") not in ("passed", "skipped")]
        lines = []
        for t in failed[:limit]:
            message = next((line.strip() for line in (t.get("output") or "").splitlines() if line.strip()),
                           t.get("outcome", ""))
            line = f"{t['name'].split(':')[0]}: {message}"
            lines.append(line if len(line) <= width else line[:width - 1] + "\u2026")
        if len(failed) > limit:
            lines.append(f"... and {len(failed) - limit} more failing test(s)")
        if len(seeds) > 1:
            lines.insert(0, f"under seed {seed}:")
        return lines

    def score(self) -> str:
        """The score, or its range over the seeds, out of the maximum."""
        scores = [d["score"] for d in self.docs if not d.get("error")]
        if not scores:
            return "-"
        low, high = min(scores), max(scores)
        top = max(d.get("max_score") or 0 for d in self.docs)
        return (f"{low:g}" if low == high else f"{low:g}-{high:g}") + f" / {top:g}"

    def flips(self, seeds: list[int]) -> list[str]:
        """The tests whose verdict changes with the seed: the seeds under which each fails (and how,
        the first time: a crash or a time limit is not a wrong value) and those under which it passes."""
        passing: dict[str, list[int]] = {}
        failing: dict[str, list[int]] = {}
        how: dict[str, str] = {}
        for seed, doc in zip(seeds, self.docs):
            for t in doc["tests"]:
                test, outcome = t.get("nodeid") or t["name"], t.get("outcome")
                if outcome == "passed":
                    passing.setdefault(test, []).append(seed)
                elif outcome != "skipped":
                    failing.setdefault(test, []).append(seed)
                    first_line = (t.get("output") or "").partition("\n")[0]
                    how.setdefault(test, f"{outcome}: {first_line[:120]}")
        return [f"{test} ({self.label}) fails under seed(s) {', '.join(map(str, failing[test]))} ({how[test]}) "
                f"and passes under seed(s) {', '.join(map(str, passing[test]))}"
                for test in failing if test in passing]


def validate_assignment(course: Path, name: str, jobs: int = 0, seed: int = 0, seeds: int = 1,
                        samples: str | None = None, verbose: bool = False) -> tuple[Group, bool]:
    """Grade the reference, the stub and every catalogued mistake (and the shipped samples whose
    names match the glob ``samples``) under the seeds ``seed`` ... ``seed + seeds - 1``.
    Passes when the reference gets full marks, the stub zero, every mistake loses points and is
    named, under every seed, and no test's verdict on any of them changes with the seed.
    Each row that is not as expected shows why (its failing tests' messages); ``verbose``: every row."""
    started = time.monotonic()
    a = solution_assignment(course, name)
    catalogue = load_catalogue(a.mistakes_file)
    seed_list = list(range(seed, seed + max(seeds, 1)))
    with tempfile.TemporaryDirectory(prefix=f"autograder-validate-{name}-") as tmp:
        root = Path(tmp)
        plan = build_submissions(a.folder, a.modules, catalogue, root / "subs")
        subs = [Submission(student, root / "subs" / student) for student in plan]
        if samples is not None:
            chosen = [n for n in sample_names(a) if fnmatch.fnmatch(n, samples) and n not in plan]
            if not chosen:
                raise SampleError(f"no sample of {name} matches {samples!r} (there are: "
                                  f"{', '.join(n for n in sample_names(a) if n not in plan)}; the reference, the "
                                  "stub and the catalogued mistakes are validated without --samples)")
            found = discover(unpack_samples(a, root / "sample-files", chosen), root / "samples", a.modules, "folders")
            subs += [sub for sub in found if sub.folder and not sub.problem]
        # Submission by submission, every seed: one judge run each (a pool process keeps pytest,
        # torch, the tests and its fork server; a run's worker imports the submission alone).
        tasks = [GradeTask(assignment_dir=str(a.folder), tests_dir=str(a.tests_dir), submission=str(sub.folder),
                           student=sub.student, results=str(root / "out" / f"{i}-{s}.json"),
                           reference_dir=str(a.folder), seed=s, isolation=None, hide=(str(root / "out"),))
                 for i, sub in enumerate(subs) for s in seed_list]
        docs = run_tasks(tasks, jobs=jobs)
    graded: dict[str, Graded] = {}
    for task in tasks:
        if task.student not in graded:
            m = plan.get(task.student)
            kind = task.student if task.student in ("reference", "stub") else ("mistake" if m else "sample")
            label = f"{m.target}: {m.name}" if m else (f"sample {task.student}" if kind == "sample" else kind)
            graded[task.student] = Graded(label, kind, [], m)
        graded[task.student].docs.append(docs[task.results])
    return _report(name, graded, seed_list, time.monotonic() - started, verbose)


def _report(name: str, graded: dict[str, "Graded"], seeds: list[int], seconds: float,
            verbose: bool = False) -> tuple[Group, bool]:
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    table = Table(title=f"validation of {name} ({span})")
    for col in ("submission", "score", "verdict", "caught by"):
        table.add_column(col)
    ok, flips = True, []
    for g in graded.values():
        verdict, good = g.verdict()
        flipped = g.flips(seeds)
        flips += flipped
        ok &= good and not flipped
        if flipped:
            verdict, good = ("VERDICTS FLIP WITH THE SEED" if g.kind == "sample"
                             else f"{verdict}; VERDICTS FLIP WITH THE SEED"), False
        cell = verdict if good else f"[red]{escape(verdict)}[/red]"
        if verbose or not good:
            # The why, in the judge's words (cleaned there: proxy.clean_text), as markup-free text.
            cell += "".join(f"\n[dim]{escape(line)}[/dim]" for line in g.reasons(seeds))
        table.add_row(escape(g.label), g.score(), cell,
                      ", ".join(g.failing(g.docs[0])) if g.kind == "mistake" else "")
    lines = [f"{len(graded)} submissions x {len(seeds)} seed(s) in {seconds:.0f} s"]
    if flips:
        lines.append("[red]tests whose verdict changes with the seed:[/red]")
        lines += [escape(f"  {line}") for line in flips]
    return Group(table, *lines), ok
