"""Assignment configuration and the resource limits of a worker.

Each assignment folder holds an ``assignment.toml``::

    [assignment]
    name = "backprop"                          # defaults to the folder's name
    title = "Backpropagation"
    modules = ["backprop", "backprop_torch"]   # graded student modules, first is primary

    [limits]          # all optional; the defaults are in Limits below
    call_seconds = 10

    [environment]     # optional: what the grader runs, as PEP 440 specifiers
    python = ">=3.11"
    numpy = ">=2.0,<3"
    torch = ">=2.1,<3"

    [feedback]        # optional: what the feedback files show students (autograder.feedback)
    hidden_mistakes = false   # true: also the catalogued mistakes that hidden tests named, with hints

A test may override limits with ``@pytest.mark.limits(call_seconds=30)``
(or ``@pytest.mark.time_limit(30)`` for the per-call wall time alone).
"""
from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from packaging.specifiers import InvalidSpecifier, SpecifierSet

CONFIG_NAME = "assignment.toml"
PINNABLE = ("python", "numpy", "torch")  # the keys [environment] may have (see autograder.environment)


@dataclass(frozen=True)
class Limits:
    """What one worker process may use. Every field can be set per assignment and per test."""

    call_seconds: float = 10.0  # wall time of one call into student code (import included)
    cpu_seconds: float = 60.0  # CPU time of one worker process, all threads together
    memory_mb: int = 1024  # memory the worker may add on top of the preloaded libraries
    gpu_memory_mb: int = 1024  # what torch's CUDA allocator may hold, per GPU (the context aside)
    processes: int = 64  # processes and threads the worker may have at once
    file_size_mb: int = 16  # largest file the worker may write
    output_bytes: int = 64 * 1024  # bytes the worker may print before it is stopped
    submission_seconds: float = 120.0  # wall time budget for all calls of one submission

    def merged(self, **overrides) -> "Limits":
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **overrides)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def worker_key(self) -> tuple:
        """The limits that are fixed when a worker starts (the others apply per call)."""
        return (self.cpu_seconds, self.memory_mb, self.gpu_memory_mb, self.processes, self.file_size_mb)


@dataclass(frozen=True)
class FeedbackOptions:
    """The ``[feedback]`` table: what a student's feedback file may show beyond the public tests.

    Hidden tests always appear as a total only. ``hidden_mistakes`` is a course's choice: the
    names and hints of the catalogued mistakes that hidden tests named (never the tests' names,
    messages, inputs or expected values). Off by default: a hint can give away what a hidden
    test looks for.
    """

    hidden_mistakes: bool = False


@dataclass(frozen=True)
class Assignment:
    name: str
    folder: Path  # solutions/<name> when grading, the student's copy when checking
    title: str
    modules: tuple[str, ...]
    limits: Limits = field(default_factory=Limits)
    # The versions the grader runs, e.g. {"numpy": ">=2.0,<3"}; `autograder check` warns a
    # student whose versions differ. Left out of the hash, so an Assignment stays hashable.
    environment: dict[str, str] = field(default_factory=dict, hash=False)
    feedback: FeedbackOptions = field(default_factory=FeedbackOptions)

    @property
    def tests_dir(self) -> Path:
        return self.folder / "tests"

    @property
    def samples_dir(self) -> Path:
        return self.folder / "samples"

    @property
    def mistakes_file(self) -> Path:
        return self.folder / "mistakes.py"


def load_assignment(folder: Path, name: str | None = None) -> Assignment:
    folder = Path(folder).resolve()
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run this from an assignment folder, or give the folder as PATH"
        )
    data = tomllib.loads(path.read_text())
    section = data.get("assignment", {})
    modules = tuple(section.get("modules", ()))
    if not modules:
        raise ValueError(f"{path}: [assignment] modules must name at least one student module")
    return Assignment(
        name=name or section.get("name", folder.name),
        folder=folder,
        title=section.get("title", folder.name),
        modules=modules,
        limits=Limits().merged(**data.get("limits", {})),
        environment=_environment(path, data.get("environment", {})),
        feedback=_feedback(path, data.get("feedback", {})),
    )


def _feedback(path: Path, table) -> FeedbackOptions:
    """The [feedback] table, checked: known keys, booleans."""
    known = [f.name for f in dataclasses.fields(FeedbackOptions)]
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [feedback] must be a table, e.g. hidden_mistakes = false")
    for key, value in table.items():
        shown = json.dumps(value) if isinstance(value, (bool, int, float, str)) else repr(value)  # as TOML has it
        if key not in known:
            raise ValueError(f"{path}: [feedback] {key} = {shown}: unknown key (known: {', '.join(known)})")
        if type(value) is not bool:
            raise ValueError(f"{path}: [feedback] {key} = {shown}: must be true or false")
    return FeedbackOptions(**table)


def _environment(path: Path, table) -> dict[str, str]:
    """The [environment] table, checked: known keys, PEP 440 specifiers (">=2.0,<3")."""
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [environment] must be a table of specifiers, e.g. numpy = \">=2.0,<3\"")
    for key, spec in table.items():
        if key not in PINNABLE:
            raise ValueError(f"{path}: [environment] {key} = {spec!r}: unknown key (known: {', '.join(PINNABLE)})")
        if not (isinstance(spec, str) and _is_specifier(spec)):
            raise ValueError(f"{path}: [environment] {key} = {spec!r} is not a version specifier "
                             "such as \">=2.0,<3\"")
    return dict(table)


def _is_specifier(text: str) -> bool:
    """Whether ``text`` is a PEP 440 specifier set, as environment.mismatches will read it: a typo
    in a pin fails when the instructor loads the assignment, not in every student's check."""
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return True


def find_course_root(start: Path | None = None) -> Path | None:
    """The folder holding ``solutions/`` and ``assignments/``: $AUTOGRADER_COURSE, else upwards from start."""
    env = os.environ.get("AUTOGRADER_COURSE")
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "solutions").is_dir() and (candidate / "assignments").is_dir():
            return candidate
    # An editable install of this repository: the package sits inside the course.
    pkg_parent = Path(__file__).resolve().parent.parent
    if (pkg_parent / "solutions").is_dir():
        return pkg_parent
    return None


def solution_assignment(course: Path, name: str) -> Assignment:
    folder = course / "solutions" / name
    if not folder.is_dir():
        known = sorted(p.name for p in (course / "solutions").iterdir() if (p / CONFIG_NAME).is_file())
        raise FileNotFoundError(f"no assignment {name!r} in {course / 'solutions'}; known: {', '.join(known)}")
    return load_assignment(folder, name)


def list_assignments(course: Path) -> list[str]:
    return sorted(p.name for p in (course / "solutions").iterdir() if (p / CONFIG_NAME).is_file())
