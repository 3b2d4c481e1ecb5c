"""Validation of an exercise: its hidden tests must tell right from wrong.

Grades, in one batch, the reference, the released stub, and one generated
submission per catalogued mistake (the reference with that one function
replaced by its wrong variant). It passes when the reference gets full
marks, the stub gets zero, and every mistake loses points and is named.
"""
from __future__ import annotations

import ast
import inspect
import shutil
import tempfile
import textwrap
from pathlib import Path

from rich.table import Table

from .config import solution_assignment
from .grade import grade_batch
from .ingest import Submission
from .mistakes import Mistake, load_catalogue
from .release import strip_solutions


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


def validate_assignment(course: Path, name: str, jobs: int = 0, seed: int = 0) -> tuple[Table, bool]:
    a = solution_assignment(course, name)
    catalogue = load_catalogue(a.mistakes_file)
    with tempfile.TemporaryDirectory(prefix=f"autograder-validate-{name}-") as tmp:
        root = Path(tmp)
        plan = build_submissions(a.folder, a.modules, catalogue, root / "subs")
        subs = [Submission(student, root / "subs" / student) for student in plan]
        docs = grade_batch(a, subs, root / "out", reference_dir=a.folder, jobs=jobs, seed=seed)
    table = Table(title=f"validation of {name} (seed {seed})")
    for col in ("submission", "score", "verdict", "caught by"):
        table.add_column(col)
    ok = True
    for doc in docs:
        m = plan[doc["student"]]
        failing = [t["name"].split(":")[0] for t in doc["tests"] if t.get("outcome") not in ("passed", "skipped")]
        score = f"{doc['score']:g} / {doc['max_score']:g}"
        if doc["student"] == "reference":
            good = doc["score"] == doc["max_score"] and not failing
            verdict, label = ("full marks" if good else "REFERENCE FAILS TESTS"), "reference"
        elif doc["student"] == "stub":
            good = doc["score"] == 0
            verdict, label = ("zero" if good else "STUB EARNS POINTS"), "stub"
        else:
            named = m.name in doc.get("mistakes", [])
            caught = doc["score"] < doc["max_score"]
            good = named and caught
            verdict = "caught and named" if good else ("caught, NOT NAMED" if caught else "NOT CAUGHT")
            label = f"{m.target}: {m.name}"
        ok &= good
        table.add_row(label, score, verdict if good else f"[red]{verdict}[/red]",
                      ", ".join(failing) if m is not None else "")
    return table, ok
