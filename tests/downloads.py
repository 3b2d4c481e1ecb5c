"""Realistic class downloads of the backprop assignment, built from its shipped samples.

Each builder writes what a TA gets from one platform, with the names that
platform gives (see docs/tas.md, "SUBMISSIONS_DIR"):

- Canvas "Download Submissions": flat files
  ``<lastfirst>[_LATE]_<user id>_<attachment id>_<file>``, or their submissions.zip; under anonymous
  grading ``[LATE_]anon_<anonymous id>_<attachment id>_<file>``;
- Moodle "Download all submissions": flat files
  ``<First Last>_<participant id>_assignsubmission_file_<file>``, or one folder per participant;
- Gradescope "Export Submissions": ``submission_<id>/`` folders and ``submission_metadata.yml``;
- nbgrader: ``submitted/<student id>/<assignment>/`` in a course folder;
- plain folders and zips named by student id, and the accidents of a real class;
- zips whose names lack the UTF-8 flag, as Info-ZIP and macOS write them (``legacy_zip``).

Every student hands in the files of one shipped sample (``autograder.samples.sample_files``),
so a test can tell from the staged bytes which student got which upload.
"""
from __future__ import annotations

import functools
import itertools
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder.config import solution_assignment
from autograder.samples import sample_files

BACKPROP = solution_assignment(Path(__file__).resolve().parents[1], "backprop")
MODULES = ("backprop", "backprop_torch")
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lena"]
LAST = ["Silva", "Okafor", "Müller", "Tanaka", "Nguyen", "Haddad", "Kowalski", "Rossi"]
# A mix of right, wrong and unfinished work; attack-always-equal hands in backprop.py alone.
CYCLE = ["reference", "stub", "wrong-db-not-summed", "wrong-affine-no-reshape", "attack-always-equal",
         "wrong-relu-backward-dout-mask"]


@functools.cache
def sample(name: str) -> dict[str, bytes]:
    """The files of a shipped sample: backprop.py, and backprop_torch.py where it has one."""
    return sample_files(BACKPROP, name)


@dataclass(frozen=True)
class Student:
    first: str
    last: str
    number: int
    sample: str

    @property
    def full_name(self) -> str:  # as Moodle and Gradescope show it
        return f"{self.first} {self.last}"

    @property
    def canvas_name(self) -> str:  # Canvas: the sortable name, lower case, run together
        return f"{self.last}{self.first}".lower()

    @property
    def canvas_id(self) -> str:
        return str(5_170_000 + self.number)

    @property
    def moodle_id(self) -> str:  # Moodle's participant id for the assignment
        return str(100_000 + self.number)

    @property
    def sid(self) -> str:
        return f"2024{self.number:04d}"

    @property
    def email(self) -> str:
        return f"{self.first[0]}{self.last}@uni.example".lower()

    @property
    def login(self) -> str:  # an nbgrader student id: the JupyterHub user name
        return f"{self.first[0]}{self.last}".lower()


def roster(size: int = 24, samples: list[str] | None = None) -> list[Student]:
    """A class of ``size`` students (distinct names), cycling through ``samples``."""
    names = list(itertools.product(LAST, FIRST))[:size]
    cycle = samples or CYCLE
    return [Student(first, last, i + 1, cycle[i % len(cycle)]) for i, (last, first) in enumerate(names)]


