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
      @@ -190,6 +190,6 @@
           x_rows = x.reshape(x.shape[0], -1)
           dx = (dout @ w.T).reshape(x.shape)
           dw = x_rows.T @ dout
      -    db = dout.sum(axis=0)
      +    db = dout
           return dx, dw, db
           ### END SOLUTION

  A hunk is applied at the one place that holds its old lines, context included, so an edit
  elsewhere in the base (a docstring, a new function) leaves the patch as it is; a hunk whose
  lines are gone, or found twice, is refused with what to do.

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

import difflib
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .release import ReleaseError, strip_solutions

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
    """Write the samples of `assignment` (default: all) as folders of full files, dest/<sample>/.
    Every sample that can be made is written; then one SampleError says why each other one cannot."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    problems = []
    for name in names if names is not None else sample_names(assignment):
        try:
            files = sample_files(assignment, name)
        except SampleError as exc:
            problems.append(str(exc))
            continue
        folder = dest / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for file_name, data in files.items():
            (folder / file_name).write_bytes(data)
    if problems:
        raise SampleError("\n".join(problems))
    return dest


def patch_base(patch: Path) -> str:
    """The sample a patch starts from: what its first '--- <base>/<file>' line names."""
    for line in _lines(_text(patch.read_bytes(), patch)):
        if line.startswith("--- "):
            return Path(line[4:].split("\t")[0].strip()).parent.name
    return ""


def make_patch(base: str, base_files: dict[str, bytes], name: str, files: dict[str, bytes],
               description: str = "") -> str:
    """The patch that stores sample `name` as its change of sample `base` (what ``diff -ru`` gives)."""
    lines = [f"{line}\n" for line in description.strip().splitlines()] + (["\n"] if description.strip() else [])
    for file_name in sorted(files):
        old = base_files.get(file_name)
        if old is None:
            raise SampleError(f"{name}/{file_name}: {base} has no such file; store {name} as a folder")
        diff = difflib.unified_diff(_lines(old.decode()), _lines(files[file_name].decode()),
                                    f"{base}/{file_name}", f"{name}/{file_name}", n=3)
        lines += (line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in diff)
    return "".join(lines)


def _files(assignment, name: str, seen: tuple[str, ...]) -> dict[str, bytes]:
    folder = assignment.samples_dir
    if name in MADE_FROM_THE_SOLUTION:
        return _made_from_the_solution(assignment, name)
    if (folder / name).is_dir():
        return {p.name: p.read_bytes() for p in sorted((folder / name).iterdir())
                if p.is_file() and not p.name.startswith(".")}
    patch = folder / f"{name}{PATCH_SUFFIX}"
    if not patch.is_file():
        raise SampleError(f"no sample {name!r} in {folder} (there are: {', '.join(sample_names(assignment))})")
    if name in seen:
        raise SampleError(f"{patch}: the patches {' -> '.join((*seen, name))} start from each other in a circle")
    return _apply(assignment, patch, (*seen, name))


def _made_from_the_solution(assignment, name: str) -> dict[str, bytes]:
    """reference: the solution's modules; stub: what the release makes of them."""
    files = {}
    for module in assignment.modules:
        path = assignment.folder / f"{module}.py"
        if not path.is_file():
            raise SampleError(f"{path} is missing: assignment.toml lists the module {module}")
        source = path.read_bytes()
        if name == "stub":
            try:
                source = strip_solutions(_text(source, path), module, where=str(path)).encode()
            except ReleaseError as exc:
                raise SampleError(f"the stub sample cannot be made: {exc}") from None
        files[path.name] = source
    return files


@dataclass
class _Hunk:
    start: int  # the line of the base where it began when the patch was made
    old: list[str]  # the base's lines it replaces, context included
    new: list[str]
    lead: int  # context lines before its first change

    def where(self) -> str:
        first = (self.old[self.lead:] or self.old or self.new or [""])[0].strip()
        return f"at line {self.start + self.lead} (`{first[:60]}`)"


