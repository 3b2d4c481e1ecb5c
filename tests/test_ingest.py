"""Tests of autograder.ingest: a SUBMISSIONS_DIR of folders and zips -> clean per-student folders."""
from __future__ import annotations

import hashlib
import os
import stat
import time
import zipfile
from pathlib import Path

import pytest

from autograder import ingest
from autograder.ingest import Submission, discover, file_name, printable

MODULES = ("backprop", "backprop_torch")
CODE = b"def sigmoid_forward(x):\n    return x\n"


def make_zip(path: Path, entries: dict) -> Path:
    """entries: name -> bytes, or name -> (ZipInfo tweak, bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            if isinstance(data, tuple):
                attr, data = data
                info = zipfile.ZipInfo(name)
                info.external_attr = attr
                zf.writestr(info, data)
            else:
                zf.writestr(name, data)
    return path


def write(path: Path, data: bytes = CODE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def subs(tmp_path):
    d = tmp_path / "subs"
    d.mkdir()
    return d


@pytest.fixture
def staging(tmp_path):
    return tmp_path / "out" / ".staging"


def by_id(found: list[Submission]) -> dict[str, Submission]:
    return {s.student: s for s in found}


# --------------------------------------------------------------------- folders


def test_module_one_level_down_is_found(subs, staging):
    write(subs / "alice" / "backprop" / "backprop.py")
    write(subs / "alice" / "README.txt", b"hi")
    [sub] = discover(subs, staging, MODULES)
    assert sub.folder == staging / "alice" / "backprop"
    assert sub.problem is None


def test_module_two_levels_down_is_found_but_macosx_is_not(subs, staging):
    write(subs / "alice" / "__MACOSX" / "x" / "backprop.py", b"junk")
    write(subs / "alice" / "hw" / "code" / "backprop.py")
    [sub] = discover(subs, staging, MODULES)
    assert sub.folder == staging / "alice" / "hw" / "code"


def test_folder_without_any_module_is_not_graded_but_said_so(subs, staging):
    # Issue 15: graded as is, these scored a silent 0, like a stub; now they say what is missing.
    write(subs / "bob" / "notes.txt", b"I did not finish")
    (subs / "carl").mkdir()
    bob, carl = discover(subs, staging, MODULES)
    assert (bob.student, bob.folder, bob.error) == ("bob", None, "no_files")
    assert bob.problem == ("none of the expected files is in the submission: expected backprop.py and "
                           "backprop_torch.py, found notes.txt. Submit backprop.py and backprop_torch.py.")
    assert (carl.student, carl.folder, carl.error) == ("carl", None, "no_files")
    assert carl.problem == "the submission is empty: expected backprop.py and backprop_torch.py. Submit those files."


def test_hidden_entries_and_stray_files_are_ignored(subs, staging):
    write(subs / ".DS_Store", b"\0\0")
    write(subs / ".git" / "config", b"[core]")
    make_zip(subs / ".hidden.zip", {"backprop.py": CODE})
    write(subs / "notes.txt", b"not a submission")
    write(subs / "alice" / "backprop.py")
    found = discover(subs, staging, MODULES)
    assert [s.student for s in found] == ["alice"]


def test_results_are_sorted_by_student_id(subs, staging):
    for name in ["zoe", "bob", "alice", "mallory"]:
        write(subs / name / "backprop.py")
    make_zip(subs / "carol.zip", {"backprop.py": CODE})
    make_zip(subs / "dave.zip", {"backprop.py": CODE})
    found = discover(subs, staging, MODULES)
    assert [s.student for s in found] == ["alice", "bob", "carol", "dave", "mallory", "zoe"]


def test_sorted_by_student_id_even_when_zip_suffix_changes_the_order(subs, staging):
    make_zip(subs / "anna.zip", {"backprop.py": CODE})
    write(subs / "anna-maria" / "backprop.py")
    found = discover(subs, staging, MODULES)
    assert [s.student for s in found] == ["anna", "anna-maria"]


def test_student_ids_are_unique(subs, staging):
    write(subs / "alice" / "backprop.py")
    make_zip(subs / "alice.zip", {"backprop.py": b"# another upload\n"})
    found = discover(subs, staging, MODULES)
    ids = [s.student for s in found]
    assert len(ids) == len(set(ids)), ids


def test_missing_submissions_dir_is_an_error(tmp_path, staging):
    with pytest.raises(FileNotFoundError, match="not a folder of submissions"):
        discover(tmp_path / "nope", staging, MODULES)


# --------------------------------------------------------------------- zips


def test_valid_zip_is_extracted_into_staging(subs, staging):
    make_zip(subs / "alice.zip", {"backprop.py": CODE, "backprop_torch.py": b"x = 1\n"})
    [sub] = discover(subs, staging, MODULES)
    assert sub == Submission("alice", staging / "alice", None)
    assert (staging / "alice" / "backprop.py").read_bytes() == CODE
    assert (staging / "alice" / "backprop_torch.py").read_bytes() == b"x = 1\n"
    assert tree(subs) == ["alice.zip"]  # the TA's folder is left untouched


def test_uppercase_zip_suffix(subs, staging):
    make_zip(subs / "Bob.ZIP", {"backprop.py": CODE})
    [sub] = discover(subs, staging, MODULES)
    assert sub.student == "Bob" and sub.problem is None
    assert (sub.folder / "backprop.py").read_bytes() == CODE


def test_zip_with_a_top_folder_uses_that_folder(subs, staging):
    make_zip(subs / "alice.zip", {
        "alice_hw2/": b"",
        "alice_hw2/backprop.py": CODE,
        "alice_hw2/backprop_torch.py": b"y = 2\n",
        "__MACOSX/alice_hw2/._backprop.py": b"\0resource fork",
    })
    [sub] = discover(subs, staging, MODULES)
    assert sub.problem is None
    assert sub.folder == staging / "alice" / "alice_hw2"
    assert (sub.folder / "backprop_torch.py").read_bytes() == b"y = 2\n"
    assert not (staging / "alice" / "__MACOSX").exists()


def test_rediscovery_replaces_a_previous_extraction(subs, staging):
    make_zip(subs / "alice.zip", {"backprop.py": CODE})
    discover(subs, staging, MODULES)
    write(staging / "alice" / "stale.py", b"left over")
    [sub] = discover(subs, staging, MODULES)
    assert tree(sub.folder) == ["backprop.py"]


def test_folder_holding_only_a_zip_uses_the_zip_content(subs, staging):
    make_zip(subs / "alice" / "submission.zip", {"hw/backprop.py": CODE})
    [sub] = discover(subs, staging, MODULES)
    assert sub.student == "alice" and sub.problem is None
    assert (sub.folder / "backprop.py").read_bytes() == CODE
    assert sub.folder == staging / "alice" / "hw"
    assert tree(subs) == ["alice", "alice/submission.zip"]  # extracted outside the TA's folder


def test_folder_with_a_zip_and_other_files_is_taken_as_a_folder(subs, staging):
    make_zip(subs / "alice" / "old.zip", {"backprop.py": b"old"})
    write(subs / "alice" / "backprop.py")
    [sub] = discover(subs, staging, MODULES)
    assert sub.folder == staging / "alice"
    assert tree(sub.folder) == ["backprop.py", "old.zip"]


def test_broken_zip_becomes_a_problem_naming_the_file(subs, staging):
    write(subs / "dave.zip", os.urandom(300))
    write(subs / "alice" / "backprop.py")
    found = discover(subs, staging, MODULES)
    assert [s.student for s in found] == ["alice", "dave"]
    dave = found[1]
    assert dave.folder is None
    assert "dave.zip" in dave.problem
    assert "valid .zip" in dave.problem


def test_broken_zip_inside_a_student_folder(subs, staging):
    write(subs / "erin" / "upload.zip", b"PK\x03\x04 truncated")
    [sub] = discover(subs, staging, MODULES)
    assert sub.folder is None
    assert "upload.zip" in sub.problem and "valid .zip" in sub.problem


@pytest.mark.parametrize(
    "name",
    ["../evil.py", "a/../../evil.py", "/etc/evil.py", "\\evil.py", "C:/Windows/evil.py", "hw/../../../x.py"],
)
def test_unsafe_paths_are_refused_and_nothing_escapes(subs, staging, tmp_path, name):
    make_zip(subs / "mallory.zip", {"backprop.py": CODE, name: b"pwned"})
    [sub] = discover(subs, staging, MODULES)
    assert sub.folder is None
    assert "mallory.zip" in sub.problem
    assert "unsafe path" in sub.problem
    assert repr(name) in sub.problem
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "out" / "evil.py").exists()
    assert not list(tmp_path.rglob("evil.py"))


def test_absolute_path_entry_is_kept_verbatim_in_the_zip():
    # zipfile keeps the leading slash when writing, so the test above really sends one.
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("/etc/evil.py", b"x")
    with zipfile.ZipFile(buf) as zf:
        assert zf.namelist() == ["/etc/evil.py"]


def test_symlink_entry_is_refused(subs, staging, tmp_path):
    make_zip(subs / "mallory.zip", {
        "backprop.py": CODE,
        "secret.py": ((0o120777 << 16), b"/etc/passwd"),
    })
    [sub] = discover(subs, staging, MODULES)
    assert sub.folder is None
    assert "'secret.py' is a symbolic link" in sub.problem
    assert "mallory.zip" in sub.problem
    assert not list(tmp_path.rglob("secret.py"))


def test_regular_file_mode_bits_are_fine(subs, staging):
    make_zip(subs / "alice.zip", {"backprop.py": ((stat.S_IFREG | 0o644) << 16, CODE)})
    [sub] = discover(subs, staging, MODULES)
    assert sub.problem is None and (sub.folder / "backprop.py").read_bytes() == CODE


def test_zip_over_the_size_limit_is_refused(subs, staging, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_UNZIPPED_BYTES", 1000)
    make_zip(subs / "bomb.zip", {"backprop.py": CODE, "big.bin": b"\0" * 600, "big2.bin": b"\0" * 600})
    make_zip(subs / "small.zip", {"backprop.py": CODE, "big.bin": b"\0" * 600})
    found = by_id(discover(subs, staging, MODULES))
    assert found["bomb"].folder is None
    assert "bomb.zip" in found["bomb"].problem and "unpacks to more than" in found["bomb"].problem
    assert not (staging / "bomb" / "big.bin").exists()
    assert found["small"].problem is None
    assert (found["small"].folder / "big.bin").stat().st_size == 600


def test_zip_with_too_many_files_is_refused(subs, staging, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_FILES", 3)
    make_zip(subs / "many.zip", {f"f{i}.py": b"" for i in range(4)})
    make_zip(subs / "ok.zip", {"backprop.py": CODE, "f0.py": b"", "f1.py": b""})  # 3 files: within the limit
    found = by_id(discover(subs, staging, MODULES))
    assert "more than 3 files" in found["many"].problem
    assert found["ok"].problem is None


def test_one_bad_zip_does_not_stop_the_batch(subs, staging):
    make_zip(subs / "a.zip", {"backprop.py": CODE})
    write(subs / "b.zip", b"garbage")
    make_zip(subs / "c.zip", {"../x.py": b""})
    make_zip(subs / "d.zip", {"backprop.py": CODE})
    found = discover(subs, staging, MODULES)
    assert [(s.student, s.problem is None) for s in found] == [("a", True), ("b", False), ("c", False), ("d", True)]


def test_extract_refuses_without_writing_anything(tmp_path):
    archive = make_zip(tmp_path / "x.zip", {"ok.py": b"1", "../bad.py": b"2"})
    target = tmp_path / "target"
    with pytest.raises(ValueError, match="unsafe path '../bad.py'"):
        ingest.extract(archive, target)
    assert tree(target) == []  # the check runs before any file is written


# --------------------------------------------------------------------- links and special files
# A submission folder is copied into staging without following links; what the copy cannot hold
# as a plain file or folder is refused with a message, and the batch goes on.

LINK_ADVICE = "upload the files themselves."


def course_solution(tmp_path: Path) -> Path:
    """A stand-in for <course>/solutions/backprop: full marks if a student could point at it."""
    return write(tmp_path / "course" / "solutions" / "backprop" / "backprop.py", b"# the reference\n").parent


def test_plain_folder_is_copied_into_staging(subs, staging):
    write(subs / "alice" / "backprop.py")
    write(subs / "alice" / "data" / "weights.npy", b"\x93NUMPY")
    [sub] = discover(subs, staging, MODULES)
    assert sub == Submission("alice", staging / "alice", None)
    assert tree(sub.folder) == ["backprop.py", "data", "data/weights.npy"]
    assert (sub.folder / "backprop.py").read_bytes() == CODE
    assert tree(subs) == ["alice", "alice/backprop.py", "alice/data", "alice/data/weights.npy"]  # untouched


def test_a_folder_linked_to_the_solutions_is_refused(subs, staging, tmp_path):
    (subs / "mallory").mkdir()
    (subs / "mallory" / "hw").symlink_to(course_solution(tmp_path), target_is_directory=True)
    write(subs / "zoe" / "backprop.py")
    found = by_id(discover(subs, staging, MODULES))
    assert found["mallory"] == Submission("mallory", None, f"hw is a symbolic link; {LINK_ADVICE}")
    assert found["zoe"] == Submission("zoe", staging / "zoe", None)  # the batch goes on
    assert not list(staging.rglob("backprop.py"))[1:]  # only zoe's file reached staging


def test_a_folder_linked_to_a_classmate_is_refused(subs, staging):
    write(subs / "alice" / "backprop.py", b"# alice's work\n")
    (subs / "bob").mkdir()
    (subs / "bob" / "hw").symlink_to("../alice")
    found = by_id(discover(subs, staging, MODULES))
    assert found["bob"].folder is None
    assert found["bob"].problem == f"hw is a symbolic link; {LINK_ADVICE}"
    assert not (staging / "bob").exists()


def test_a_linked_file_is_refused(subs, staging, tmp_path):
    (subs / "mallory" / "hw").mkdir(parents=True)
    (subs / "mallory" / "hw" / "backprop.py").symlink_to(course_solution(tmp_path) / "backprop.py")
    [sub] = discover(subs, staging, MODULES)
    assert sub == Submission("mallory", None, f"hw/backprop.py is a symbolic link; {LINK_ADVICE}")


def test_a_student_entry_that_is_a_link_is_refused(subs, staging, tmp_path):
    write(subs / "bob" / "backprop.py")
    (subs / "alice").symlink_to("bob")
    (subs / "carol").symlink_to(course_solution(tmp_path))
    make_zip(tmp_path / "elsewhere.zip", {"backprop.py": CODE})
    (subs / "dave.zip").symlink_to(tmp_path / "elsewhere.zip")
    (subs / "notes.txt").symlink_to(tmp_path / "elsewhere.zip")  # a stray file, link or not: ignored
    found = discover(subs, staging, MODULES)
    assert found == [
        Submission("alice", None, f"alice is a symbolic link; {LINK_ADVICE}"),
        Submission("bob", staging / "bob", None),
        Submission("carol", None, f"carol is a symbolic link; {LINK_ADVICE}"),
        Submission("dave", None, f"dave.zip is a symbolic link; {LINK_ADVICE}"),
    ]


def test_a_zip_in_a_folder_that_is_a_link_is_refused(subs, staging, tmp_path):
    make_zip(tmp_path / "bob-upload.zip", {"backprop.py": CODE})
    (subs / "mallory").mkdir()
    (subs / "mallory" / "upload.zip").symlink_to(tmp_path / "bob-upload.zip")
    [sub] = discover(subs, staging, MODULES)
    assert sub == Submission("mallory", None, f"upload.zip is a symbolic link; {LINK_ADVICE}")


def test_hard_links_are_refused(subs, staging, tmp_path):
    solution = course_solution(tmp_path) / "backprop.py"
    (subs / "mallory").mkdir()
    os.link(solution, subs / "mallory" / "backprop.py")
    make_zip(tmp_path / "x.zip", {"backprop.py": CODE})
    os.link(tmp_path / "x.zip", subs / "eve.zip")
    found = by_id(discover(subs, staging, MODULES))
    assert found["mallory"].problem == f"backprop.py is a hard link to a file stored elsewhere too; {LINK_ADVICE}"
    assert found["eve"].problem == f"eve.zip is a hard link to a file stored elsewhere too; {LINK_ADVICE}"
    assert found["mallory"].folder is found["eve"].folder is None


def test_named_pipes_and_sockets_are_refused(subs, staging, monkeypatch):
    import socket

    write(subs / "alice" / "backprop.py")
    os.mkfifo(subs / "alice" / "pipe")
    write(subs / "bob" / "backprop.py")
    monkeypatch.chdir(subs / "bob")  # a relative name: socket paths are limited to ~100 bytes
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("sock")
    monkeypatch.undo()
    found = by_id(discover(subs, staging, MODULES))  # returns: a pipe is never opened for reading
    assert found["alice"].problem == f"pipe is a named pipe; {LINK_ADVICE}"
    assert found["bob"].problem == f"sock is a socket; {LINK_ADVICE}"


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_device_files_are_refused(subs, staging):
    write(subs / "alice" / "backprop.py")
    os.mknod(subs / "alice" / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    [sub] = discover(subs, staging, MODULES)
    assert sub == Submission("alice", None, f"null is a device file; {LINK_ADVICE}")


def test_links_inside_skipped_folders_do_not_matter(subs, staging, tmp_path):
    write(subs / "alice" / "backprop.py")
    (subs / "alice" / ".git").mkdir()
    (subs / "alice" / ".git" / "HEAD").symlink_to(course_solution(tmp_path))
    write(subs / "alice" / "__pycache__" / "backprop.cpython-311.pyc", b"\0")
    write(subs / "alice" / ".ipynb_checkpoints" / "x.ipynb", b"{}")
    write(subs / "alice" / "__MACOSX" / "._backprop.py", b"\0")
    [sub] = discover(subs, staging, MODULES)
    assert sub.problem is None
    assert tree(sub.folder) == ["backprop.py"]


def test_the_graded_folder_lies_inside_the_students_copy(subs, staging):
    write(subs / "alice" / "hw" / "code" / "backprop.py")
    [sub] = discover(subs, staging, MODULES)
    assert sub.folder == staging / "alice" / "hw" / "code"
    assert sub.folder.resolve().is_relative_to((staging / "alice").resolve())


def test_a_folder_over_the_file_limit_is_refused_quickly(subs, staging, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_FILES", 2000)
    write(subs / "alice" / "backprop.py")
    many = subs / "alice" / "many"
    many.mkdir()
    for i in range(20_000):
        (many / f"{i}").touch()
    start = time.monotonic()
    [sub] = discover(subs, staging, MODULES)
    assert time.monotonic() - start < 2.0  # stops at the limit, does not read the 20000
    assert sub == Submission("alice", None, "alice holds more than 2000 files; remove data files and outputs.")


def test_thousands_of_data_files_are_within_the_limit(subs, staging):
    write(subs / "alice" / "backprop.py")
    for i in range(5000):
        write(subs / "alice" / "data" / f"{i}.txt", b"1")
    [sub] = discover(subs, staging, MODULES)
    assert sub.problem is None and len(list((sub.folder / "data").iterdir())) == 5000


def test_a_folder_over_the_size_limit_is_refused(subs, staging, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_UNZIPPED_BYTES", 1000)
    write(subs / "alice" / "backprop.py")
    write(subs / "alice" / "a.bin", b"\0" * 600)
    write(subs / "alice" / "b.bin", b"\0" * 600)
    write(subs / "bob" / "backprop.py")
    write(subs / "bob" / "a.bin", b"\0" * (1000 - len(CODE)))  # exactly the limit, with the module
    found = by_id(discover(subs, staging, MODULES))
    assert found["alice"] == Submission("alice", None, "alice holds more than 1000 bytes; remove data files and outputs.")
    assert found["bob"].problem is None


def test_a_folder_that_takes_too_long_to_read_is_refused(subs, staging, monkeypatch):
    monkeypatch.setattr(ingest, "SCAN_SECONDS", 0.0)
    write(subs / "alice" / "backprop.py")
    [sub] = discover(subs, staging, MODULES)
    assert sub == Submission("alice", None, "alice took more than 0 s to read; remove data files and outputs.")


def test_an_unreadable_file_is_a_problem_not_a_crash(subs, staging, monkeypatch):
    write(subs / "alice" / "backprop.py")
    real_open = os.open

    def failing_open(path, flags, *args, **kwargs):
        if str(path).endswith("backprop.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(ingest.os, "open", failing_open)
    [sub] = discover(subs, staging, MODULES)
    assert sub == Submission("alice", None, "could not read backprop.py: Permission denied.")


# --------------------------------------------------------------------- student ids as file names


def test_plain_ids_are_their_own_file_names():
    for student in ["alice", "s1234567", "John Smith_12345_assignsubmission_file_", "王小明", "o'brien, pat",
                    "-pthis", "@ids", "=HYPERLINK(x)"]:
        assert file_name(student) == student


def test_ids_with_controls_or_separators_get_a_hash():
    digest = hashlib.sha256("a\x1bb\n".encode()).hexdigest()[:12]
    assert file_name("a\x1bb\n") == f"a_b_~{digest}"
    assert file_name("a/b\\c") == "a_b_c~" + hashlib.sha256(b"a/b\\c").hexdigest()[:12]
    assert file_name("\u202eevil") == "_evil~" + hashlib.sha256("\u202eevil".encode()).hexdigest()[:12]


def test_long_ids_are_cut_to_a_short_name():
    long_a, long_b = "x" * 250 + "a", "x" * 250 + "b"
    names = [file_name(long_a), file_name(long_b)]
    assert names[0] != names[1]
    for name in names:
        assert len(name.encode()) <= 120 and name.startswith("x" * 90) and "~" in name
    cjk = file_name("王" * 100)  # 300 bytes in UTF-8
    assert len(cjk.encode()) <= 120 and cjk.startswith("王" * 30)


def test_two_ids_never_share_a_file_name():
    ids = ["a b", "a_b", "a\nb", "a\tb", "a~b", "a/b", "a\\b", "x" * 251, "x" * 252, "x" * 100, ".a", "_a",
           "A", "a"]
    ids.append(file_name("a\nb"))  # an id spelled like another's cleaned name
    names = [file_name(s) for s in ids]
    assert len(set(names)) == len(ids), names
    for name in names:
        assert name.isprintable() and "/" not in name and "\\" not in name and not name.startswith(".")


def test_staging_folder_is_named_by_the_file_name(subs, staging):
    student = "x" * 251
    make_zip(subs / f"{student}.zip", {"backprop.py": CODE})
    write(subs / "a\x1bb" / "backprop.py")
    found = by_id(discover(subs, staging, MODULES))
    assert found[student].folder == staging / file_name(student)
    assert found["a\x1bb"].folder == staging / file_name("a\x1bb")
    assert sorted(p.name for p in staging.iterdir()) == sorted([file_name(student), file_name("a\x1bb")])


def test_names_in_messages_are_escaped(subs, staging):
    (subs / "mallory").mkdir()
    (subs / "mallory" / "\x1b[2Jhw\n").symlink_to("..")
    [sub] = discover(subs, staging, MODULES)
    assert sub.problem == f"\\x1b[2Jhw\\n is a symbolic link; {LINK_ADVICE}"


def test_printable_escapes_controls_only():
    assert printable("alice") == "alice"
    assert printable("王小明 o'brien") == "王小明 o'brien"
    assert printable("a\x1b[31mb\nc\td\x7f\x85\u202e\udc80") == "a\\x1b[31mb\\nc\\td\\x7f\\x85\\u202e\\udc80"
