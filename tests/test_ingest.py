"""Tests of autograder.ingest: a SUBMISSIONS_DIR of folders and zips -> clean per-student folders."""
from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from autograder import ingest
from autograder.ingest import Submission, discover

PRIMARY = "backprop"
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


def test_plain_folder_is_used_as_is(subs, staging):
    write(subs / "alice" / "backprop.py")
    write(subs / "alice" / "backprop_torch.py")
    [sub] = discover(subs, staging, PRIMARY)
    assert sub == Submission("alice", subs / "alice", None)
    assert not staging.exists()  # nothing to extract, nothing copied


def test_module_one_level_down_is_found(subs, staging):
    write(subs / "alice" / "backprop" / "backprop.py")
    write(subs / "alice" / "README.txt", b"hi")
    [sub] = discover(subs, staging, PRIMARY)
    assert sub.folder == subs / "alice" / "backprop"
    assert sub.problem is None


def test_module_two_levels_down_is_found_but_macosx_is_not(subs, staging):
    write(subs / "alice" / "__MACOSX" / "x" / "backprop.py", b"junk")
    write(subs / "alice" / "hw" / "code" / "backprop.py")
    [sub] = discover(subs, staging, PRIMARY)
    assert sub.folder == subs / "alice" / "hw" / "code"


def test_folder_without_the_module_is_graded_as_is(subs, staging):
    write(subs / "bob" / "notes.txt", b"I did not finish")
    (subs / "carl").mkdir()
    found = discover(subs, staging, PRIMARY)
    assert found == [Submission("bob", subs / "bob", None), Submission("carl", subs / "carl", None)]


def test_hidden_entries_and_stray_files_are_ignored(subs, staging):
    write(subs / ".DS_Store", b"\0\0")
    write(subs / ".git" / "config", b"[core]")
    make_zip(subs / ".hidden.zip", {"backprop.py": CODE})
    write(subs / "notes.txt", b"not a submission")
    write(subs / "alice" / "backprop.py")
    found = discover(subs, staging, PRIMARY)
    assert [s.student for s in found] == ["alice"]


def test_results_are_sorted_by_student_id(subs, staging):
    for name in ["zoe", "bob", "alice", "mallory"]:
        write(subs / name / "backprop.py")
    make_zip(subs / "carol.zip", {"backprop.py": CODE})
    make_zip(subs / "dave.zip", {"backprop.py": CODE})
    found = discover(subs, staging, PRIMARY)
    assert [s.student for s in found] == ["alice", "bob", "carol", "dave", "mallory", "zoe"]


def test_sorted_by_student_id_even_when_zip_suffix_changes_the_order(subs, staging):
    make_zip(subs / "anna.zip", {"backprop.py": CODE})
    write(subs / "anna-maria" / "backprop.py")
    found = discover(subs, staging, PRIMARY)
    assert [s.student for s in found] == ["anna", "anna-maria"]


def test_student_ids_are_unique(subs, staging):
    write(subs / "alice" / "backprop.py")
    make_zip(subs / "alice.zip", {"backprop.py": b"# another upload\n"})
    found = discover(subs, staging, PRIMARY)
    ids = [s.student for s in found]
    assert len(ids) == len(set(ids)), ids


def test_missing_submissions_dir_is_an_error(tmp_path, staging):
    with pytest.raises(FileNotFoundError, match="not a folder of submissions"):
        discover(tmp_path / "nope", staging, PRIMARY)


# --------------------------------------------------------------------- zips


def test_valid_zip_is_extracted_into_staging(subs, staging):
    make_zip(subs / "alice.zip", {"backprop.py": CODE, "backprop_torch.py": b"x = 1\n"})
    [sub] = discover(subs, staging, PRIMARY)
    assert sub == Submission("alice", staging / "alice", None)
    assert (staging / "alice" / "backprop.py").read_bytes() == CODE
    assert (staging / "alice" / "backprop_torch.py").read_bytes() == b"x = 1\n"
    assert tree(subs) == ["alice.zip"]  # the TA's folder is left untouched


def test_uppercase_zip_suffix(subs, staging):
    make_zip(subs / "Bob.ZIP", {"backprop.py": CODE})
    [sub] = discover(subs, staging, PRIMARY)
    assert sub.student == "Bob" and sub.problem is None
    assert (sub.folder / "backprop.py").read_bytes() == CODE


def test_zip_with_a_top_folder_uses_that_folder(subs, staging):
    make_zip(subs / "alice.zip", {
        "alice_hw2/": b"",
        "alice_hw2/backprop.py": CODE,
        "alice_hw2/backprop_torch.py": b"y = 2\n",
        "__MACOSX/alice_hw2/._backprop.py": b"\0resource fork",
    })
    [sub] = discover(subs, staging, PRIMARY)
    assert sub.problem is None
    assert sub.folder == staging / "alice" / "alice_hw2"
    assert (sub.folder / "backprop_torch.py").read_bytes() == b"y = 2\n"
    assert not (staging / "alice" / "__MACOSX").exists()


