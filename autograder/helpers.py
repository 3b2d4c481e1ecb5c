"""An exercise's worker-side helpers: ``<assignment folder>/worker_helpers.py``.

Some tests must drive the student's code inside the worker, where the proxy
alone cannot (set ``p.grad`` and call an optimizer's ``step()`` two hundred
times, keep a ``bn_param`` dict that the student's forward updates, run an
``nn.Module`` forward and backward). Such code belongs to the exercise, so it
lives in the exercise's folder, never in the engine: adding an exercise never
touches ``autograder/``.

How it reaches the worker. A sandboxed worker cannot read the assignment's
folder (it holds the reference and the hidden tests). So the fork server,
which is trusted and runs no student code, imports the file before it forks
the worker, as it imports ``autograder.probes``; the judge names the file in
its ``spawn`` request (never through the environment, which a worker can read
back). The module is registered as ``worker_helpers.<assignment>_<digest>``,
the digest being that of the file's bytes: a server that lives on across
assignments and edits (a pool process, a test session) loads each version
once, under its own name, and never serves a stale one. Only the helpers of
the assignment being graded are loaded, on its first worker, and only those
are importable by name in that worker (``worker._importable``).

Tests reach the worker's copy as ``submission.helpers`` (and
``reference_worker.helpers``), and the judge's own copy, to run the same
functions on the reference or on torch, with ``load_helpers(__file__)``. The
mistake catalogue's replays use the judge's copy too.

Nothing in this module names an exercise (tests/test_engine_names_no_assignment.py).
"""
from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import types
from pathlib import Path

FILE_NAME = "worker_helpers.py"
PACKAGE = "worker_helpers"  # the top-level name the helper modules are registered under


def helpers_file(folder: Path | str) -> Path | None:
    """The assignment folder's worker-helpers file, or None where it has none."""
    path = Path(folder) / FILE_NAME
    return path if path.is_file() else None


def module_name(assignment: str, path: Path | str) -> str:
    """The name the helpers of ``assignment`` in ``path`` are loaded under (same in judge and worker)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    ident = re.sub(r"\W", "_", assignment, flags=re.ASCII) or "exercise"
    if not ident[0].isalpha():  # "01-mlp" or "2024_hw3": an identifier starts with a letter
        ident = "a_" + ident
    return f"{PACKAGE}.{ident}_{digest}"


def is_helpers_module(name: str) -> bool:
    """Whether ``name`` is a helper module that this process loaded."""
    return name.startswith(PACKAGE + ".") and name in _LOADED


_LOADED: set[str] = set()


def load(name: str, path: Path | str) -> types.ModuleType:
    """Import the file ``path`` as module ``name`` (once; later calls return the same module)."""
    if not name.startswith(PACKAGE + ".") or not name[len(PACKAGE) + 1:].isidentifier():
        raise ValueError(f"{name!r} is not a worker-helpers module name")
    if name in _LOADED and name in sys.modules:
        return sys.modules[name]
    parent = sys.modules.get(PACKAGE)
    if parent is None:
        parent = types.ModuleType(PACKAGE, "The loaded worker helpers of exercises (autograder.helpers).")
        parent.__path__ = []  # a package with nothing to find on disk: its modules are registered here
        sys.modules[PACKAGE] = parent
    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as worker helpers")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    setattr(parent, name.rpartition(".")[2], module)
    _LOADED.add(name)
    return module


def for_assignment(folder: Path | str, assignment: str) -> tuple[str, str] | None:
    """``(module name, file)`` of the assignment's helpers, or None where it has none."""
    path = helpers_file(folder)
    if path is None:
        return None
    path = path.resolve()
    return module_name(assignment, path), str(path)


def load_helpers(test_file: str | Path) -> types.ModuleType:
    """The worker helpers of the assignment that ``test_file`` belongs to, imported here, in the
    judge: ``drive = load_helpers(__file__)`` in a test module, to run the same functions on the
    reference or on torch that ``submission.helpers`` runs on the student's code."""
    from .config import CONFIG_NAME, load_assignment

    start = Path(test_file).resolve()
    for folder in start.parents:
        if (folder / CONFIG_NAME).is_file():
            found = for_assignment(folder, load_assignment(folder).name)
            if found is None:
                raise FileNotFoundError(f"{folder / FILE_NAME} not found: the assignment has no worker helpers")
            return load(*found)
    raise FileNotFoundError(f"{test_file}: no assignment folder ({CONFIG_NAME}) above this test file")
