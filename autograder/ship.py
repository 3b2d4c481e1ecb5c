"""Shipping the course: the engine as a wheel, the student release, and the Gradescope bundle.

- ``build_wheel``: a wheel of the engine alone (the ``autograder`` package), built with pip from a
  clean copy of the package, so no stale build folder and no ``solutions/`` can slip in; a wheel that
  holds anything but the package and its metadata is refused.
- ``export_student``: the student release of one assignment, a folder or a .zip holding the engine's
  wheel, ``constraints.txt``, the released ``assignments/<name>`` folder (stubs, public tests,
  notebook; checked in sync with ``solutions/`` first) and an ``INSTALL.md`` with the commands.
- ``export_gradescope``: a Gradescope autograder (``setup.sh``, ``run_autograder``, the wheel, the
  assignment's suite with its hidden tests and reference, ``gradescope.json``); ``run_autograder``
  runs ``autograder.gradescope`` (docs/tas.md, "Gradescope").
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .config import Assignment, solution_assignment

PROJECT_FILES = ("pyproject.toml", "README.md")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache", ".DS_Store")
GRADESCOPE_CONFIG = "gradescope.json"
VENV = "/opt/dl-autograder"  # where setup.sh installs the engine on Gradescope (outside /autograder)


class ShipError(ValueError):
    """The course cannot be shipped as asked; the message says what to do."""


@dataclass
class Shipped:
    path: Path
    wheel: str
    files: list[str] = field(default_factory=list)
    seed: int | None = None
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ the engine's wheel


def engine_project() -> Path:
    """The folder holding the engine's pyproject.toml (the course repository, for an editable install)."""
    here = Path(__file__).resolve().parent.parent
    if not (here / "pyproject.toml").is_file():
        raise ShipError(f"no pyproject.toml beside the autograder package ({here}): shipping needs the "
                        "engine's source, as in the course repository (pip install -e .)")
    return here


def build_wheel(out_dir: Path, project: Path | None = None) -> Path:
    """Build the engine's wheel into ``out_dir`` (offline: pip, setuptools of this environment) and check
    that it holds the ``autograder`` package and its metadata alone."""
    project = Path(project or engine_project())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="autograder-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in PROJECT_FILES:
            if (project / name).is_file():
                shutil.copy2(project / name, src / name)
        shutil.copytree(project / "autograder", src / "autograder", ignore=JUNK)
        built = Path(tmp) / "wheel"
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
               "-w", str(built), str(src)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(built.glob("*.whl"))
        if run.returncode != 0 or len(wheels) != 1:
            raise ShipError(f"building the engine's wheel failed (pip exit {run.returncode}):\n"
                            f"{(run.stdout + run.stderr).strip()[-3000:]}")
        wheel = out_dir / wheels[0].name
        shutil.copy2(wheels[0], wheel)
    check_wheel(wheel)
    return wheel


def check_wheel(wheel: Path) -> None:
    """Refuse a wheel holding anything but the engine: no solutions, no tests, no course files."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    stray = [n for n in names if not (n.startswith("autograder/") or n.split("/")[0].endswith(".dist-info"))]
    if stray or not any(n == "autograder/__init__.py" for n in names):
        raise ShipError(f"{wheel.name} holds more than the autograder package: {', '.join(stray[:5]) or 'no package'}")


def _constraints(course: Path) -> str:
    path = course / "constraints.txt"
    if path.is_file():
        return path.read_text()
    import torch  # noqa: F401 - the pin of this machine's torch, without its local label (+cpu)

    return f"torch=={torch.__version__.split('+')[0]}\n"


def _zip_folder(folder: Path, archive: Path, top: str | None = None) -> None:
    """Zip ``folder``'s contents (under ``top/`` when given), keeping the executable bits."""
    from .report import replaced_whole

    with replaced_whole(archive) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            arcname = f"{top}/{rel}" if top else rel
            if path.is_dir():
                continue
            info = zipfile.ZipInfo.from_file(path, arcname)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((0o755 if os.access(path, os.X_OK) else 0o644) | stat.S_IFREG) << 16
            zf.writestr(info, path.read_bytes())


def _write_out(staged: Path, out: Path, top: str | None) -> list[str]:
    """Move the staged folder to ``out``: a .zip, or a folder (which must be new or empty)."""
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    if out.suffix.lower() == ".zip":
        _zip_folder(staged, out, top)
    else:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ShipError(f"{out} exists and is not an empty folder: give a new folder or a .zip")
        out.mkdir(parents=True, exist_ok=True)
        for entry in staged.iterdir():
            shutil.move(str(entry), str(out / entry.name))
    return files


# ------------------------------------------------------------------ the student release