def write(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def zip_folder(folder: Path, archive: Path, top: str = "") -> Path:
    """Zip every file under ``folder`` (names relative to it, under ``top`` when given), as a download does."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, top + path.relative_to(folder).as_posix())
    return archive


def legacy_zip(folder: Path, archive: Path) -> Path:
    """Zip every file under ``folder`` as Info-ZIP, macOS's Archive Utility and rubyzip do: names stored as
    UTF-8 bytes, but without the UTF-8 flag (general purpose bit 11), so Python reads them as cp437.

    zipfile sets the flag for any non-ASCII name, so each is written under an ASCII stand-in of the same
    length in bytes (its non-ASCII characters as DEL bytes), then the stand-in's bytes are swapped for the
    name's in the local header and the central directory (names are not in the CRC).
    """
    archive.parent.mkdir(parents=True, exist_ok=True)
    swaps = []
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                stand_in = "".join(c if c.isascii() else "\x7f" * len(c.encode()) for c in name)
                zf.write(path, stand_in)
                if stand_in != name:
                    swaps.append((stand_in.encode(), name.encode()))
    data = archive.read_bytes()
    for stand_in, name in swaps:
        assert data.count(stand_in) == 2, stand_in  # its local header and its central directory entry
        data = data.replace(stand_in, name)
    archive.write_bytes(data)
    with zipfile.ZipFile(archive) as zf:
        assert not any(info.flag_bits & 0x800 for info in zf.infolist())
    return archive


# ------------------------------------------------------------------ Canvas


def canvas(folder: Path, students: list[Student], late=(), renamed=(), resubmitted=()) -> dict[str, dict]:
    """Canvas's download, unpacked into ``folder``: one flat file per uploaded file.

    ``late``: marked _LATE_. ``renamed``: their backprop.py reached Canvas as backprop-1.py (a file of
    that name was in their Canvas files already). ``resubmitted``: their download holds an earlier stub
    backprop.py and, uploaded after it, backprop-1.py.
    Returns, per user id, the attachment id of each file name as uploaded.
    """
    attachments = itertools.count(91_234_001)
    uploaded: dict[str, dict] = {}
    for s in students:
        prefix = f"{s.canvas_name}{'_LATE' if s in late else ''}_{s.canvas_id}"
        files = uploaded[s.canvas_id] = {}
        if s in resubmitted:
            files["backprop.py"] = next(attachments)
            write(folder / f"{prefix}_{files['backprop.py']}_backprop.py", sample("stub")["backprop.py"])
        for name, data in sample(s.sample).items():
            if name == "backprop.py" and (s in renamed or s in resubmitted):
                name = "backprop-1.py"
            files[name] = next(attachments)
            write(folder / f"{prefix}_{files[name]}_{name}", data)
    return uploaded


def canvas_zip(folder: Path, students: list[Student], **options) -> dict[str, dict]:
    """Canvas's download left as it comes: ``folder/submissions.zip``, flat inside."""
    uploaded = canvas(folder.parent / f"{folder.name}-unpacked", students, **options)
    zip_folder(folder.parent / f"{folder.name}-unpacked", folder / "submissions.zip")
    return uploaded


def canvas_anonymous(folder: Path, students: list[Student], late=()) -> dict[str, str]:
    """Canvas's download of an assignment with anonymous grading: ``[LATE_]anon_<anonymous id>_<attachment id>_<file>``
    (lib/content_zipper.rb: the name is left out and the id is ``anon_<anonymous id>``, after LATE).
    Returns each student's anonymous id, by user id."""
    attachments = itertools.count(91_300_101)
    keys = {}
    for s in students:
        key = keys[s.canvas_id] = f"Xq{s.number}Zk"  # Canvas's anonymous ids: 5 letters and digits
        prefix = f"{'LATE_' if s in late else ''}anon_{key}"
        for name, data in sample(s.sample).items():
            write(folder / f"{prefix}_{next(attachments)}_{name}", data)
    return keys


# ------------------------------------------------------------------ Moodle


def moodle(folder: Path, students: list[Student], in_folders: bool = False, online_text=()) -> Path:
    """Moodle's "Download all submissions": flat files, or (``in_folders``) one folder per participant.

    ``online_text``: students whose submission also has an online text (Moodle adds its own entry).
    """
    for s in students:
        base = f"{s.full_name}_{s.moodle_id}_assignsubmission_"
        for name, data in sample(s.sample).items():
            write(folder / f"{base}file_" / name if in_folders else folder / f"{base}file_{name}", data)
        if s in online_text:
            text = b"<p>I used the notebook's gradient check.</p>"
            write(folder / f"{base}onlinetext_" / "onlinetext.html" if in_folders
                  else folder / f"{base}onlinetext_onlinetext.html", text)
    return folder


# ------------------------------------------------------------------ Gradescope


def gradescope(folder: Path, students: list[Student], groups=(), no_sid=(), resubmitted=()) -> dict[str, str]:
    """Gradescope's "Export Submissions", unzipped: ``folder`` is its assignment_<id>_export/.

    ``groups``: pairs of students who submitted together (the first one's files). ``no_sid``: students
    without an SID in the roster. ``resubmitted``: students with an older stub submission as well.
    Returns the submission id of each student's newest submission, by SID.
    """
    ids = itertools.count(31_400_001)
    entries, newest = [], {}
    partner = {b: a for a, b in groups}
    for s in students:
        if s in partner:
            continue
        members = [s] + [b for a, b in groups if a == s]
        uploads = [("stub", "2024-03-01 09:15:02.000000000")] if s in resubmitted else []
        uploads.append((s.sample, f"2024-03-0{2 + s.number % 7} 17:02:{s.number % 60:02d}.123456789"))
        for name, created in uploads:
            sub_id = next(ids)
            for path, data in sample(name).items():
                write(folder / f"submission_{sub_id}" / path, data)
            entries.append((sub_id, members, created))
            newest.update({m.sid: str(sub_id) for m in members})
    lines = []
    for sub_id, members, created in entries:
        lines += [f"submission_{sub_id}:", "  :submitters:"]
        for m in members:
            lines += [f"  - :name: {m.full_name}", f"    :sid: {'' if m in no_sid else repr(m.sid)}",
                      f"    :email: {m.email}"]
        lines += [f"  :created_at: {created} -08:00", "  :score: 0.0", "  :history: []"]
    write(folder / "submission_metadata.yml", ("\n".join(lines) + "\n").encode())
    return newest


# ------------------------------------------------------------------ nbgrader


def nbgrader_course(root: Path, students: list[Student], assignment: str = "backprop") -> Path:
    """An nbgrader course folder after ``nbgrader collect``: submitted/<student id>/<assignment>/."""
    write(root / "nbgrader_config.py", b"c = get_config()\nc.CourseDirectory.course_id = 'dl101'\n")
    write(root / "gradebook.db", b"SQLite format 3\0")
    for step in ("source", "release"):
        for name, data in sample("stub").items():
            write(root / step / assignment / name, data)
    for s in students:
        folder = root / "submitted" / s.login / assignment
        for name, data in sample(s.sample).items():
            write(folder / name, data)
        write(folder / f"{assignment}.ipynb", b'{"cells": [], "nbformat": 4, "nbformat_minor": 5}')
        write(folder / "timestamp.txt", f"2024-03-0{1 + s.number % 7} 17:02:11.522 UTC".encode())
    # An earlier step of a previous run: the first student's graded copy.
    first = students[0]
    write(root / "autograded" / first.login / assignment / "backprop.py", sample(first.sample)["backprop.py"])
    return root


# ------------------------------------------------------------------ plain folders, and accidents


def folders(folder: Path, students: list[Student]) -> Path:
    """One entry per student named by login: a folder, or (every other student) a zip."""
    for s in students:
        if s.number % 2:
            for name, data in sample(s.sample).items():
                write(folder / s.login / name, data)
        else:
            with zipfile.ZipFile(write(folder / f"{s.login}.zip"), "w") as zf:
                for name, data in sample(s.sample).items():
                    zf.writestr(name, data)
    return folder


def accidents(folder: Path) -> Path:
    """What students really hand in, in plain folders; every one holds the reference if anything."""
    ref = sample("reference")
    write(folder / "upper" / "Backprop.py", ref["backprop.py"])
    write(folder / "upper" / "backprop_torch.py", ref["backprop_torch.py"])
    write(folder / "browser" / "backprop (1).py", ref["backprop.py"])
    write(folder / "browser" / "backprop_torch(2).py", ref["backprop_torch.py"])
    with zipfile.ZipFile(write(folder / "deep.zip"), "w") as zf:  # three folders down
        zf.writestr("Desktop/dl/hw3/backprop.py", ref["backprop.py"])
        zf.writestr("Desktop/dl/hw3/backprop_torch.py", ref["backprop_torch.py"])
        zf.writestr("__MACOSX/Desktop/dl/hw3/._backprop.py", b"\0\5\26\7")
    write(folder / "notebook" / "backprop.ipynb", b'{"cells": [], "nbformat": 4, "nbformat_minor": 5}')
    (folder / "empty").mkdir(parents=True)
    write(folder / "text" / "notes.txt", b"my code is on my laptop, sorry")
    return folder
