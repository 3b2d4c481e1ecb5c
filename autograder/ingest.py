"""The ingest step: find the submissions in a folder and make each one a clean folder.

A SUBMISSIONS_DIR holds one entry per student, named by student id: a folder,
or a ``.zip`` file (as LMS exports give them). Every submission is copied or
extracted into the staging area, and graded from there: zips are extracted
safely (no absolute paths, no ``..``, no links, bounded size), folders are
copied without following links, and anything but plain files and folders
(a symbolic or hard link, a named pipe, a socket, a device) is refused, so a
submission cannot point the grader at the solutions or at a classmate's
files. When the student's modules sit one or two folders down
(``alice/backprop/backprop.py``), that folder is used. Anything unusable
becomes a ``Submission`` with a ``problem`` that the report shows to the
student; the batch goes on.
"""
from __future__ import annotations

import errno
import hashlib
import itertools
import os
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MAX_UNZIPPED_BYTES = 64 * 2**20
MAX_FILES = 10_000  # data files included (5000 small ones once lost a correct submission its marks)
SCAN_SECONDS = 5.0  # a folder on a slow disk, or a huge one, is refused rather than read for minutes
SKIPPED = {"__pycache__", ".git", ".ipynb_checkpoints", "__MACOSX"}
LINK_ADVICE = "upload the files themselves"
TOO_BIG_ADVICE = "remove data files and outputs"
MAX_NAME_BYTES = 100  # a student id longer than this gets a shortened file name


@dataclass
class Submission:
    student: str
    folder: Path | None
    problem: str | None = None
    # The student's entry in SUBMISSIONS_DIR, where the upload came from (not compared:
    # a submission is what gets graded).
    source: Path | None = field(default=None, compare=False)

    @property
    def file_name(self) -> str:
        return file_name(self.student)


class Refused(ValueError):
    """A submission that cannot be used; the message is for the student."""


# ------------------------------------------------------------------ student ids


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``, ``\\n``, ``\\u202e``): safe on a terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def file_name(student: str) -> str:
    """A file name for a student id: the id itself when it makes a safe one.

    Otherwise a cleaned, shortened id with a hash of the full id after a ``~``.
    A kept id never holds ``~``, so a changed name never equals a kept one, and
    two changed names differ by their hashes.
    """
    if student.isprintable() and not any(c in student for c in "/\\~") and not student.startswith(".") \
            and len(student.encode("utf-8", "surrogateescape")) <= MAX_NAME_BYTES:
        return student
    cleaned = "".join(c if c.isprintable() and c not in "/\\~" else "_" for c in student)
    cleaned = "_" + cleaned[1:] if cleaned.startswith(".") else cleaned
    cleaned = cleaned.encode()[:MAX_NAME_BYTES - 10].decode(errors="ignore")  # no half characters
    digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{cleaned}~{digest}"


# ------------------------------------------------------------------ discovery


def discover(submissions_dir: Path, staging: Path, primary_module: str) -> list[Submission]:
    """Every student's submission, sorted by student id, each copied into ``staging/<file name>``."""
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"{submissions_dir} is not a folder of submissions")
    entries: dict[str, list[Path]] = {}
    for entry in os.scandir(submissions_dir):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():  # follows a link: a linked folder is a student's entry, refused below
            entries.setdefault(entry.name, []).append(Path(entry.path))
        elif entry.name.lower().endswith(".zip"):
            entries.setdefault(entry.name[:-4], []).append(Path(entry.path))
    found = []
    for student in sorted(entries):
        paths = sorted(entries[student])
        sub = _submission(student, paths, staging / file_name(student), primary_module)
        sub.source = paths[0]
        found.append(sub)
    return found


def _submission(student: str, paths: list[Path], target: Path, primary: str) -> Submission:
    if len(paths) > 1:
        names = " and ".join(printable(p.name) + ("/" if p.is_dir() else "") for p in paths)
        return Submission(student, None, f"two submissions for {printable(student)}: {names}. "
                                         "Keep one and grade again.")
    entry = paths[0]
    try:
        st = entry.lstat()
        _refuse_special(st, entry.name)
        if not stat.S_ISDIR(st.st_mode):
            return _from_zip(student, entry, target, primary)
        upload = _only_zip(entry)
        if upload is not None:
            # A folder holding just the student's upload as a zip.
            _refuse_special(upload.lstat(), upload.name)
            return _from_zip(student, upload, target, primary)
        copy_folder(entry, target)
    except Refused as exc:
        return Submission(student, None, f"{exc}.")
    except OSError as exc:
        return Submission(student, None, f"could not read {printable(entry.name)}: {exc.strerror}.")
    return Submission(student, _module_folder(target, primary))


