"""The shipped sample submissions of an assignment: how they are stored, and what each must score.

``samples/`` holds three kinds of sample, each graded as one student:

- ``reference`` and ``stub`` are never stored: they are the solution's modules and what the
  release makes of them;
- a folder (``samples/attack-escape/backprop.py``) holds a submission's full files, for code that
  is not a small change of another sample (attacks, independent solutions in another style);
- a patch (``samples/wrong-db-not-summed.patch``) is what the sample changes in another one: a
  unified diff as ``diff -ru`` writes it. Free text before the first ``---`` line says what the
  mistake is; each ``--- <base>/<module>.py`` names the sample it starts from (``reference``, or a
  folder sample), and files the patch does not touch are the base's::

      Forgets to sum db over the batch.

      --- reference/backprop.py
      +++ wrong-db-not-summed/backprop.py
      @@ -193 +193 @@
      -    db = dout.sum(axis=0)
      +    db = dout

  A hunk is found where its old lines are, nearest the line it names, so an edit elsewhere in
  the base (a docstring, a new function) leaves the patch as it is.

``unpack_samples`` writes every sample as a folder of full files: ``autograder samples``,
``validate --samples`` and the engine's tests grade those folders.

``samples/expected.toml`` says what each must score, one table per sample::

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

import re
import shutil
import tomllib
from pathlib import Path

EXPECTED_FILE = "expected.toml"
PATCH_SUFFIX = ".patch"
MADE_FROM_THE_SOLUTION = ("reference", "stub")
_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class SampleError(Exception):
    """A sample that cannot be made (a patch that no longer applies, a base that does not exist),
    in words for the instructor, with what to do."""


def sample_names(assignment) -> list[str]:
    """Every sample of `assignment`: reference, stub, then the folders and patches of samples/."""
    folder = assignment.samples_dir
    entries = sorted(folder.iterdir()) if folder.is_dir() else []
    stored = sorted([p.name for p in entries if p.is_dir() and not p.name.startswith((".", "__"))]
                    + [p.stem for p in entries if p.is_file() and p.suffix == PATCH_SUFFIX])
    for name in MADE_FROM_THE_SOLUTION:
        if name in stored:
            raise SampleError(f"{folder / name}: the {name} sample is made from the solution and is never "
                              f"stored; delete it")
    doubled = sorted({n for n in stored if stored.count(n) > 1})
    if doubled:
        raise SampleError(f"{folder}: {', '.join(doubled)} is both a folder and a patch; keep one")
    return [*MADE_FROM_THE_SOLUTION, *stored]


def sample_files(assignment, name: str) -> dict[str, bytes]:
    """The files of one sample, by file name, as a student would hand them in."""
    return _files(assignment, name, ())


def unpack_samples(assignment, dest: Path, names: list[str] | None = None) -> Path:
    """Write the samples of `assignment` (default: all) as folders of full files, dest/<sample>/."""
    dest = Path(dest)
    for name in names if names is not None else sample_names(assignment):
        folder = dest / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for file_name, data in sample_files(assignment, name).items():
            (folder / file_name).write_bytes(data)
    return dest


def make_patch(base: str, base_files: dict[str, bytes], name: str, files: dict[str, bytes],
               description: str = "") -> str:
    """The patch that stores sample `name` as its change of sample `base` (what ``diff -ru`` gives)."""
    import difflib

    lines = [f"{line}\n" for line in description.strip().splitlines()] + (["\n"] if description.strip() else [])
    for file_name in sorted(files):
        old = base_files.get(file_name)
        if old is None:
            raise SampleError(f"{name}/{file_name}: {base} has no such file; store {name} as a folder")
        diff = difflib.unified_diff(old.decode().splitlines(keepends=True),
                                    files[file_name].decode().splitlines(keepends=True),
                                    f"{base}/{file_name}", f"{name}/{file_name}", n=3)
        lines += (line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in diff)
    return "".join(lines)


def _files(assignment, name: str, seen: tuple[str, ...]) -> dict[str, bytes]:
    folder = assignment.samples_dir
    if name == "reference":
        return {f"{m}.py": (assignment.folder / f"{m}.py").read_bytes() for m in assignment.modules}
    if name == "stub":
        from .release import strip_solutions

        return {f"{m}.py": strip_solutions((assignment.folder / f"{m}.py").read_text(), m,
                                           where=str(assignment.folder / f"{m}.py")).encode()
                for m in assignment.modules}
    if (folder / name).is_dir():
        return {p.name: p.read_bytes() for p in sorted((folder / name).iterdir())
                if p.is_file() and not p.name.startswith(".")}
    patch = folder / f"{name}{PATCH_SUFFIX}"
    if not patch.is_file():
        raise SampleError(f"no sample {name!r} in {folder} (there are: {', '.join(sample_names(assignment))})")
    if name in seen:
        raise SampleError(f"{patch}: the patches {' -> '.join((*seen, name))} start from each other in a circle")
    return _apply(patch, lambda base: _files(assignment, base, (*seen, name)))


def _apply(patch: Path, base_files) -> dict[str, bytes]:
    """The files of the sample that `patch` stores: its base's, with each hunk applied."""
    lines = patch.read_text().splitlines(keepends=True)
    files: dict[str, bytes] | None = None
    base = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if not (line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")):
            i += 1
            continue
        path = Path(line[4:].split("\t")[0].strip())
        if base is None:
            base = path.parent.name
            files = dict(base_files(base))
        elif path.parent.name != base:
            raise SampleError(f"{patch}: every file must start from one sample ({base}, then {path.parent.name})")
        if path.name not in files:
            raise SampleError(f"{patch}: the sample {base!r} has no file {path.name}")
        text, i = _apply_hunks(patch, f"{base}/{path.name}", files[path.name].decode(), lines, i + 2)
        files[path.name] = text.encode()
    if files is None:
        raise SampleError(f"{patch}: no '--- <sample>/<file>' line: is it a unified diff (diff -ru)?")
    return files


def _apply_hunks(patch: Path, label: str, text: str, lines: list[str], i: int) -> tuple[str, int]:
    """Apply the hunks at lines[i:] to `text`; returns the new text and the index after them."""
    current = text.splitlines(keepends=True)
    drift = 0  # how far the hunks so far were found from where the patch put them
    floor = 0  # a hunk starts after the one before it
    while i < len(lines) and (match := _HUNK.match(lines[i])):
        start, new_start = int(match[1]), int(match[3])
        old_count, new_count = (1 if n is None else int(n) for n in (match[2], match[4]))
        old, new = [], []
        lead = None  # context lines before the hunk's first change
        touched: list[list[str]] = []
        i += 1
        while i < len(lines) and (len(old) < old_count or len(new) < new_count or lines[i].startswith("\\")):
            tag, body = lines[i][:1], lines[i][1:]
            if tag == "\\":  # "\ No newline at end of file": the line before ends the file bare
                for side in touched:
                    side[-1] = side[-1].rstrip("\n")
            elif tag in (" ", "\n"):
                touched = [old, new]
            elif tag in ("-", "+"):
                touched = [old] if tag == "-" else [new]
                lead = len(old) if lead is None else lead
            else:
                raise SampleError(f"{patch}: line {i + 1} does not belong to a hunk of {label}")
            for side in touched if tag != "\\" else ():
                side.append(body or "\n")
            i += 1
        near = new_start - 1 + drift
        at = _find(current, old, near, floor)
        if at is None:
            raise SampleError(
                f"{patch}: its change at line {start + (lead or 0)} of {label} no longer applies: {label} changed there. "
                "Write the sample's files out (autograder samples NAME --unpack DIR), make the change again "
                "in a copy of its base, and store it anew with diff -ru (docs/instructors.md, 'Samples')")
        current[at:at + len(old)] = new
        drift = at - (new_start - 1)
        floor = at + len(new)
    return "".join(current), i


def _find(lines: list[str], block: list[str], near: int, floor: int) -> int | None:
    """Where `block` occurs in `lines` at or after `floor`, nearest to `near`."""
    if not block:
        return min(max(near, floor), len(lines))
    for distance in range(len(lines) + 1):
        for at in (near - distance, near + distance) if distance else (near,):
            if floor <= at <= len(lines) - len(block) and lines[at:at + len(block)] == block:
                return at
    return None


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