STUDENT_INSTALL = """\
# {title} ({name}): install the grader, check, submit

This folder is the student release of the assignment **{name}**. It holds:

- `{folder}/`: the assignment: the modules you complete ({modules}), the public
  tests (`tests/`), `assignment.toml`{notebook};
- `{wheel}`: the grader (the `autograder` command), without any hidden test or solution;
- `constraints.txt`: the torch version the grader runs.

## 1. Install (once; Python 3.11 or newer)

In this folder:

```
python3 -m venv .venv
.venv/bin/pip install -c constraints.txt {wheel}
```

On Windows: `py -m venv .venv` and `.venv\\Scripts\\pip install -c constraints.txt {wheel}`.
This installs torch from PyPI; for the smaller CPU-only build add
`--extra-index-url https://download.pytorch.org/whl/cpu`; on a machine with a GPU, install the torch
build for your hardware first and leave out `-c constraints.txt`.

## 2. Check your work

```
cd {folder}
../.venv/bin/autograder check {name}
```

runs the public tests on your files, in the grader's sandbox, and prints a table of results and the
message of every test that did not pass (exit status 0 when all passed).

## 3. Submit

```
../.venv/bin/autograder submit
```

checks that {modules} are there and named right, runs the public tests, and writes
`{name}-submission.zip` holding exactly the files to upload. Upload that zip (or those files) where
your course collects submissions. Failing public tests do not stop it (you may hand in partial
work); it says so.
"""


def export_student(course: Path, name: str, out: Path, wheel: Path | None = None) -> Shipped:
    """Write the student release of assignment ``name`` to ``out`` (a folder, or a .zip)."""
    from .release import release_drift

    course = Path(course)
    a = solution_assignment(course, name)
    released = course / "assignments" / a.folder.name
    if not released.is_dir():
        raise ShipError(f"{released} is missing: run `autograder release {name}` first")
    drift = release_drift(course, [a.folder.name])
    if drift:
        raise ShipError(f"assignments/{a.folder.name} is out of sync with solutions/ ({'; '.join(drift[:5])}): "
                        f"run `autograder release {a.folder.name}`, check, commit, then export again")
    _refuse_private_files(released)
    with tempfile.TemporaryDirectory(prefix="autograder-student-") as tmp:
        staged = Path(tmp) / "release"
        staged.mkdir()
        wheel = shutil.copy2(wheel, staged) if wheel else build_wheel(staged)
        wheel = Path(wheel)
        shutil.copytree(released, staged / a.folder.name, ignore=JUNK)
        (staged / "constraints.txt").write_text(_constraints(course))
        notebooks = sorted(p.name for p in released.glob("*.ipynb"))
        (staged / "INSTALL.md").write_text(STUDENT_INSTALL.format(
            title=a.title, name=a.name, folder=a.folder.name, wheel=wheel.name,
            modules=_and([f"`{m}.py`" for m in a.modules]),
            notebook=f", the notebook ({', '.join(f'`{n}`' for n in notebooks)})" if notebooks else ""))
        top = out.stem if out.suffix.lower() == ".zip" else None
        files = _write_out(staged, Path(out), top)
    return Shipped(Path(out), wheel.name, files)


def _refuse_private_files(folder: Path) -> None:
    """The last guard: nothing private in what goes to students."""
    from .release import is_released

    private = [p.relative_to(folder).as_posix() for p in folder.rglob("*")
               if p.is_file() and not is_released(p.relative_to(folder))
               and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts]
    if private:
        raise ShipError(f"{folder} holds files that are not released to students ({', '.join(private[:5])}): "
                        "regenerate it with `autograder release`")


def _and(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


# ------------------------------------------------------------------ the Gradescope autograder


SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
# It installs the grading engine ({wheel}) and its pinned dependencies (constraints.txt: the CPU
# build of torch) into a virtual environment outside /autograder, readable by the sandbox's
# unprivileged worker, and makes /autograder/source (hidden tests, reference) root-only.
set -euo pipefail
SOURCE=/autograder/source
VENV={venv}
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY="$(command -v "$candidate")"; break
  fi
done
if [ -z "$PY" ]; then  # Ubuntu 22.04 ships Python 3.10: the engine needs 3.11 or newer
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3.11 python3.11-venv
  PY="$(command -v python3.11)"
fi
if ! "$PY" -m venv "$VENV"; then  # Debian and Ubuntu ship venv apart
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
    "python3.$("$PY" -c 'import sys; print(sys.version_info[1])')-venv"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/pip" install --upgrade pip
"$VENV/bin/pip" install -c "$SOURCE/constraints.txt" --extra-index-url https://download.pytorch.org/whl/cpu \\
  "$SOURCE/{wheel}"
chmod -R a+rX "$VENV"
chmod 700 "$SOURCE"
"$VENV/bin/python" -c "import autograder, numpy, torch; print('dl-autograder', autograder.__version__, 'torch', torch.__version__)"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (Gradescope copies it to /autograder/run_autograder).
# It grades /autograder/submission with the engine and the suite in /autograder/source, in the
# engine's sandbox, and writes /autograder/results/results.json.
#   AUTOGRADER_GRADESCOPE_ROOT    another root than /autograder (a local trial, the engine's tests)
#   AUTOGRADER_GRADESCOPE_PYTHON  another Python than {venv}/bin/python (one with the engine installed)
ROOT="${{AUTOGRADER_GRADESCOPE_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_GRADESCOPE_PYTHON:-{venv}/bin/python}}"
cd / || exit 1
# -P: the working folder is not put on sys.path (the sandbox binds sys.path into the worker's view).
exec "$PYTHON" -P -m autograder.gradescope "$ROOT"
"""

BUNDLE_README = """\
# Gradescope autograder: {title} ({name})

Made by `autograder export gradescope {name}` on {when}, engine {wheel}.
Upload this zip as the assignment's autograder (Configure Autograder > Zip file upload; base image:
Ubuntu, 22.04 or newer; no GPU needed). Students upload {modules} (or a zip of them).

