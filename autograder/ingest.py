"""The ingest step: read a class download and make each student's submission a clean folder.

A SUBMISSIONS_DIR is what a platform's download gives, recognised from its
names (or named with ``layout``): Canvas's "Download Submissions" (flat files,
or its submissions.zip), Moodle's "Download all submissions" (flat, or in
folders), a Gradescope "Export Submissions" with its submission_metadata.yml,
nbgrader's submitted/ (or the course folder holding it), or plain folders and
zips named by student id; the download's zip may be given itself. Nothing in it is
passed over silently: an entry the platform does not name so (a folder a TA added,
a Moodle team entry without an id) is graded as a plain entry, with a note, and a
loose file that carries no student is named in a warning. Zip member names stored as
UTF-8 without the UTF-8 flag are read as UTF-8. Each student's entries are copied or extracted into
the staging area and graded from there: zips are extracted safely (no
absolute paths, no ``..``, no links, bounded size), folders are copied without
following links, and anything but plain files and folders (a symbolic or hard
link, a named pipe, a socket, a device) is refused, so a submission cannot
point the grader at the solutions or at a classmate's files.

In the copy, the assignment's modules are found by name at any depth,
tolerant of case and of the suffixes LMSs and browsers add (``backprop-1.py``,
``backprop (1).py``), and put under their expected names beside the first one
found: that folder is graded. What was matched, renamed or ignored is kept in
``Submission.intake``. Anything unusable becomes a ``Submission`` with a
``problem`` that the report shows to the student; the batch goes on.
"""
from __future__ import annotations

import errno
import hashlib
import itertools
import logging
import os
import posixpath
import re
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

MAX_UNZIPPED_BYTES = 64 * 2**20
MAX_FILES = 10_000  # data files included (5000 small ones once lost a correct submission its marks)
SCAN_SECONDS = 5.0  # a folder on a slow disk, or a huge one, is refused rather than read for minutes
SKIPPED = {"__pycache__", ".git", ".ipynb_checkpoints", "__MACOSX"}
LINK_ADVICE = "upload the files themselves"
TOO_BIG_ADVICE = "remove data files and outputs"
MAX_NAME_BYTES = 100  # a student id longer than this gets a shortened file name
CLASS_ARCHIVE_SCALE = 100  # a whole class's zip may hold this many submissions' worth of files and bytes
MAX_LISTED = 20  # ignored files listed in a student's result; the rest are counted in a note
# Top-level names of a download that are nobody's submission and are passed over without a word: what an
# operating system leaves (hidden names are passed over too).
JUNK = {"__MACOSX", "Thumbs.db", "desktop.ini"}
UTF8_FLAG = 0x800  # a zip member's general purpose bit 11: its name is UTF-8

log = logging.getLogger(__name__)  # loose files of a download that are not graded: a warning line for the TA


@dataclass
class Submission:
    student: str
    folder: Path | None
    problem: str | None = None
    # The student's entry in SUBMISSIONS_DIR, where the upload came from (not compared:
    # a submission is what gets graded). Workers are kept out of its parent folder.
    source: Path | None = field(default=None, compare=False)
    name: str | None = None  # the person's name as the download gives it
    error: str = "invalid"  # the kind of error when ``problem`` is set: "invalid" or "no_files"
    # How the submission was read: layout, platform ids, matched / ignored files, notes (see discover).
    intake: dict = field(default_factory=dict, compare=False)

    @property
    def file_name(self) -> str:
        return file_name(self.student)


class Refused(ValueError):
    """A submission that cannot be used; the message is for the student."""


class IntakeRefused(ValueError):
    """A SUBMISSIONS_DIR that is not a class download; the message says which folder to pass."""


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

LAYOUTS = ("canvas", "moodle", "gradescope", "nbgrader", "folders")
PLATFORM = {"canvas": "Canvas", "moodle": "Moodle", "gradescope": "Gradescope", "nbgrader": "nbgrader",
            "folders": "per-student folders"}
# Canvas "Download Submissions": <sortable name>[_LATE]_<user id>[_<attachment id>]_<file as uploaded>
# (a text entry has no attachment id: silvaana_123_text.html). With anonymous grading the name and the user
# id give way to anon_<anonymous id>, after the LATE mark: [LATE_]anon_<anonymous id>_<attachment id>_<file>
# (Canvas's lib/content_zipper.rb: [name, "LATE", id].compact.join("_"), non-word characters dropped, where
# the id is "anon_#{submission.anonymous_id}" and the name nil). The anonymous form is tried first.
CANVAS = re.compile(r"(?:(?P<anon_late>late_)?anon_(?P<anon>[a-z0-9]+)"
                    r"|(?P<name>[^_\s]+?)(?P<late>_late)?_(?P<user>\d+))(?:_(?P<attachment>\d+))?_(?P<file>.+)",
                    re.IGNORECASE | re.DOTALL)
