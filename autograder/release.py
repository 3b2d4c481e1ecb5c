"""Generate the student release (`assignments/`) from the single source (`solutions/`).

For one assignment, ``solutions/<name>/`` holds reference modules whose
solution code sits between markers::

    def relu_forward(x):
        ### BEGIN SOLUTION
        out = np.maximum(0, x)
        ### END SOLUTION
        return out, x

The release replaces every such block by a stub at the same indentation::

        # YOUR CODE HERE
        raise NotImplementedError("relu_forward: not implemented yet")

and copies everything else a student may see.  Hidden tests, the mistake
catalogue, sample submissions and caches stay behind.  The nbgrader marker
forms (``# BEGIN SOLUTION`` / ``# END SOLUTION``) are accepted too, so the
notebooks remain valid nbgrader source notebooks.

The release is deterministic (sorted traversal, no timestamps, stable cell
ids), so ``assignments/`` can be checked in and :func:`release_drift` can tell
when it no longer matches ``solutions/``.
"""

from __future__ import annotations

import ast
import filecmp
import hashlib
import json
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from .helpers import FILE_NAME as HELPERS_FILE

__all__ = [
    "ReleaseError",
    "strip_solutions",
    "release_notebook",
    "release_assignment",
    "release_course",
    "release_drift",
]

BEGIN_MARKERS = frozenset({"### BEGIN SOLUTION", "# BEGIN SOLUTION"})
END_MARKERS = frozenset({"### END SOLUTION", "# END SOLUTION"})

# Never part of a release (and ignored in assignments/ when looking for drift):
# byproducts of running code or notebooks locally.
JUNK_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints", ".pytest_cache"})
JUNK_SUFFIXES = (".pyc",)

# Instructor-only material at the top of an assignment folder.
PRIVATE_TOP_LEVEL = frozenset({"samples", "mistakes.py"})
PUBLIC_TEST_PREFIX = "test_public"

NOTEBOOK_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
NOTEBOOK_MARKDOWN_STUB = "YOUR ANSWER HERE"  # what nbgrader writes for markdown answers
CELL_FALLBACK_NAME = "this cell"


class ReleaseError(Exception):
    """The solution source cannot be turned into a valid student release."""


# --------------------------------------------------------------------------
# .py sources
# --------------------------------------------------------------------------

def _is_begin(line: str) -> bool:
    return line.strip() in BEGIN_MARKERS


def _is_end(line: str) -> bool:
    return line.strip() in END_MARKERS


def has_markers(source: str) -> bool:
    """True when any line of `source` is a BEGIN or END solution marker."""
    return any(_is_begin(line) or _is_end(line) for line in source.splitlines())


def find_blocks(source: str, where: str = "<source>") -> list[tuple[int, int]]:
    """Return the solution blocks of `source` as 1-based (begin, end) marker lines.

    Raises ReleaseError for a nested BEGIN, an END without BEGIN, or a BEGIN
    that is never closed; `where` names the file in the message.
    """
    blocks, open_line = [], None
    for lineno, line in enumerate(source.splitlines(), start=1):
        if _is_begin(line):
            if open_line is not None:
                raise ReleaseError(
                    f"{where}:{lineno}: nested BEGIN SOLUTION "
                    f"(the block opened on line {open_line} is not closed)")
            open_line = lineno
        elif _is_end(line):
            if open_line is None:
                raise ReleaseError(f"{where}:{lineno}: END SOLUTION without a matching BEGIN SOLUTION")
            blocks.append((open_line, lineno))
            open_line = None
    if open_line is not None:
        raise ReleaseError(f"{where}:{open_line}: BEGIN SOLUTION is never closed by END SOLUTION")
    return blocks