def test_rediscovery_replaces_a_previous_extraction(subs, staging):
    make_zip(subs / "alice.zip", {"backprop.py": CODE})
    discover(subs, staging, PRIMARY)
    write(staging / "alice" / "stale.py", b"left over")
    [sub] = discover(subs, staging, PRIMARY)
    assert tree(sub.folder) == ["backprop.py"]


def test_folder_holding_only_a_zip_uses_the_zip_content(subs, staging):
    make_zip(subs / "alice" / "submission.zip", {"hw/backprop.py": CODE})
    [sub] = discover(subs, staging, PRIMARY)
    assert sub.student == "alice" and sub.problem is None
    assert (sub.folder / "backprop.py").read_bytes() == CODE
    assert sub.folder == staging / "alice" / "hw"
    assert tree(subs) == ["alice", "alice/submission.zip"]  # extracted outside the TA's folder


def test_folder_with_a_zip_and_other_files_is_taken_as_a_folder(subs, staging):
    make_zip(subs / "alice" / "old.zip", {"backprop.py": b"old"})
    write(subs / "alice" / "backprop.py")
    [sub] = discover(subs, staging, PRIMARY)
    assert sub.folder == subs / "alice"
    assert not staging.exists()


def test_broken_zip_becomes_a_problem_naming_the_file(subs, staging):
    write(subs / "dave.zip", os.urandom(300))
    write(subs / "alice" / "backprop.py")
    found = discover(subs, staging, PRIMARY)
    assert [s.student for s in found] == ["alice", "dave"]
    dave = found[1]
    assert dave.folder is None
    assert "dave.zip" in dave.problem
    assert "valid .zip" in dave.problem


def test_broken_zip_inside_a_student_folder(subs, staging):
    write(subs / "erin" / "upload.zip", b"PK\x03\x04 truncated")
    [sub] = discover(subs, staging, PRIMARY)
    assert sub.folder is None
    assert "upload.zip" in sub.problem and "valid .zip" in sub.problem


@pytest.mark.parametrize(
    "name",
    ["../evil.py", "a/../../evil.py", "/etc/evil.py", "\\evil.py", "C:/Windows/evil.py", "hw/../../../x.py"],
)
def test_unsafe_paths_are_refused_and_nothing_escapes(subs, staging, tmp_path, name):
    make_zip(subs / "mallory.zip", {"backprop.py": CODE, name: b"pwned"})
    [sub] = discover(subs, staging, PRIMARY)
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
    [sub] = discover(subs, staging, PRIMARY)
    assert sub.folder is None
    assert "'secret.py' is a symbolic link" in sub.problem
    assert "mallory.zip" in sub.problem
    assert not list(tmp_path.rglob("secret.py"))


def test_regular_file_mode_bits_are_fine(subs, staging):
    make_zip(subs / "alice.zip", {"backprop.py": ((stat.S_IFREG | 0o644) << 16, CODE)})
    [sub] = discover(subs, staging, PRIMARY)
    assert sub.problem is None and (sub.folder / "backprop.py").read_bytes() == CODE


def test_zip_over_the_size_limit_is_refused(subs, staging, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_UNZIPPED_BYTES", 1000)
    make_zip(subs / "bomb.zip", {"backprop.py": CODE, "big.bin": b"\0" * 600, "big2.bin": b"\0" * 600})
    make_zip(subs / "small.zip", {"backprop.py": CODE, "big.bin": b"\0" * 600})
    found = by_id(discover(subs, staging, PRIMARY))
    assert found["bomb"].folder is None
    assert "bomb.zip" in found["bomb"].problem and "unpacks to more than" in found["bomb"].problem
    assert not (staging / "bomb" / "big.bin").exists()
    assert found["small"].problem is None
    assert (found["small"].folder / "big.bin").stat().st_size == 600


def test_zip_with_too_many_files_is_refused(subs, staging, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_FILES", 3)
    make_zip(subs / "many.zip", {f"f{i}.py": b"" for i in range(4)})
    make_zip(subs / "ok.zip", {f"f{i}.py": b"" for i in range(3)})
    found = by_id(discover(subs, staging, PRIMARY))
    assert "more than 3 files" in found["many"].problem
    assert found["ok"].problem is None


def test_one_bad_zip_does_not_stop_the_batch(subs, staging):
    make_zip(subs / "a.zip", {"backprop.py": CODE})
    write(subs / "b.zip", b"garbage")
    make_zip(subs / "c.zip", {"../x.py": b""})
    make_zip(subs / "d.zip", {"backprop.py": CODE})
    found = discover(subs, staging, PRIMARY)
    assert [(s.student, s.problem is None) for s in found] == [("a", True), ("b", False), ("c", False), ("d", True)]


def test_extract_refuses_without_writing_anything(tmp_path):
    archive = make_zip(tmp_path / "x.zip", {"ok.py": b"1", "../bad.py": b"2"})
    target = tmp_path / "target"
    with pytest.raises(ValueError, match="unsafe path '../bad.py'"):
        ingest.extract(archive, target)
    assert tree(target) == []  # the check runs before any file is written