- `setup.sh`: installs Python 3.11+ (if the image lacks it), the engine and torch (CPU) into {venv}.
- `run_autograder`: grades the submission and writes `/autograder/results/results.json`.
- `solutions/{folder}/`: the suite: hidden tests, reference, mistake catalogue (root-only in the container).
- `gradescope.json`: the assignment, the class seed ({seed}) and whether the reference is graded first.

Set the assignment's points on Gradescope to the maximum the autograder reports for a full-marks
submission: {points} (tests marked `gpu` are not run in Gradescope's CPU containers).
"""


def export_gradescope(course: Path, name: str, out: Path, seed: int | None = None, canary: bool = True,
                      wheel: Path | None = None) -> Shipped:
    """Write the Gradescope autograder zip of assignment ``name`` to ``out``."""
    from . import __version__
    from .grade import suite_fingerprint

    course, out = Path(course), Path(out)
    if out.suffix.lower() != ".zip":
        raise ShipError(f"{out}: a Gradescope autograder is a .zip: give e.g. --out {name}.zip")
    a = solution_assignment(course, name)
    seed = secrets.randbelow(2**31) if seed is None else seed
    with tempfile.TemporaryDirectory(prefix="autograder-gradescope-") as tmp:
        staged = Path(tmp) / "bundle"
        staged.mkdir()
        wheel = Path(shutil.copy2(wheel, staged)) if wheel else build_wheel(staged)
        suite = staged / "solutions" / a.folder.name
        shutil.copytree(a.folder, suite, ignore=shutil.ignore_patterns(
            "samples", "__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache"))
        (staged / "constraints.txt").write_text(_constraints(course))
        config = {"assignment": a.name, "folder": a.folder.name, "seed": seed, "canary": canary,
                  "engine": __version__, "wheel": wheel.name, "fingerprint": suite_fingerprint(a)}
        (staged / GRADESCOPE_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        for script, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            (staged / script).write_text(text.format(wheel=wheel.name, venv=VENV))
            (staged / script).chmod(0o755)
        points = _points_without_gpu(a)
        (staged / "README.md").write_text(BUNDLE_README.format(
            title=a.title, name=a.name, folder=a.folder.name, wheel=wheel.name, venv=VENV, seed=seed,
            when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            modules=_and([f"`{m}.py`" for m in a.modules]),
            points=f"{points:g}" if points is not None else "(see the first result's maximum)"))
        files = _write_out(staged, out, None)
    return Shipped(out, wheel.name, files, seed=seed,
                   notes=[f"set the assignment's points on Gradescope to {points:g}"] if points is not None else [])


def _points_without_gpu(a: Assignment) -> float | None:
    """The points of the tests that run without CUDA, from the reference's graded document; None when
    grading it here fails (the bundle is written all the same)."""
    from .grade import GradeTask, grade_one
    from .samples import unpack_samples

    with tempfile.TemporaryDirectory(prefix="autograder-points-") as tmp:
        try:
            sub = unpack_samples(a, Path(tmp), ["reference"]) / "reference"
            doc = grade_one(GradeTask(
                assignment_dir=str(a.folder), tests_dir=str(a.tests_dir), submission=str(sub), student="reference",
                results=str(Path(tmp) / "r.json"), reference_dir=str(a.folder), seed=0, isolation=None))
        except Exception:  # noqa: BLE001 - only a figure for the README and the command's note
            return None
    tests = [t for t in doc.get("tests", []) if not t.get("gpu")]
    return float(sum(t.get("max_score") or 0 for t in tests)) if tests else None