def _function_spans(tree: ast.AST, lines: list[str]) -> list[tuple[int, int, str]]:
    """List (first_line, last_line, qualname) for every function in `tree`.

    The qualname is the function's name prefixed by the classes that directly
    enclose it (``Cls.method``); a function nested in another function is named
    by itself, since that is the name a student sees in the traceback's code.

    A function's span runs past its last statement over the indented comment
    and blank lines that follow, because a solution block at the end of a body
    may hold only comments, which the ast does not count as part of the body.
    """
    spans = []

    def visit(node: ast.AST, class_prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{class_prefix}{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                spans.append((child.lineno, _extend_over_comments(child, lines),
                              f"{class_prefix}{child.name}"))
                visit(child, "")
            else:
                visit(child, class_prefix)

    visit(tree, "")
    return spans


def _extend_over_comments(func: ast.AST, lines: list[str]) -> int:
    """Last line of `func`, counting trailing comments indented deeper than its `def`."""
    last = func.end_lineno
    for lineno in range(func.end_lineno + 1, len(lines) + 1):
        text = lines[lineno - 1]
        stripped = text.lstrip()
        if not stripped:
            continue  # a blank line neither ends nor extends the body
        indent = len(text) - len(stripped)
        if stripped.startswith("#") and indent > func.col_offset:
            last = lineno
        else:
            break
    return last


def _qualname_finder(source: str, fallback: str) -> Callable[[int], str]:
    """Map a line number to the qualname of the innermost function holding it."""
    lines = source.splitlines()
    spans = _function_spans(ast.parse(source), lines)

    def qualname_at(lineno: int) -> str:
        holding = [span for span in spans if span[0] <= lineno <= span[1]]
        # Nested spans start later than the spans that contain them.
        return max(holding)[2] if holding else fallback

    return qualname_at


def _line_ending(line: str) -> str:
    """The newline characters that end `line` ("" for a last line without one)."""
    return line[len(line.rstrip("\r\n")):]


def _replace_blocks(source: str, blocks: list[tuple[int, int]], qualname_at: Callable[[int], str]) -> str:
    """Replace each (begin, end) block of `source` by the two-line stub."""
    lines = source.splitlines(keepends=True)
    out, next_line = [], 1
    for begin, end in blocks:
        out.extend(lines[next_line - 1:begin - 1])
        marker, end_marker = lines[begin - 1], lines[end - 1]
        indent = marker[:len(marker) - len(marker.lstrip())]
        # Keep the source's line endings; the END line decides whether the
        # stub ends in one (notebook cells usually do not).
        newline = _line_ending(marker) or "\n"
        out.append(f"{indent}# YOUR CODE HERE{newline}")
        out.append(f'{indent}raise NotImplementedError("{qualname_at(begin)}: not implemented yet")'
                   f"{_line_ending(end_marker)}")
        next_line = end + 1
    out.extend(lines[next_line - 1:])
    return "".join(out)


def strip_solutions(source: str, module_name: str, *, where: str | None = None) -> str:
    """Return `source` with every solution block replaced by a NotImplementedError stub.

    `module_name` names blocks outside any function; `where` (default:
    `module_name`) names the file in error messages.
    """
    where = where or module_name
    blocks = find_blocks(source, where)
    if not blocks:
        return source
    try:
        qualname_at = _qualname_finder(source, fallback=module_name)
    except SyntaxError as exc:
        raise ReleaseError(f"{where}:{exc.lineno}: solution source does not parse: {exc.msg}") from exc
    return _replace_blocks(source, blocks, qualname_at)


# --------------------------------------------------------------------------
# notebooks
# --------------------------------------------------------------------------

def _stable_cell_id(index: int, source: str) -> str:
    """A cell id that depends only on the cell, so releases are reproducible."""
    return hashlib.sha1(f"{index}\0{source}".encode()).hexdigest()[:8]


def _release_cell(cell: "nbformat.NotebookNode", where: str) -> None:  # noqa: F821
    """Strip solutions from one cell in place."""
    is_solution_cell = bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))
    if cell.cell_type == "code":
        blocks = find_blocks(cell.source, where)
        if blocks:
            try:
                qualname_at = _qualname_finder(cell.source, fallback=CELL_FALLBACK_NAME)
            except SyntaxError:  # IPython magics, shell escapes, ...
                qualname_at = lambda _lineno: CELL_FALLBACK_NAME  # noqa: E731
            cell.source = _replace_blocks(cell.source, blocks, qualname_at)
        elif is_solution_cell:
            cell.source = NOTEBOOK_STUB
        cell.outputs = []
        cell.execution_count = None
    elif cell.cell_type == "markdown" and is_solution_cell:
        cell.source = NOTEBOOK_MARKDOWN_STUB