def _only_zip(folder: Path) -> Path | None:
    """The one entry of ``folder`` when it is a .zip, else None."""
    with os.scandir(folder) as it:
        first = list(itertools.islice(it, 2))  # not the whole listing of a huge folder
    if len(first) == 1 and first[0].name.lower().endswith(".zip"):
        return Path(first[0].path)
    return None


def _from_zip(student: str, archive: Path, target: Path, primary: str) -> Submission:
    try:
        extract(archive, target)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return Submission(student, None, f"could not open {printable(archive.name)}: {exc}. "
                                         "Upload a valid .zip of your files.")
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


# ------------------------------------------------------------------ copying a folder


def _kind(st: os.stat_result) -> str | None:
    """What a file is, when it is neither a folder nor a plain file with one name."""
    if stat.S_ISDIR(st.st_mode):
        return None
    if stat.S_ISREG(st.st_mode):
        # A second name for one file: it can be a classmate's file, or the solution's.
        return "a hard link to a file stored elsewhere too" if st.st_nlink > 1 else None
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link"
    if stat.S_ISFIFO(st.st_mode):
        return "a named pipe"
    if stat.S_ISSOCK(st.st_mode):
        return "a socket"
    return "a device file"


def _refuse_special(st: os.stat_result, shown: str) -> None:
    kind = _kind(st)
    if kind:
        raise Refused(f"{printable(shown)} is {kind}; {LINK_ADVICE}")


def _open_plain(path: Path, shown: str) -> BinaryIO:
    """Open a plain file for reading: never through a link, never blocking on a pipe."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link (swapped in since the scan)
            raise Refused(f"{printable(shown)} is a symbolic link; {LINK_ADVICE}") from None
        raise
    try:
        _refuse_special(os.fstat(fd), shown)  # what was opened, whatever the scan saw
    except Refused:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def copy_folder(source: Path, target: Path) -> None:
    """Copy a student's folder without following links; raises ``Refused`` with the reason.

    Bounded like a zip (MAX_FILES entries, MAX_UNZIPPED_BYTES) and in time
    (SCAN_SECONDS): a folder with a million files is refused early, not read.
    """
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    try:
        _copy_entries(source, target, _Allowance(source.name))
    except Refused:
        shutil.rmtree(target, ignore_errors=True)  # no half copy is left to be graded
        raise


def _copy_entries(source: Path, target: Path, allowance: _Allowance) -> None:
    pending, shown = [Path()], source.name
    try:
        while pending:
            folder = pending.pop()
            with os.scandir(source / folder) as it:
                for entry in it:  # lazily: a huge folder is refused before it is listed to the end
                    if entry.name in SKIPPED:
                        continue
                    allowance.entry()
                    rel = folder / entry.name
                    shown = str(rel)
                    _refuse_special(entry.stat(follow_symlinks=False), shown)
                    if entry.is_dir(follow_symlinks=False):
                        (target / rel).mkdir()
                        pending.append(rel)
                        continue
                    with _open_plain(Path(entry.path), shown) as src, open(target / rel, "xb") as dst:
                        # At most what is left + 1 byte: a file growing meanwhile cannot overflow the limit.
                        dst.write(allowance.data(src.read(allowance.bytes_left + 1)))
    except OSError as exc:
        raise Refused(f"could not read {printable(shown)}: {exc.strerror}") from None


class _Allowance:
    """What a folder copy may still take: entries, bytes, time."""

    def __init__(self, name: str) -> None:
        self.name = printable(name)
        self.entries, self.bytes_left = 0, MAX_UNZIPPED_BYTES
        self.deadline = time.monotonic() + SCAN_SECONDS

    def entry(self) -> None:
        self.entries += 1
        if self.entries > MAX_FILES:
            raise Refused(f"{self.name} holds more than {MAX_FILES} files; {TOO_BIG_ADVICE}")
        if time.monotonic() > self.deadline:
            raise Refused(f"{self.name} took more than {SCAN_SECONDS:g} s to read; {TOO_BIG_ADVICE}")

    def data(self, data: bytes) -> bytes:
        self.bytes_left -= len(data)
        if self.bytes_left < 0:
            limit = MAX_UNZIPPED_BYTES
            size = f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit} bytes"
            raise Refused(f"{self.name} holds more than {size}; {TOO_BIG_ADVICE}")
        return data


# ------------------------------------------------------------------ zips


def extract(archive: Path, target: Path) -> None:
    """Extract a zip refusing absolute paths, ``..``, links and zip bombs."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with _open_plain(archive, archive.name) as fh, zipfile.ZipFile(fh) as zf:
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
