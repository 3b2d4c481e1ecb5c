"""The student's side: the public tests of a working copy (``check``), and the zip to upload (``submit``).

``autograder submit [PATH]`` checks that each module the assignment names (``assignment.toml``'s
``modules``) is in PATH under its exact name, suggesting the rename for a near miss (``Backprop.py``,
``backprop (1).py``, ``backprop-2.py``); runs the public tests as ``autograder check`` does; and writes
``<name>-submission.zip`` holding exactly those modules, at its top level. Failing public tests do not
stop it (partial work may earn points): the command says so and exits 1.
"""
from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from pathlib import Path

from .config import Assignment

SKIPPED_DIRS = {".venv", "venv", ".git", "__pycache__", ".ipynb_checkpoints", "node_modules", "tests"}


class SubmitError(ValueError):
    """The working copy cannot be submitted as it is; the message says what to do."""


def public_results(assignment: Assignment, folder: Path, isolation: str | None = None, seed: int | None = None) -> dict:
    """Run the public tests of ``assignment`` on the modules in ``folder`` (the student's copy), in the sandbox."""
    from .grade import GradeTask, grade_one

    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        task = GradeTask(
            assignment_dir=str(folder), tests_dir=str(assignment.tests_dir), submission=str(folder),
            student="you", results=str(Path(tmp) / "results.json"), reference_dir=None,
            seed=seed, isolation=isolation, public_only=True,
        )
        return grade_one(task)


def _candidates(folder: Path, depth: int = 2) -> list[Path]:
    """.py files in ``folder`` and up to ``depth`` folders below (environments and caches left out)."""
    found = []
    for top, dirs, files in os.walk(folder):
        rel = Path(top).relative_to(folder)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")) if len(rel.parts) < depth else []
        found += [Path(top) / f for f in sorted(files) if f.lower().endswith(".py")]
    return found


def check_modules(assignment: Assignment, folder: Path) -> list[Path]:
    """The module files to submit, each ``folder/<module>.py`` exactly; raises ``SubmitError`` naming what is
    missing, and the file to rename when one looks like it."""
    from .ingest import _name_match

    folder = Path(folder)
    problems, files = [], []
    for module in assignment.modules:
        path = folder / f"{module}.py"
        want = f"{module}.py"
        if path.is_symlink():
            problems.append(f"{want} is a link: put the file itself there (the grader refuses links)")
            continue
        if path.is_file():
            files.append(path)
            continue
        near = [p for p in _candidates(folder) if p != path and _name_match(p.name, module, "folders")]
        if near:
            shown = near[0].relative_to(folder).as_posix()
            problems.append(f"{want} is missing, but {shown} looks like it: rename it to {want}"
                            + (" and move it beside assignment.toml" if near[0].parent != folder else ""))
        else:
            problems.append(f"{want} is missing from {folder}: it is the module you complete (the assignment's "
                            "download holds its stub)")
    if problems:
        raise SubmitError("; ".join(problems))
    return files


def write_zip(assignment: Assignment, folder: Path, out: Path | None = None) -> Path:
    """Write the zip to upload: exactly the assignment's modules, at its top level."""
    files = check_modules(assignment, folder)
    from .report import replaced_whole

    out = Path(out) if out else Path(folder) / f"{assignment.name}-submission.zip"
    with replaced_whole(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            info = zipfile.ZipInfo.from_file(path, path.name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o644 | stat.S_IFREG) << 16
            zf.writestr(info, path.read_bytes())
    return out