def release_notebook(nb_json_text: str, *, where: str = "<notebook>") -> str:
    """Return the student version of a v4 notebook given as JSON text.

    Solution blocks in code cells become stubs, nbgrader solution cells without
    markers become nbgrader's stub, outputs and execution counts are cleared,
    and all metadata is kept.  The text ends in a newline, as nbformat.write's.
    """
    import nbformat  # only notebooks need it: grading and validation run without it

    try:
        raw = json.loads(nb_json_text)
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{where}: not valid JSON: {exc}") from exc
    if raw.get("nbformat") != 4:
        raise ReleaseError(f"{where}: expected an nbformat 4 notebook, got {raw.get('nbformat')!r}")
    with warnings.catch_warnings():
        # nbformat warns about (and fills in random) missing cell ids; we fix them below.
        warnings.simplefilter("ignore")
        nb = nbformat.reads(nb_json_text, as_version=4)
    for index, (cell, raw_cell) in enumerate(zip(nb.cells, raw.get("cells", []))):
        if "id" in cell and "id" not in raw_cell:
            cell.id = _stable_cell_id(index, raw_cell.get("source", ""))
        _release_cell(cell, f"{where} cell {index}")
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


# --------------------------------------------------------------------------
# assignments
# --------------------------------------------------------------------------

def is_junk(rel: Path) -> bool:
    """True for caches and bytecode, which are never released nor compared."""
    return any(part in JUNK_DIRS for part in rel.parts) or rel.name.endswith(JUNK_SUFFIXES)


def is_released(rel: Path) -> bool:
    """True when the file at `rel` (relative to the assignment) goes to students."""
    if is_junk(rel) or rel.parts[0] in PRIVATE_TOP_LEVEL:
        return False
    if rel.parts[0] == "tests":
        return rel.name.startswith(PUBLIC_TEST_PREFIX)
    return True


def _released_files(src: Path) -> list[Path]:
    """The files of `src` that go to students, relative to `src`, sorted.

    The exercise's worker helpers (``worker_helpers.py``, autograder.helpers) are instructor
    files: released only when a released test uses them (``submission.helpers`` or
    ``load_helpers``), so that `autograder check` can load them from the student's copy."""
    files = sorted(
        path.relative_to(src) for path in src.rglob("*")
        if path.is_file() and is_released(path.relative_to(src))
    )
    helpers = Path(HELPERS_FILE)
    if helpers in files and not any(_USES_HELPERS.search((src / rel).read_text("utf-8", "replace"))
                                    for rel in files if rel.parts[0] == "tests" and rel.suffix == ".py"):
        files.remove(helpers)
    return files


_USES_HELPERS = re.compile(r"\.helpers\b|\bload_helpers\b")


def _render(src: Path, rel: Path) -> bytes:
    """The released bytes of the file `src/rel`."""
    path = src / rel
    data = path.read_bytes()
    where = str(path)
    if rel.suffix == ".py":
        text = data.decode("utf-8")
        if rel.parts[0] == "tests":
            # Public tests are shown as written; a solution in them would leak.
            if has_markers(text):
                raise ReleaseError(f"{where}: public test file contains solution markers")
            return data
        return strip_solutions(text, rel.stem, where=where).encode("utf-8")
    if rel.suffix == ".ipynb":
        return release_notebook(data.decode("utf-8"), where=where).encode("utf-8")
    return data


