"""The ingest step: find the submissions in a folder and make each one a clean folder.

A SUBMISSIONS_DIR holds one entry per student, named by student id: a folder,
or a ``.zip`` file (as LMS exports give them). Zips are extracted safely (no
absolute paths, no ``..``, no links, bounded size). When the student's modules
sit one or two folders down (``alice/backprop/backprop.py``), that folder is
used. Anything unusable becomes a ``Submission`` with a ``problem`` that the
report shows to the student; the batch goes on.
"""
from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_UNZIPPED_BYTES = 64 * 2**20
MAX_FILES = 2000


@dataclass
class Submission:
    student: str
    folder: Path | None
    problem: str | None = None


def discover(submissions_dir: Path, staging: Path, primary_module: str) -> list[Submission]:
    """Every student's submission, sorted by student id."""
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"{submissions_dir} is not a folder of submissions")
    entries: dict[str, list[Path]] = {}
    for entry in submissions_dir.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            entries.setdefault(entry.name, []).append(entry)
        elif entry.suffix.lower() == ".zip":
            entries.setdefault(entry.stem, []).append(entry)
    found = []
    for student in sorted(entries):
        paths = sorted(entries[student])
        if len(paths) > 1:
            names = " and ".join(p.name + ("/" if p.is_dir() else "") for p in paths)
            found.append(Submission(student, None, f"two submissions for {student}: {names}. Keep one and grade again."))
        elif paths[0].is_dir():
            found.append(_from_folder(student, paths[0], staging / student, primary_module))
        else:
            found.append(_from_zip(student, paths[0], staging / student, primary_module))
    return found


def _from_folder(student: str, folder: Path, staging: Path, primary: str) -> Submission:
    zips = sorted(folder.glob("*.zip"))
    if not (folder / f"{primary}.py").exists() and len(zips) == 1 and len(list(folder.iterdir())) == 1:
        # A folder holding just the student's upload as a zip.
        return _from_zip(student, zips[0], staging, primary)
    return Submission(student, _module_folder(folder, primary))


def _from_zip(student: str, archive: Path, target: Path, primary: str) -> Submission:
    try:
        extract(archive, target)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return Submission(student, None, f"could not open {archive.name}: {exc}. Upload a valid .zip of your files.")
    return Submission(student, _module_folder(target, primary))


def _module_folder(folder: Path, primary: str) -> Path:
    """The folder holding ``<primary>.py``: the top, or one found up to two levels down."""
    if (folder / f"{primary}.py").is_file():
        return folder
    for depth in ("*", "*/*"):
        hits = sorted(p.parent for p in folder.glob(f"{depth}/{primary}.py") if "__MACOSX" not in p.parts)
        if hits:
            return hits[0]
    return folder  # graded as is: its tests will say which functions are missing


def extract(archive: Path, target: Path) -> None:
    """Extract a zip refusing absolute paths, ``..``, links and zip bombs."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_FILES:
            raise ValueError(f"it holds more than {MAX_FILES} files")
        total = 0
        for info in infos:
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in Path(name).parts or ":" in name:
                raise ValueError(f"unsafe path {name!r} inside the zip")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ValueError(f"{name!r} is a symbolic link; zip the files themselves")
            total += info.file_size
            if total > MAX_UNZIPPED_BYTES:
                raise ValueError(f"it unpacks to more than {MAX_UNZIPPED_BYTES // 2**20} MiB")
        for info in infos:
            if info.is_dir() or "__MACOSX" in info.filename:
                continue
            dest = target / info.filename
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                # Read at most the declared size + 1: a lying header cannot inflate more.
                data = src.read(info.file_size + 1)
                if len(data) > info.file_size:
                    raise ValueError(f"{info.filename!r} is larger than its zip header says")
                out.write(data)