# Moodle "Download all submissions": <Full Name>_<participant id>_assignsubmission_<plugin>_<file>, or
# with "Download submissions in folders" one folder per participant and plugin (ending in "_").
MOODLE = re.compile(r"(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)(?:_(?P<file>.*))?",
                    re.DOTALL)
GRADESCOPE = re.compile(r"submission_(?P<id>\d+)")  # the export's folder per submission
# A Moodle entry without a participant id: a team's ("Default group_assignsubmission_file_backprop.py", Moodle's
# name for the students in no group) or one renamed by hand. Graded as an entry named by its name part.
MOODLE_NO_ID = re.compile(r"(?P<name>.+?)_assignsubmission_(?P<plugin>[a-z]+)(?:_(?P<file>.*))?", re.DOTALL)
# How each platform names a student's entries, for messages.
NAMING = {
    "canvas": "<sortable name>[_LATE]_<user id>_<attachment id>_<file>, or [LATE_]anon_<anonymous id>_<attachment id>"
              "_<file> under anonymous grading",
    "moodle": "<Full Name>_<participant id>_assignsubmission_<plugin>_<file>, or a folder "
              "<Full Name>_<participant id>_assignsubmission_<plugin>",
    "gradescope": "submission_<id>/ folders beside submission_metadata.yml",
    "nbgrader": "submitted/<student id>/<assignment>/",
    "folders": "one folder or .zip per student",
}
# The markers of an nbgrader course folder (nbgrader's own names), with submitted/<student>/<assignment>/.
NBGRADER_MARKERS = {"nbgrader_config.py", "gradebook.db", "source/", "release/"}
# What LMSs and browsers add to a file's name: "-1" (Canvas, on a resubmitted file), " (1)" or "(1)"
# (a browser, on a second download), "_LATE".
SUFFIXES = r"(?P<suffix>(?:-\d+|\s?\(\d+\)|_late)*)"


def discover(submissions_dir: Path, staging: Path, modules: tuple[str, ...],
             layout: str | None = None) -> list[Submission]:
    """Every student's submission in a class download, sorted by student id, staged in ``staging/<file name>``.

    ``submissions_dir`` is the download's folder, or its zip (Canvas's submissions.zip), which is
    unpacked into ``staging/.download``. ``modules`` are the module names the assignment expects
    (``("backprop", "backprop_torch")``; one name alone is taken too). ``layout`` (one of LAYOUTS)
    forces a platform's layout instead of recognising it. Raises ``IntakeRefused``, with the folder to
    pass, for a folder that is not a class download (a course folder, the folder above a download, a
    forced layout whose names are not in it, a broken zip of the whole class).

    Nothing in the download is passed over silently: an entry that the platform does not name so (a
    folder or .zip a TA added, a Moodle entry without an id) is graded as a plain entry named by it, with
    a note; a loose file that carries no student (notes.txt) is not graded, and a warning says so.
    """
    submissions_dir, staging = Path(submissions_dir), Path(staging)
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)}")
    if not submissions_dir.is_dir():
        if not submissions_dir.exists():
            raise FileNotFoundError(f"{submissions_dir} is not a folder of submissions")
        if not submissions_dir.name.lower().endswith(".zip"):
            raise IntakeRefused(f"{printable(str(submissions_dir))} is a file, not a class download: pass the "
                                "folder (or the .zip) that your platform's download gave you.")
    modules = (modules,) if isinstance(modules, str) else tuple(modules)
    root, layout, source, forced = _open_download(submissions_dir, staging, layout)
    uploads = READERS[layout](root)
    if forced and layout != "folders" and not uploads and _names(root):
        raise IntakeRefused(_not_that_layout(root, layout))
    uploads, loose = _others(root, layout, uploads)
    if loose:
        log.warning("%s", _loose_line(root, layout, loose))
    found = []
    for upload in sorted(uploads, key=lambda u: u.student):
        upload.source = source or upload.source
        found.append(_stage(upload, staging / file_name(upload.student), modules, layout))
    return found


# ------------------------------------------------------------------ layouts


def _open_download(given: Path, staging: Path, layout: str | None) -> tuple[Path, str, Path | None, bool]:
    """The folder holding the students' entries, its layout, the one source of them all (or None), and
    whether that layout was forced.

    Unzips a whole class's zip (``given`` itself, or the one zip in ``given``) into ``staging/.download``
    and steps into an nbgrader course's submitted/. The source, when set, is what workers are kept out of
    the parent of: the class's zip, or submitted/ (the course folder holds every student's graded notebooks too).
    """
    if given.is_dir():
        _refuse_course_folder(given)
        archive = _class_archive(given, layout) if layout != "folders" else None
    else:
        archive = given  # the class's zip, passed itself
    source, folder = archive, given
    if archive:
        folder = _unzip_class(archive, staging / ".download")
    if layout in (None, "nbgrader") and _is_nbgrader_course(folder):
        folder = folder / "submitted"
    found = layout or _detect(folder)
    if found is None:
        if archive is None:
            _refuse_parent_of_a_class(folder)
        found = "folders"
    if found == "nbgrader" and source is None and _nbgrader_markers(folder.parent):
        source = folder
    return folder, found, source, layout is not None