def _check_compiles(rendered: dict[Path, bytes], dst: Path) -> None:
    """Raise ReleaseError when a released .py file would not compile."""
    for rel, data in rendered.items():
        if rel.suffix == ".py":
            try:
                compile(data.decode("utf-8"), str(dst / rel), "exec")
            except SyntaxError as exc:
                raise ReleaseError(f"{dst / rel}:{exc.lineno}: released code does not compile: {exc.msg}") from exc


def release_assignment(src: Path, dst: Path) -> list[Path]:
    """Rebuild `dst` as the student release of the assignment in `src`.

    Returns the written files relative to `dst`, sorted.  Everything is
    rendered and checked in memory first, so a failing release leaves an
    existing `dst` untouched.
    """
    src, dst = Path(src).resolve(), Path(dst).resolve()
    if not src.is_dir():
        raise ReleaseError(f"{src}: no such assignment folder")
    if dst == src or dst in src.parents or src in dst.parents:
        raise ReleaseError(f"refusing to release {src} into {dst}: the folders overlap")
    rendered = {rel: _render(src, rel) for rel in _released_files(src)}
    _check_compiles(rendered, dst)

    if dst.exists():
        shutil.rmtree(dst)  # stale files must not survive a release
    for rel, data in rendered.items():
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        shutil.copymode(src / rel, target)
    dst.mkdir(parents=True, exist_ok=True)  # an assignment may release no files
    return list(rendered)


def assignment_names(course: Path) -> list[str]:
    """Names of the folders of `course/solutions` that hold an assignment.toml, sorted."""
    solutions = Path(course) / "solutions"
    if not solutions.is_dir():
        return []
    return sorted(p.parent.name for p in solutions.glob("*/assignment.toml"))


def _select(course: Path, names: list[str] | None) -> list[str]:
    """Validate `names` against the course (None: every assignment)."""
    known = assignment_names(course)
    if names is None:
        return known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ReleaseError(f"no assignment.toml in solutions/ for: {', '.join(unknown)}")
    return sorted(set(names))


def release_course(course: Path, names: list[str] | None = None) -> dict[str, list[Path]]:
    """Release the named assignments (default: all) of `course` into `course/assignments`."""
    course = Path(course)
    return {name: release_assignment(course / "solutions" / name, course / "assignments" / name)
            for name in _select(course, names)}


def _tree(root: Path) -> set[Path]:
    """Files under `root` relative to it, caches left out."""
    if not root.is_dir():
        return set()
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file() and not is_junk(p.relative_to(root))}


def release_drift(course: Path, names: list[str] | None = None) -> list[str]:
    """Differences between `course/assignments` and a fresh release, one line each.

    Lines read ``missing: backprop/x.py`` (the release would write it),
    ``extra: backprop/y.py`` (the release would delete it) or
    ``differs: backprop/z.py``; the list is empty when in sync.
    """
    course = Path(course)
    selected = _select(course, names)
    drift = []
    if names is None:
        # A released assignment whose source is gone: nothing would rewrite it.
        assignments = course / "assignments"
        stale = sorted(p.name for p in assignments.iterdir()
                       if p.is_dir() and p.name not in JUNK_DIRS) if assignments.is_dir() else []
        drift += [f"extra: {name}/ (no solutions/{name}/assignment.toml; delete it)"
                  for name in stale if name not in selected]
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        for name in selected:
            fresh = Path(tmp) / name
            release_assignment(course / "solutions" / name, fresh)
            current = course / "assignments" / name
            fresh_files, current_files = _tree(fresh), _tree(current)
            for rel in sorted(fresh_files | current_files):
                label = (Path(name) / rel).as_posix()
                if rel not in current_files:
                    drift.append(f"missing: {label}")
                elif rel not in fresh_files:
                    drift.append(f"extra: {label}")
                elif not filecmp.cmp(fresh / rel, current / rel, shallow=False):
                    drift.append(f"differs: {label}")
    return drift