def _apply(assignment, patch: Path, seen: tuple[str, ...]) -> dict[str, bytes]:
    """The files of the sample that `patch` stores: its base's, with each hunk applied."""
    name = seen[-1]
    lines = _lines(_text(patch.read_bytes(), patch))
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"  # a patch saved without its last newline
    files: dict[str, bytes] | None = None
    base = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("Only in "):
            raise SampleError(f"{patch}: {line.strip()}: a patch changes the files of its base and cannot add or "
                              f"drop one; store {name} as a folder, samples/{name}/, instead")
        if not (line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")):
            i += 1
            continue
        path = Path(line[4:].split("\t")[0].strip())
        if base is None:
            base = path.parent.name
            if base == name:
                raise SampleError(f"{patch}: its '---' lines name {name} itself: is the diff reversed? "
                                  f"Write it as diff -ru <base> {name}")
            if base not in sample_names(assignment):
                raise SampleError(f"{patch}: its '---' lines start from {str(path)!r}, and {base!r} is no sample "
                                  f"(there are: {', '.join(sample_names(assignment))}). Write it in the folder "
                                  f"that holds both, as diff -ru <base> {name}")
            files = dict(_files(assignment, base, seen))
        elif path.parent.name != base:
            raise SampleError(f"{patch}: every file must start from one sample ({base}, then {path.parent.name})")
        if path.name not in files:
            raise SampleError(f"{patch}: the sample {base!r} has no file {path.name}; store {name} as a folder")
        hunks, i = _read_hunks(patch, lines, i + 2)
        label = f"{base}/{path.name}"
        text = _text(files[path.name], label)
        files[path.name] = _apply_hunks(patch, assignment.name, name, label, text, hunks).encode()
    if files is None:
        raise SampleError(f"{patch}: no '--- <sample>/<file>' line: is it a unified diff (diff -ru)?")
    return files


def _read_hunks(patch: Path, lines: list[str], i: int) -> tuple[list[_Hunk], int]:
    """The hunks of one file, from lines[i]; returns them and the index after them."""
    hunks = []
    while i < len(lines) and (match := _HUNK.match(lines[i])):
        old_count, new_count = (1 if n is None else int(n) for n in (match[2], match[4]))
        hunk = _Hunk(int(match[1]), [], [], -1)
        sides: list[list[str]] = []
        i += 1
        while i < len(lines) and (len(hunk.old) < old_count or len(hunk.new) < new_count
                                  or lines[i].startswith("\\")):
            tag, body = lines[i][:1], lines[i][1:] or "\n"
            if tag == "\\":  # "\ No newline at end of file": the line before ends its file bare
                for side in sides:
                    side[-1] = side[-1].removesuffix("\n")
            elif tag in (" ", "\n", "-", "+"):
                sides = {"-": [hunk.old], "+": [hunk.new]}.get(tag, [hunk.old, hunk.new])
                if tag in "-+" and hunk.lead < 0:
                    hunk.lead = len(hunk.old)
                for side in sides:
                    side.append(body if tag != "\n" else "\n")
            else:
                raise SampleError(f"{patch}: line {i + 1} does not belong to the hunk above it "
                                  f"(its @@ line counts {old_count} old and {new_count} new lines)")
            i += 1
        if i < len(lines) and lines[i][:1] in (" ", "+", "-") and not lines[i].startswith("--- "):
            raise SampleError(f"{patch}: line {i + 1} follows a hunk whose @@ line counts fewer lines: "
                              "mend the counts, or make the patch again with diff -ru")
        hunk.lead = max(hunk.lead, 0)
        hunks.append(hunk)
    return hunks, i


def _apply_hunks(patch: Path, assignment: str, name: str, label: str, text: str, hunks: list[_Hunk]) -> str:
    """`text` with each hunk applied where its old lines are: the one place after the hunk
    before it that holds them (edits elsewhere in the base move them, and do no harm)."""
    base = label.split("/")[0]
    again = (f"To store it anew: autograder samples {assignment} --unpack DIR writes every other sample; in "
             f"DIR/{assignment}, copy {base}/ to {name}/, make the change this patch shows there again, and "
             f"write the patch with diff -ru {base} {name}, keeping its first lines of text "
             f"(docs/instructors.md, \"Sample submissions\")")
    current = _lines(text)
    floor = 0
    for hunk in hunks:
        if not hunk.old:
            if current:
                raise SampleError(f"{patch}: its change {hunk.where()} of {label} has no lines of context, so "
                                  f"nothing says where it goes. {again}")
            at = 0
        else:
            size = len(hunk.old)
            places = [at for at in range(floor, len(current) - size + 1)
                      if current[at] == hunk.old[0] and current[at:at + size] == hunk.old]
            if not places:
                raise SampleError(f"{patch}: the lines of its change {hunk.where()} of {label} are no longer "
                                  f"there as the patch has them: {label} changed there. {again}")
            if len(places) > 1:
                lines = ", ".join(str(at + 1) for at in places[:5])
                raise SampleError(f"{patch}: the lines of its change {hunk.where()} of {label} occur "
                                  f"{len(places)} times (at lines {lines}): nothing says which one it changes. "
                                  f"Give it more context. {again.replace('diff -ru', 'diff -ru -U8')}")
            at = places[0]
        current[at:at + len(hunk.old)] = hunk.new
        floor = at + len(hunk.new)
    return "".join(current)


def _lines(text: str) -> list[str]:
    """The lines of `text` with their endings, split at "\n" alone, as diff splits them."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def _text(data: bytes, where) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SampleError(f"{where} is not UTF-8 text: save it as UTF-8") from None


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