def _not_that_layout(root: Path, layout: str) -> str:
    """Why a forced layout finds nothing: the names it expects, and a few of those there are."""
    names = sorted(_names(root))
    shown = ", ".join(printable(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    detected = _detect(root)
    hint = (f"; its names are those of a {PLATFORM[detected]} download: use --layout {detected}, or leave "
            "--layout out" if detected and detected != layout else "; leave --layout out to read it by its names")
    return (f"--layout {layout}: nothing in {printable(str(root))} is named as a {PLATFORM[layout]} download names "
            f"a student's files ({NAMING[layout]}); it holds {shown}{hint}.")


def _names(folder: Path) -> list[str]:
    """The names in ``folder`` ("name/" for a folder), hidden ones left out; a bounded listing."""
    with os.scandir(folder) as it:
        entries = list(itertools.islice(it, MAX_FILES))
    return [e.name + "/" if e.is_dir() else e.name for e in entries if not e.name.startswith(".")]


def _layout_of(names: list[str] | set[str]) -> str | None:
    """The platform whose class download has these top-level names; None when none does."""
    names = [n for n in names if not n.startswith(".") and n != "__MACOSX/"]
    if "submission_metadata.yml" in names:
        return "gradescope"
    if "submitted/" in names and NBGRADER_MARKERS & set(names):
        return "nbgrader"
    moodle = sum(bool(MOODLE.fullmatch(n.rstrip("/"))) for n in names)
    canvas = sum(bool((m := CANVAS.fullmatch(n.rstrip("/"))) and m["attachment"] and not MOODLE.fullmatch(n))
                 for n in names)
    for layout, count in (("moodle", moodle), ("canvas", canvas)):
        if count and 2 * count >= len(names):  # most names: a stray file of the TA's does not matter
            return layout
    return None


def _detect(folder: Path) -> str | None:
    """The platform whose class download ``folder`` is; None for plain folders."""
    found = _layout_of(_names(folder))
    if found is None and folder.name == "submitted" and (_nbgrader_markers(folder.parent) or _timestamped(folder)):
        found = "nbgrader"
    return found


def _nbgrader_markers(folder: Path) -> bool:
    return any((folder / marker.rstrip("/")).exists() for marker in NBGRADER_MARKERS)


def _is_nbgrader_course(folder: Path) -> bool:
    return (folder / "submitted").is_dir() and _nbgrader_markers(folder)


def _timestamped(folder: Path) -> bool:
    """Whether the first students' folders hold <assignment>/timestamp.txt, as nbgrader collect writes."""
    students = [p for p in itertools.islice(folder.iterdir(), 5) if p.is_dir()]
    return any(next(p.glob("*/timestamp.txt"), None) for p in students)


def _refuse_course_folder(folder: Path) -> None:
    if (folder / "solutions").is_dir() and (folder / "assignments").is_dir():
        raise IntakeRefused(
            f"{printable(str(folder))} is a course folder (it holds solutions/ and assignments/), not a class "
            "download. Pass the folder (or the .zip) that your platform's download gave you: Canvas's "
            "submissions.zip, Moodle's or Gradescope's download, nbgrader's submitted/, or one folder or .zip "
            "per student.")
    if ((folder / "nbgrader_config.py").is_file() or (folder / "gradebook.db").is_file()) \
            and not (folder / "submitted").is_dir():
        raise IntakeRefused(
            f"{printable(str(folder))} is an nbgrader course folder without submitted/: collect the submissions "
            f"first (nbgrader collect), then pass {printable(str(folder))} again.")


def _refuse_parent_of_a_class(folder: Path) -> None:
    """Refuse a folder holding nothing but one class download: graded as is, it would be one student."""
    names = _names(folder)
    folders = [n for n in names if n.endswith("/")]
    if len(folders) != 1 or any(n.lower().endswith(".zip") for n in names):
        return
    inner = folder / folders[0].rstrip("/")
    try:
        layout = _detect(inner) or ("nbgrader" if inner.name == "submitted" else None)
    except OSError:
        return  # one student's folder that cannot be read: that student's result says so
    if layout:
        raise IntakeRefused(
            f"{printable(str(folder))} holds only the folder {printable(inner.name)}, which looks like a whole "
            f"class's {PLATFORM[layout]} download: pass {printable(str(inner))} instead.")


def _class_archive(folder: Path, layout: str | None) -> Path | None:
    """The zip of a whole class's download, when ``folder`` holds that zip alone (Canvas's submissions.zip)."""
    with os.scandir(folder) as it:
        entries = [e for e in itertools.islice(it, 100) if not e.name.startswith(".")]
    if len(entries) != 1 or not entries[0].name.lower().endswith(".zip") or entries[0].is_dir():
        return None
    archive = Path(entries[0].path)
    if layout is not None:
        return archive
    try:
        with _open_plain(archive, archive.name) as fh, zipfile.ZipFile(fh) as zf:
            names = [info.filename for info in _infos(zf)]
    except Refused:
        return None  # a link or a special file: one student's entry, refused in its result
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        # Alone in the folder, it is most likely the class's download, cut short: graded, it would be one
        # student named after it.
        why = f"cannot be read ({exc.strerror})" if isinstance(exc, OSError) and exc.strerror else \
            f"cannot be opened ({exc}): the zip is broken"
        raise IntakeRefused(
            f"{printable(str(folder))} holds only {printable(archive.name)}, which {why}. If it is your platform's "
            "download, download it again (or unpack it and pass the folder); if it really is one student's upload, "
            "grade with --layout folders.") from None
    return archive if _layout_of(_zip_top(names)) else None


def _zip_top(names: list[str]) -> set[str]:
    """A zip's top-level names ("name/" for a folder), inside its one top folder when it has one."""
    top = {n.split("/")[0] + ("/" if "/" in n else "") for n in names if not n.startswith("__MACOSX")}
    if len(top) == 1 and (wrapper := next(iter(top))).endswith("/"):
        inside = [n[len(wrapper):] for n in names if n.startswith(wrapper)]
        top = {n.split("/")[0] + ("/" if "/" in n else "") for n in inside if n}
    return top


def _unzip_class(archive: Path, target: Path) -> Path:
    """Unzip a whole class's zip into ``target``; the folder holding the students' entries."""
    try:
        extract(archive, target, scale=CLASS_ARCHIVE_SCALE)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise IntakeRefused(f"could not open {printable(str(archive))}: {exc}. Download it again, or unpack it "
                            "and pass the folder.") from None
    inside = [p for p in target.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    return inside[0] if len(inside) == 1 and inside[0].is_dir() else target


# ------------------------------------------------------------------ reading each platform's download


@dataclass
class _Upload:
    """One student's entries in a download, before they are staged."""
    student: str
    parts: list[tuple[Path, str]]  # (an entry of the download, where it goes in the student's copy; "" = top)
    name: str | None = None
    ids: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    problem: str | None = None
    source: Path | None = None
    newest: tuple = ()  # how new it is, where a student has several (larger is newer)
    claims: list[Path] = field(default_factory=list)  # entries of the download it accounts for, beside its parts


def _read_folders(root: Path) -> list[_Upload]:
    """Plain folders: one folder or .zip per student, named by the student id; other files are not graded
    (``_others`` names them in a warning)."""
    entries: dict[str, list[Path]] = {}
    for entry in os.scandir(root):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():  # follows a link: a linked folder is a student's entry, refused when staged
            entries.setdefault(entry.name, []).append(Path(entry.path))
        elif entry.name.lower().endswith(".zip"):
            entries.setdefault(entry.name[:-4], []).append(Path(entry.path))
    uploads = []
    for student, paths in entries.items():
        paths.sort()
        upload = _Upload(student, [(paths[0], "")], source=paths[0], claims=paths)
        if len(paths) > 1:
            names = " and ".join(printable(p.name) + ("/" if p.is_dir() else "") for p in paths)
            upload.problem = f"two submissions for {printable(student)}: {names}. Keep one and grade again."
        uploads.append(upload)
    return uploads


def _read_nbgrader(root: Path) -> list[_Upload]:
    """nbgrader's submitted/: submitted/<student id>/<assignment id>/<files>."""
    return [_Upload(e.name, [(Path(e.path), "")], ids={"student_id": e.name}, source=Path(e.path))
            for e in os.scandir(root) if not e.name.startswith(".") and e.is_dir()]


def _canvas(name: str) -> re.Match | None:
    """The parts of a Canvas download's file name; None when Canvas does not name a file so."""
    match = CANVAS.fullmatch(name)
    return match if match and not name.startswith(".") and not MOODLE.fullmatch(name) else None


def _read_canvas(root: Path) -> list[_Upload]:
    """Canvas: flat files <name>[_LATE]_<user id>_<attachment id>_<file>; the user id is the student id.
    Under anonymous grading, [LATE_]anon_<anonymous id>_<attachment id>_<file>: the anonymous id is."""
    by_user: dict[str, list[tuple[re.Match, Path]]] = {}
    for entry in os.scandir(root):
        if match := _canvas(entry.name):
            by_user.setdefault(match["anon"] or match["user"], []).append((match, Path(entry.path)))
    return [_canvas_upload(user, sorted(files, key=lambda f: f[1].name)) for user, files in by_user.items()]


def _canvas_upload(user: str, files: list[tuple[re.Match, Path]]) -> _Upload:
    anonymous = bool(files[0][0]["anon"])
    upload = _Upload(user, [], name=files[0][0]["name"], ids={"anonymous_id" if anonymous else "user_id": user},
                     source=files[0][1])
    # One file uploaded again shows up as backprop.py and backprop-1.py: the newest attachment wins.
    versions: dict[str, list[tuple[int, re.Match, Path]]] = {}
    for match, path in files:
        key = re.sub(r"-\d+(?=\.[^.]*$)|-\d+$", "", match["file"]).lower()
        versions.setdefault(key, []).append((int(match["attachment"] or 0), match, path))
    kept = []
    for found in versions.values():
        found.sort(key=lambda v: v[0], reverse=True)
        (attachment, match, path), older = found[0], found[1:]
        kept.append(found[0])
        stem = match["file"][:-4] if match["file"].lower().endswith(".zip") else match["file"]
        upload.parts.append((path, stem))  # a zip is unpacked into a folder of its name
        if older:
            upload.claims += [p for _, _, p in older]
            upload.ignored += [m["file"] for _, m, _ in older]
            upload.notes.append(
                f"newest of {len(found)} submissions taken: attachment {attachment} over "
                f"{', '.join(str(a) for a, _, _ in older)} ({match['file']} over "
                f"{', '.join(m['file'] for _, m, _ in older)})")
    attachments = [a for a, _, _ in kept if a]
    if attachments:
        upload.ids["attachment_id"] = str(max(attachments))
    if any(m["late"] or m["anon_late"] for _, m, _ in kept):
        upload.notes.append("submitted late (Canvas marked it LATE)")
    if anonymous:
        upload.notes.append("anonymous grading: the student id is Canvas's anonymous id")
    return upload


def _read_moodle(root: Path) -> list[_Upload]:
    """Moodle: <Full Name>_<participant id>_assignsubmission_<plugin>_<file> as flat files, or one folder
    per participant and plugin; the participant id is the student id."""
    uploads: dict[str, _Upload] = {}
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        match = MOODLE.fullmatch(entry.name)
        if not match or entry.name.startswith("."):
            continue
        pid = match["participant"]
        upload = uploads.setdefault(pid, _Upload(pid, [], name=match["name"], ids={"participant_id": pid},
                                                 source=Path(entry.path)))
        rel = "" if entry.is_dir() else (match["file"] or entry.name)
        upload.parts.append((Path(entry.path), rel[:-4] if rel.lower().endswith(".zip") else rel))
    return list(uploads.values())


def _read_gradescope(root: Path) -> list[_Upload]:
    """Gradescope's export: submission_<id>/ folders, named by submission_metadata.yml.

    The student id is the submitter's SID, else the submission id; each member of a group gets
    the group's submission. Where a student has several, the newest (``:created_at``) is taken.
    """
    metadata = _gradescope_metadata(root / "submission_metadata.yml")
    by_student: dict[str, list[_Upload]] = {}
    for entry in os.scandir(root):
        match = GRADESCOPE.fullmatch(entry.name)
        if match and entry.is_dir():
            for upload in _gradescope_uploads(Path(entry.path), match["id"], metadata.get(entry.name)):
                by_student.setdefault(upload.student, []).append(upload)
    uploads = []
    for versions in by_student.values():
        versions.sort(key=lambda u: u.newest, reverse=True)
        versions[0].claims += [u.source for u in versions[1:]]
        if len(versions) > 1:
            versions[0].notes.append(
                f"newest of {len(versions)} submissions taken: submission {versions[0].ids['submission_id']} over "
                f"{', '.join(u.ids['submission_id'] for u in versions[1:])}")
        uploads.append(versions[0])
    return uploads


def _gradescope_uploads(folder: Path, submission_id: str, info) -> list[_Upload]:
    """One upload per submitter of a Gradescope submission (a group has several)."""
    people = [p for p in _field(info, "submitters") or [] if isinstance(p, dict)] or [{}]
    newest = (_timestamp(_field(info, "created_at")), int(submission_id))
    uploads = []
    for person in people:
        sid, email, name = (str(_field(person, key) or "").strip() for key in ("sid", "email", "name"))
        ids = {"submission_id": submission_id, **({"sid": sid} if sid else {}), **({"email": email} if email else {})}
        upload = _Upload(sid or submission_id, [(folder, "")], name=name or None, ids=ids, source=folder,
                         newest=newest)
        if len(people) > 1:
            others = [str(_field(p, "name") or _field(p, "sid")) for p in people if p is not person]
            upload.notes.append(f"group submission, with {', '.join(others)}")
        uploads.append(upload)
    return uploads


def _gradescope_metadata(path: Path) -> dict:
    """submission_metadata.yml as a dict ({} when missing); keys are Ruby symbols (":submitters")."""
    import yaml

    if not path.is_file():
        return {}
    try:
        with _open_plain(path, path.name) as fh:
            data = yaml.safe_load(fh.read(MAX_UNZIPPED_BYTES))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise IntakeRefused(f"could not read {printable(str(path))}: {exc}. Export the submissions again.") from None
    return data if isinstance(data, dict) else {}


def _field(record: dict, key: str):
    """A field of Gradescope's metadata, under its symbol name (":sid") or a plain one ("sid")."""
    return record.get(f":{key}", record.get(key)) if isinstance(record, dict) else None


def _timestamp(value) -> float:
    """Seconds since the epoch of a metadata time (YAML reads one as a datetime); 0 without one."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return 0.0


def _others(root: Path, layout: str, uploads: list[_Upload]) -> tuple[list[_Upload], list[str]]:
    """The uploads, with the entries of ``root`` that the layout's reader passed over: graded as plain entries
    when they can be a student's (a folder, a .zip, a Moodle entry without an id), each with a note saying so;
    and the names of the loose files that cannot (they carry no student), for the TA to be told."""
    claimed = {path for u in uploads for path in [*(p for p, _ in u.parts), *u.claims, u.source] if path}
    if layout == "gradescope":
        claimed.add(root / "submission_metadata.yml")
    platform = PLATFORM[layout]
    by_student = {u.student: u for u in uploads}
    extra: dict[str, _Upload] = {}
    loose = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name.startswith(".") or entry.name in JUNK or path in claimed:
            continue
        is_dir = entry.is_dir()
        no_id = MOODLE_NO_ID.fullmatch(entry.name) if layout == "moodle" else None
        if no_id:
            student, rel = no_id["name"], "" if is_dir else (no_id["file"] or entry.name)
            rel = rel[:-4] if rel.lower().endswith(".zip") else rel
            note = (f"not named as a {platform} download names files (no participant id): graded as "
                    f"{printable(student)}")
            if student == "Default group":
                note += (" (Moodle's name for a team submission of the students in no group: enter its grade for "
                         "each of them by hand)")
        elif is_dir or entry.name.lower().endswith(".zip"):
            student, rel = (entry.name, "") if is_dir else (entry.name[:-4], "")
            note = (f"not named as a {platform} download names files: graded as the "
                    f"{'folder' if is_dir else 'zip'} {printable(entry.name)}")
        else:
            loose.append(entry.name)
            continue
        if student in by_student:  # a TA's folder 5170001/ beside Canvas's files of user 5170001
            upload = by_student[student]
            upload.problem = (f"two submissions for {printable(student)}: its {platform} files and "
                              f"{printable(entry.name)}{'/' if is_dir else ''}. Keep one and grade again.")
            upload.claims.append(path)
            continue
        upload = extra.get(student)
        if upload is None:
            upload = extra[student] = _Upload(student, [], name=student if no_id else None, source=path, notes=[note])
        upload.parts.append((path, rel))
        upload.claims.append(path)
        if not no_id and len(upload.claims) > 1:  # latejoe/ and latejoe.zip
            upload.problem = (f"two submissions for {printable(student)}: "
                              f"{' and '.join(printable(p.name) + ('/' if p.is_dir() else '') for p in upload.claims)}"
                              ". Keep one and grade again.")
    return uploads + list(extra.values()), loose


def _loose_line(root: Path, layout: str, loose: list[str]) -> str:
    """The warning about loose files that are not graded: which, where, why, and what to do."""
    shown = ", ".join(printable(n) for n in loose[:10]) + (f" and {len(loose) - 10} more" if len(loose) > 10 else "")
    why = ("neither a folder nor a .zip named by a student id" if layout == "folders" else
           f"not named as a {PLATFORM[layout]} download names a student's files, nor a folder or .zip named by a "
           "student id")
    line = (f"not graded: {len(loose)} loose file(s) in {printable(str(root))}: {shown} ({why}). If one is a "
            "student's, put it in a folder named by the student's id and grade again.")
    platforms = {name for name in ("canvas", "moodle") if any(_layout_of([n]) == name for n in loose)}
    if layout == "folders" and platforms:
        line += f" Some are named as a {PLATFORM[min(platforms)]} download names files: try --layout {min(platforms)}."
    return line


READERS = {"canvas": _read_canvas, "moodle": _read_moodle, "gradescope": _read_gradescope,
           "nbgrader": _read_nbgrader, "folders": _read_folders}


# ------------------------------------------------------------------ staging a submission


def _stage(upload: _Upload, target: Path, modules: tuple[str, ...], layout: str) -> Submission:
    """Copy a student's entries into ``target`` and put the expected modules where they are graded."""
    intake = {"layout": layout, "ids": upload.ids, "matched": {}, "ignored": upload.ignored, "notes": upload.notes}
    sub = Submission(upload.student, None, upload.problem, source=upload.source, name=upload.name, intake=intake)
    if upload.problem:
        return sub
    try:
        _copy_parts(upload.parts, target, upload.name or upload.student)
        sub.folder = _place_modules(target, modules, layout, intake)
    except Refused as exc:
        sub.problem = f"{exc}."
        return sub
    if sub.folder is None:  # nothing to grade: said so, never a silent 0
        found = _files(target)
        sub.problem, sub.error = _no_files(modules, found), "no_files"
        intake["ignored"] += _listed(found, intake["notes"])
        intake["notes"].append(sub.problem)
    return sub


def _copy_parts(parts: list[tuple[Path, str]], target: Path, shown: str) -> None:
    """Copy (a folder, a file) or unpack (a .zip, a folder holding only a .zip) each entry into ``target``.

    Raises ``Refused`` with the reason; no half copy is left to be graded.
    """
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    allowance = _Allowance(shown)
    try:
        for path, rel in parts:
            _copy_part(path, target / rel, allowance)
    except Refused:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _copy_part(path: Path, dest: Path, allowance: _Allowance) -> None:
    """Copy or unpack one entry of a download to ``dest``, refusing links and special files."""
    try:
        st = path.lstat()
        _refuse_special(st, path.name)  # the entry itself may be a link (alice -> ../bob)
        if stat.S_ISDIR(st.st_mode):
            upload = _only_zip(path)
            if upload is None:
                dest.mkdir(parents=True, exist_ok=True)
                _copy_entries(path, dest, allowance)
                return
            _refuse_special(upload.lstat(), upload.name)  # a folder holding just the student's upload as a zip
            path = upload
        elif not path.name.lower().endswith(".zip"):
            dest.parent.mkdir(parents=True, exist_ok=True)
            allowance.entry()
            _copy_file(path, dest, path.name, allowance)
            return
    except OSError as exc:
        raise Refused(f"could not read {printable(path.name)}: {exc.strerror}") from None
    try:
        _unzip(path, dest)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Refused(f"could not open {printable(path.name)}: {exc}. Upload a valid .zip of your files") from None


def _only_zip(folder: Path) -> Path | None:
    """The one entry of ``folder`` when it is a .zip, else None."""
    with os.scandir(folder) as it:
        first = list(itertools.islice(it, 2))  # not the whole listing of a huge folder
    if len(first) == 1 and first[0].name.lower().endswith(".zip"):
        return Path(first[0].path)
    return None


# ------------------------------------------------------------------ finding the modules


def _files(folder: Path) -> list[str]:
    """Every file in a student's copy, as a path relative to it ("hw/backprop.py"), hidden ones left out."""
    found = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED)
        rel = Path(top).relative_to(folder)
        found += [(rel / f).as_posix() for f in sorted(files) if not f.startswith(".")]
    return found


def _name_match(name: str, module: str, layout: str) -> tuple[int, str] | None:
    """How a file name matches ``<module>.py``: (0, "") exactly, (1, why) but for case, (2, why) with what
    an LMS or a browser added; None when it does not."""
    if name == f"{module}.py":
        return 0, ""
    match = re.fullmatch(re.escape(module) + SUFFIXES + r"\.py", name, re.IGNORECASE)
    if match and not match["suffix"]:
        return 1, "the name differs only in case"
    if match:
        suffix = match["suffix"]
        if "(" in suffix:
            return 2, "a browser adds (1) to a file downloaded twice"
        if "-" in suffix:
            return 2, ("Canvas renames a resubmitted file" if layout == "canvas"
                       else "an LMS adds -1 to a file uploaded twice")
        return 2, "the _LATE mark is not part of the name"
    lms = CANVAS.fullmatch(name) or MOODLE.fullmatch(name)  # a download regrouped by hand
    if lms and lms["file"] and _name_match(lms["file"], module, layout):
        return 2, "the LMS adds the student's name and ids to a file's name"
    return None


def _rank(path: str, quality: int, home: str | None) -> tuple:
    """Smaller is better: the closest name, beside the first module, the shallowest, then by name."""
    return quality, home is not None and posixpath.dirname(path) != home, path.count("/"), path


RANK_REASONS = ("its name is the closest", "it lies beside {first}.py", "it is the shallowest", "it comes first by name")


def _place_modules(copy: Path, modules: tuple[str, ...], layout: str, intake: dict) -> Path | None:
    """Find each expected module in the student's copy and put it, under its expected name, beside the first
    module found (the graded folder). Records the choices in ``intake``; None when no module is there."""
    files = _files(copy)
    home, chosen = None, {}
    for module in modules:
        found = [(path, *how) for path in files if (how := _name_match(posixpath.basename(path), module, layout))]
        if found:
            found.sort(key=lambda c: _rank(c[0], c[1], home))
            chosen[module] = found, home  # ranked without a home: the first module found decides it
            home = posixpath.dirname(found[0][0]) if home is None else home
    if home is None:
        return None
    first = next(iter(chosen))
    for module, (found, ranked_by) in chosen.items():
        (path, quality, why), want = found[0], posixpath.join(home, f"{module}.py")
        intake["matched"][f"{module}.py"] = path
        if path != want:
            if posixpath.dirname(path) != home:
                why = ", ".join(filter(None, [why, f"moved beside {first}.py"]))
            try:
                os.replace(copy / path, copy / want)
            except OSError as exc:
                raise Refused(f"could not use {printable(path)} as {module}.py: {exc.strerror}") from None
            intake["notes"].append(f"{printable(path)} taken as {module}.py ({why})")
        if len(found) > 1:
            best, runner_up = _rank(path, quality, ranked_by), _rank(found[1][0], found[1][1], ranked_by)
            reason = RANK_REASONS[next(i for i in range(4) if best[i] != runner_up[i])].format(first=first)
            intake["notes"].append(f"{len(found)} files could be {module}.py: took {printable(path)} ({reason}) "
                                   f"over {', '.join(printable(c[0]) for c in found[1:])}")
    used = set(intake["matched"].values())
    others = {c[0] for found, _ in chosen.values() for c in found[1:]}
    unused = [f for f in files if f not in used and (f in others or not _inside(f, home))]
    intake["ignored"] += _listed(unused, intake["notes"])
    return copy / home


def _inside(path: str, folder: str) -> bool:
    return not folder or path.startswith(folder + "/")


def _listed(paths: list[str], notes: list[str]) -> list[str]:
    """The first MAX_LISTED paths; a note counts the others."""
    if len(paths) > MAX_LISTED:
        notes.append(f"{len(paths) - MAX_LISTED} more files not used are not listed")
    return paths[:MAX_LISTED]


def _and(words: list[str]) -> str:
    """"a.py", "a.py and b.py", "a.py, b.py and c.py"."""
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def _no_files(modules: tuple[str, ...], found: list[str]) -> str:
    """What a student who submitted none of the expected modules reads: what was found, what was expected."""
    expected = _and([f"{m}.py" for m in modules])
    if not found:
        return f"the submission is empty: expected {expected}. Submit those files."
    shown = ", ".join(printable(f) for f in found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
    hint = " (the notebook is not graded: the .py files are)" if any(f.endswith(".ipynb") for f in found) else ""
    return (f"none of the expected files is in the submission: expected {expected}, found {shown}. "
            f"Submit {expected}{hint}.")


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


def _copy_entries(source: Path, target: Path, allowance: _Allowance) -> None:
    """Copy a folder's content without following links: bounded like a zip (MAX_FILES entries,
    MAX_UNZIPPED_BYTES) and in time (SCAN_SECONDS), so a folder with a million files is refused early."""
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
                    _copy_file(Path(entry.path), target / rel, shown, allowance)
    except OSError as exc:
        raise Refused(f"could not read {printable(shown)}: {exc.strerror}") from None


def _copy_file(source: Path, target: Path, shown: str, allowance: _Allowance) -> None:
    """Copy one plain file, within what the allowance leaves."""
    with _open_plain(source, shown) as src, open(target, "xb") as dst:
        # At most what is left + 1 byte: a file growing meanwhile cannot overflow the limit.
        dst.write(allowance.data(src.read(allowance.bytes_left + 1)))


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


def extract(archive: Path, target: Path, scale: int = 1) -> None:
    """Extract a zip into a fresh ``target``, refusing absolute paths, ``..``, links and zip bombs.

    ``scale``: a zip of many submissions (a whole class's) may hold that many times the limits.
    """
    if target.exists():
        shutil.rmtree(target)
    _unzip(archive, target, scale)


def member_name(info: zipfile.ZipInfo) -> str:
    """A zip member's name as its maker meant it.

    A name without the UTF-8 flag (general purpose bit 11) is read by Python as cp437, but Info-ZIP, macOS's
    Archive Utility and rubyzip store UTF-8 bytes without setting the flag: ``Chloé`` would read ``Chlo├⌐``.
    Such a name is taken as UTF-8 when its bytes decode as UTF-8 (as most unzip tools do), else as cp437.
    """
    name = info.filename
    if info.flag_bits & UTF8_FLAG or name.isascii():
        return name
    try:
        return name.encode("cp437").decode("utf-8")
    except UnicodeError:
        return name


def _infos(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """A zip's members, their names read by ``member_name`` (``orig_filename``, which ``ZipFile.open``
    checks against the local header, is kept)."""
    infos = zf.infolist()
    for info in infos:
        info.filename = member_name(info)
    return infos


def _unzip(archive: Path, target: Path, scale: int = 1) -> None:
    """Extract a zip into ``target`` (made if missing); every check runs before any file is written."""
    max_files, max_bytes = MAX_FILES * scale, MAX_UNZIPPED_BYTES * scale
    with _open_plain(archive, archive.name) as fh, zipfile.ZipFile(fh) as zf:
        infos = _infos(zf)
        if len(infos) > max_files:
            raise ValueError(f"it holds more than {max_files} files")
        total = 0
        for info in infos:
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in Path(name).parts or ":" in name:
                raise ValueError(f"unsafe path {name!r} inside the zip")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ValueError(f"{name!r} is a symbolic link; zip the files themselves")
            total += info.file_size
            if total > max_bytes:
                raise ValueError(f"it unpacks to more than {max_bytes // 2**20} MiB")
        target.mkdir(parents=True, exist_ok=True)
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
