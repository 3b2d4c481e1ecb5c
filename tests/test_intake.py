"""Tests of reading class downloads (issue 15): every platform's layout, without flags, and the accidents.

The downloads are built by tests/downloads.py from the shipped samples; each student's staged
files are compared byte for byte with the sample that student handed in.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import downloads
from downloads import MODULES, roster, sample
from autograder import ingest
from autograder.ingest import IntakeRefused, Submission, discover
from autograder.samples import sample_names, unpack_samples

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def staging(tmp_path):
    return tmp_path / "out" / ".staging"


def by_id(found: list[Submission]) -> dict[str, Submission]:
    return {s.student: s for s in found}


def staged(sub: Submission) -> dict[str, bytes]:
    """The expected modules as staged for grading."""
    return {f"{m}.py": (sub.folder / f"{m}.py").read_bytes() for m in MODULES if (sub.folder / f"{m}.py").is_file()}


def assert_handed_in(sub: Submission, sample_name: str) -> None:
    assert sub.problem is None, sub.problem
    assert staged(sub) == sample(sample_name), f"{sub.student} did not get {sample_name}"


# --------------------------------------------------------------------- Canvas


def test_canvas_download_is_read_by_user_id_with_late_and_resubmitted_files(tmp_path, staging):
    students = roster(24)
    # wrong-db-not-summed, attack-always-equal (backprop.py alone), reference
    late, renamed, resubmitted = students[2], students[4], students[6]
    uploaded = downloads.canvas(tmp_path / "subs", students, late=[late], renamed=[renamed], resubmitted=[resubmitted])
    found = discover(tmp_path / "subs", staging, MODULES)
    assert [s.student for s in found] == sorted(s.canvas_id for s in students)
    subs = by_id(found)
    for s in students:
        sub = subs[s.canvas_id]
        assert_handed_in(sub, s.sample)
        assert sub.name == s.canvas_name
        assert sub.intake["layout"] == "canvas"
        assert sub.intake["ids"] == {"user_id": s.canvas_id, "attachment_id": str(max(uploaded[s.canvas_id].values()))}
        assert sub.source.parent == tmp_path / "subs" and f"_{s.canvas_id}_" in sub.source.name

    assert subs[late.canvas_id].intake["notes"] == ["submitted late (Canvas marked it LATE)"]
    assert subs[students[3].canvas_id].intake["notes"] == []

    sub = subs[renamed.canvas_id]
    assert sub.intake["matched"] == {"backprop.py": "backprop-1.py"}  # this sample has no backprop_torch.py
    assert sub.intake["notes"] == ["backprop-1.py taken as backprop.py (Canvas renames a resubmitted file)"]

    sub = subs[resubmitted.canvas_id]
    first, second = uploaded[resubmitted.canvas_id]["backprop.py"], uploaded[resubmitted.canvas_id]["backprop-1.py"]
    assert staged(sub)["backprop.py"] == sample("reference")["backprop.py"] != sample("stub")["backprop.py"]
    assert sub.intake["matched"] == {"backprop.py": "backprop-1.py", "backprop_torch.py": "backprop_torch.py"}
    assert sub.intake["ignored"] == ["backprop.py"]
    assert sub.intake["notes"] == [
        f"newest of 2 submissions taken: attachment {second} over {first} (backprop-1.py over backprop.py)",
        "backprop-1.py taken as backprop.py (Canvas renames a resubmitted file)",
    ]


def test_canvas_submissions_zip_is_unpacked_not_graded_as_one_student(tmp_path, staging):
    students = roster(20)
    downloads.canvas_zip(tmp_path / "subs", students, late=[students[0]])
    found = discover(tmp_path / "subs", staging, MODULES)
    assert len(found) == 20 and "submissions" not in [s.student for s in found]
    for s, sub in zip(sorted(students, key=lambda s: s.canvas_id), found):
        assert sub.student == s.canvas_id and sub.name == s.canvas_name
        assert_handed_in(sub, s.sample)
        assert sub.source == tmp_path / "subs" / "submissions.zip"  # workers are kept out of the TA's folder
    assert by_id(found)[students[0].canvas_id].intake["notes"] == ["submitted late (Canvas marked it LATE)"]


def test_a_student_zip_in_a_canvas_download_is_unpacked(tmp_path, staging):
    s = roster(1)[0]
    with zipfile.ZipFile(downloads.write(tmp_path / "subs" / f"{s.canvas_name}_{s.canvas_id}_777_hw3.zip"), "w") as zf:
        for name, data in sample(s.sample).items():
            zf.writestr(f"hw3/code/{name}", data)
    downloads.write(tmp_path / "subs" / f"{s.canvas_name}_{s.canvas_id}_778_plot.png", b"\x89PNG")
    [sub] = discover(tmp_path / "subs", staging, MODULES)
    assert_handed_in(sub, s.sample)
    assert sub.intake["matched"] == {"backprop.py": "hw3/hw3/code/backprop.py",
                                     "backprop_torch.py": "hw3/hw3/code/backprop_torch.py"}
    assert sub.intake["ignored"] == ["plot.png"]


# --------------------------------------------------------------------- Moodle


@pytest.mark.parametrize("in_folders", [False, True], ids=["flat", "in-folders"])
def test_moodle_download_is_read_by_participant_id_with_the_name(tmp_path, staging, in_folders):
    students = roster(22)
    downloads.moodle(tmp_path / "subs", students, in_folders=in_folders, online_text=[students[1]])
    found = discover(tmp_path / "subs", staging, MODULES)
    assert [s.student for s in found] == [s.moodle_id for s in students]  # sorted already
    for s, sub in zip(students, found):
        assert_handed_in(sub, s.sample)
        assert (sub.name, sub.intake["layout"], sub.intake["ids"]) == (s.full_name, "moodle",
                                                                        {"participant_id": s.moodle_id})
    assert found[0].name == "Ana Silva" and found[0].student == "100001"
    assert found[1].intake["ignored"] == [] and (found[1].folder / "onlinetext.html").is_file()


def test_moodle_zip_of_the_whole_class_is_unpacked(tmp_path, staging):
    students = roster(21)
    downloads.moodle(tmp_path / "unpacked", students)
    downloads.zip_folder(tmp_path / "unpacked", tmp_path / "subs" / "DL101-Backprop-48213.zip")
    found = discover(tmp_path / "subs", staging, MODULES)
    assert [(s.student, s.name) for s in found] == [(s.moodle_id, s.full_name) for s in students]


def test_a_browser_suffix_in_a_moodle_download_is_tolerated(tmp_path, staging):
    s = roster(1, ["reference"])[0]
    ref = sample("reference")
    base = f"{s.full_name}_{s.moodle_id}_assignsubmission_file_"
    downloads.write(tmp_path / "subs" / f"{base}backprop (1).py", ref["backprop.py"])
    downloads.write(tmp_path / "subs" / f"{base}backprop_torch.py", ref["backprop_torch.py"])
    [sub] = discover(tmp_path / "subs", staging, MODULES)
    assert_handed_in(sub, "reference")
    assert sub.intake["notes"] == [
        "backprop (1).py taken as backprop.py (a browser adds (1) to a file downloaded twice)"]


# --------------------------------------------------------------------- Gradescope


def test_gradescope_export_uses_the_sids_and_names_of_its_metadata(tmp_path, staging):
    students = roster(20)
    pair, loner, again = (students[3], students[4]), students[5], students[6]
    export = tmp_path / "subs"
    newest = downloads.gradescope(export, students, groups=[pair], no_sid=[loner], resubmitted=[again])
    found = by_id(discover(export, staging, MODULES))
    expected_ids = {s.sid for s in students if s is not loner} | {newest[loner.sid]}
    assert set(found) == expected_ids and "submission_31400001" not in found
    for s in students:
        sub = found[newest[s.sid] if s is loner else s.sid]
        assert_handed_in(sub, pair[0].sample if s in pair else s.sample)
        assert sub.name == s.full_name and sub.intake["layout"] == "gradescope"
    assert found[students[0].sid].intake["ids"] == {"submission_id": newest[students[0].sid],
                                                     "sid": students[0].sid, "email": students[0].email}
    assert found[newest[loner.sid]].intake["ids"] == {"submission_id": newest[loner.sid], "email": loner.email}
    # A group's submission is each member's.
    assert found[pair[1].sid].intake["notes"] == [f"group submission, with {pair[0].full_name}"]
    assert found[pair[0].sid].folder != found[pair[1].sid].folder
    # The newest of a student's submissions (by :created_at) is taken, and said so.
    older = int(newest[again.sid]) - 1
    assert found[again.sid].intake["notes"] == [
        f"newest of 2 submissions taken: submission {newest[again.sid]} over {older}"]


def test_gradescope_export_zip_is_unpacked(tmp_path, staging):
    students = roster(20)
    downloads.gradescope(tmp_path / "export", students)
    downloads.zip_folder(tmp_path / "export", tmp_path / "subs" / "submissions.zip", top="assignment_4215_export/")
    found = discover(tmp_path / "subs", staging, MODULES)
    assert [(s.student, s.name) for s in found] == [(s.sid, s.full_name) for s in students]
    for s, sub in zip(students, found):
        assert_handed_in(sub, s.sample)


# --------------------------------------------------------------------- nbgrader


@pytest.mark.parametrize("where", ["course", "submitted"])
def test_nbgrader_submitted_or_its_course_folder(tmp_path, staging, where):
    students = roster(20)
    course = downloads.nbgrader_course(tmp_path / "dl101", students)
    found = discover(course if where == "course" else course / "submitted", staging, MODULES)
    assert [s.student for s in found] == sorted(s.login for s in students)  # not one student "submitted"
    for s in students:
        sub = by_id(found)[s.login]
        assert_handed_in(sub, s.sample)
        assert (sub.name, sub.intake["layout"], sub.intake["ids"]) == (None, "nbgrader", {"student_id": s.login})
        assert sub.intake["matched"]["backprop.py"] == "backprop/backprop.py"
        assert sub.intake["ignored"] == []  # the notebook and timestamp.txt lie beside the modules
        assert sub.source.parent == course  # workers are kept out of the whole course folder


def test_nbgrader_course_folder_without_submissions_is_refused(tmp_path, staging):
    course = downloads.nbgrader_course(tmp_path / "dl101", roster(2))
    os.rename(course / "submitted", tmp_path / "elsewhere")
    with pytest.raises(IntakeRefused) as exc:
        discover(course, staging, MODULES)
    assert str(exc.value) == (f"{course} is an nbgrader course folder without submitted/: collect the submissions "
                              f"first (nbgrader collect), then pass {course} again.")


# --------------------------------------------------------------------- plain folders and zips


def test_plain_folders_and_zips_keep_their_names_as_ids(tmp_path, staging):
    students = roster(20)
    downloads.folders(tmp_path / "subs", students)
    found = discover(tmp_path / "subs", staging, MODULES)
    assert [s.student for s in found] == sorted(s.login for s in students)
    for s in students:
        sub = by_id(found)[s.login]
        assert_handed_in(sub, s.sample)
        assert (sub.name, sub.intake["layout"], sub.intake["ids"], sub.intake["notes"]) == (None, "folders", {}, [])


def test_the_shipped_samples_read_as_plain_folders(tmp_path, staging):
    # validate and samples grade them unpacked: each one stays a student named by its folder.
    unpacked = unpack_samples(downloads.BACKPROP, tmp_path / "samples")
    found = discover(unpacked, staging, MODULES)
    assert [s.student for s in found] == sorted(sample_names(downloads.BACKPROP))
    for sub in found:
        assert sub.intake["layout"] == "folders"
        assert_handed_in(sub, sub.student)


# --------------------------------------------------------------------- accidents


def test_accidents_are_matched_or_said_so_never_a_silent_zero(tmp_path, staging):
    downloads.accidents(tmp_path / "subs")
    found = by_id(discover(tmp_path / "subs", staging, MODULES))
    for student in ("upper", "browser", "deep"):
        assert_handed_in(found[student], "reference")
    assert found["upper"].intake["notes"] == ["Backprop.py taken as backprop.py (the name differs only in case)"]
    assert found["browser"].intake["matched"] == {"backprop.py": "backprop (1).py",
                                                  "backprop_torch.py": "backprop_torch(2).py"}
    assert found["browser"].intake["notes"] == [
        "backprop (1).py taken as backprop.py (a browser adds (1) to a file downloaded twice)",
        "backprop_torch(2).py taken as backprop_torch.py (a browser adds (1) to a file downloaded twice)",
    ]
    deep = found["deep"]
    assert deep.folder == staging / "deep" / "Desktop" / "dl" / "hw3"
    assert deep.intake["matched"] == {"backprop.py": "Desktop/dl/hw3/backprop.py",
                                      "backprop_torch.py": "Desktop/dl/hw3/backprop_torch.py"}
    assert deep.intake["notes"] == [] and deep.intake["ignored"] == []

    expected = "expected backprop.py and backprop_torch.py"
    for student, problem in {
        "notebook": f"none of the expected files is in the submission: {expected}, found backprop.ipynb. "
                    "Submit backprop.py and backprop_torch.py (the notebook is not graded: the .py files are).",
        "text": f"none of the expected files is in the submission: {expected}, found notes.txt. "
                "Submit backprop.py and backprop_torch.py.",
        "empty": f"the submission is empty: {expected}. Submit those files.",
    }.items():
        sub = found[student]
        assert (sub.folder, sub.error, sub.problem) == (None, "no_files", problem)
        assert sub.intake["notes"] == [problem]
    assert found["notebook"].intake["ignored"] == ["backprop.ipynb"]
    assert found["upper"].error == "invalid"  # the default, unused without a problem


def test_of_several_candidates_the_closest_name_then_the_shallowest_wins_and_the_choice_is_noted(tmp_path, staging):
    ref, stub = sample("reference"), sample("stub")
    subs = tmp_path / "subs"
    downloads.write(subs / "ana" / "hw" / "backprop.py", ref["backprop.py"])
    downloads.write(subs / "ana" / "hw" / "old" / "backprop.py", stub["backprop.py"])
    downloads.write(subs / "ana" / "Backprop.py", stub["backprop.py"])
    downloads.write(subs / "ana" / "torch" / "backprop_torch.py", ref["backprop_torch.py"])
    downloads.write(subs / "ana" / "hw" / "backprop_torch (1).py", stub["backprop_torch.py"])
    [sub] = discover(subs, staging, MODULES)
    assert sub.folder == staging / "ana" / "hw"
    assert_handed_in(sub, "reference")
    assert sub.intake["matched"] == {"backprop.py": "hw/backprop.py", "backprop_torch.py": "torch/backprop_torch.py"}
    assert sub.intake["notes"] == [
        "3 files could be backprop.py: took hw/backprop.py (it is the shallowest) over hw/old/backprop.py, "
        "Backprop.py",
        "torch/backprop_torch.py taken as backprop_torch.py (moved beside backprop.py)",
        "2 files could be backprop_torch.py: took torch/backprop_torch.py (its name is the closest) over "
        "hw/backprop_torch (1).py",
    ]
    assert sub.intake["ignored"] == ["Backprop.py", "hw/backprop_torch (1).py", "hw/old/backprop.py"]


def test_a_module_found_elsewhere_is_moved_beside_the_first(tmp_path, staging):
    ref = sample("reference")
    downloads.write(tmp_path / "subs" / "ana" / "code" / "backprop.py", ref["backprop.py"])
    downloads.write(tmp_path / "subs" / "ana" / "extra" / "backprop_torch.py", ref["backprop_torch.py"])
    [sub] = discover(tmp_path / "subs", staging, MODULES)
    assert_handed_in(sub, "reference")
    assert sub.intake["notes"] == ["extra/backprop_torch.py taken as backprop_torch.py (moved beside backprop.py)"]


def test_beside_the_first_module_beats_shallower(tmp_path, staging):
    ref, stub = sample("reference"), sample("stub")
    downloads.write(tmp_path / "subs" / "ana" / "hw" / "backprop.py", ref["backprop.py"])
    downloads.write(tmp_path / "subs" / "ana" / "hw" / "backprop_torch.py", ref["backprop_torch.py"])
    downloads.write(tmp_path / "subs" / "ana" / "backprop_torch.py", stub["backprop_torch.py"])
    [sub] = discover(tmp_path / "subs", staging, MODULES)
    assert_handed_in(sub, "reference")
    assert sub.intake["notes"] == ["2 files could be backprop_torch.py: took hw/backprop_torch.py (it lies beside "
                                   "backprop.py) over backprop_torch.py"]
    assert sub.intake["ignored"] == ["backprop_torch.py"]


def test_a_long_list_of_unused_files_is_cut_and_counted(tmp_path, staging, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_LISTED", 3)
    downloads.write(tmp_path / "subs" / "ana" / "code" / "backprop.py", sample("reference")["backprop.py"])
    for i in range(5):
        downloads.write(tmp_path / "subs" / "ana" / "data" / f"{i}.npy", b"\x93NUMPY")
    [sub] = discover(tmp_path / "subs", staging, MODULES)
    assert sub.intake["ignored"] == ["data/0.npy", "data/1.npy", "data/2.npy"]
    assert sub.intake["notes"] == ["2 more files not used are not listed"]


# --------------------------------------------------------------------- refusals and forced layouts


def test_a_course_folder_is_refused(tmp_path, staging):
    (tmp_path / "course" / "solutions").mkdir(parents=True)
    (tmp_path / "course" / "assignments").mkdir()
    with pytest.raises(IntakeRefused) as exc:
        discover(tmp_path / "course", staging, MODULES)
    assert str(exc.value).startswith(f"{tmp_path / 'course'} is a course folder (it holds solutions/ and "
                                     "assignments/), not a class download. Pass the folder (or the .zip) that your "
                                     "platform's download gave you")


def bare_submitted(folder: Path, students) -> None:
    """nbgrader's submitted/ copied out of its course folder."""
    course = downloads.nbgrader_course(folder.parent.parent / "course", students)
    os.rename(course / "submitted", folder)


@pytest.mark.parametrize("build, inner, platform", [
    (downloads.canvas, "submissions", "Canvas"),
    (lambda folder, students: downloads.moodle(folder, students, in_folders=True), "DL101-Backprop-48213", "Moodle"),
    (downloads.gradescope, "assignment_4215_export", "Gradescope"),
    (downloads.nbgrader_course, "dl101", "nbgrader"),
    (bare_submitted, "submitted", "nbgrader"),
], ids=["canvas", "moodle", "gradescope", "nbgrader-course", "nbgrader-submitted"])
def test_the_folder_above_a_class_download_is_refused_naming_the_one_to_pass(tmp_path, staging, build, inner,
                                                                               platform):
    parent = tmp_path / "Downloads"
    parent.mkdir()
    build(parent / inner, roster(4))
    downloads.write(parent / ".DS_Store", b"\0")
    with pytest.raises(IntakeRefused) as exc:
        discover(parent, staging, MODULES)
    assert str(exc.value) == (f"{parent} holds only the folder {inner}, which looks like a whole class's "
                              f"{platform} download: pass {parent / inner} instead.")


def test_a_forced_layout_is_used_as_given(tmp_path, staging):
    students = roster(6)
    downloads.canvas_zip(tmp_path / "subs", students)
    [one] = discover(tmp_path / "subs", staging, MODULES, layout="folders")  # what the TA asked for
    assert one.student == "submissions" and one.intake["layout"] == "folders"
    found = discover(tmp_path / "subs", staging, MODULES, layout="canvas")
    assert [s.student for s in found] == sorted(s.canvas_id for s in students)
    with pytest.raises(ValueError, match="unknown layout 'blackboard'"):
        discover(tmp_path / "subs", staging, MODULES, layout="blackboard")


def test_a_broken_zip_alone_is_refused_unless_it_is_said_to_be_one_students(tmp_path, staging):
    subs = tmp_path / "subs"
    downloads.write(subs / "submissions.zip", b"PK\x03\x04 cut short")
    with pytest.raises(IntakeRefused) as exc:  # not one student called "submissions", graded 0 with exit 0
        discover(subs, staging, MODULES)
    assert str(exc.value) == (
        f"{subs} holds only submissions.zip, which cannot be opened (File is not a zip file): the zip is broken. If "
        "it is your platform's download, download it again (or unpack it and pass the folder); if it really is one "
        "student's upload, grade with --layout folders.")
    with pytest.raises(IntakeRefused, match="could not open .*submissions.zip: File is not a zip file. "
                                            "Download it again, or unpack it and pass the folder."):
        discover(subs, staging, MODULES, layout="canvas")
    [sub] = discover(subs, staging, MODULES, layout="folders")  # what the TA said it is
    assert (sub.student, sub.error) == ("submissions", "invalid")
    assert sub.problem.startswith("could not open submissions.zip: File is not a zip file.")


# --------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_grade_reads_a_canvas_zip_end_to_end(tmp_path):
    students = roster(6, ["reference", "stub", "reference", "wrong-db-not-summed", "reference", "stub"])
    renamed, resubmitted = students[2], students[4]
    downloads.canvas_zip(tmp_path / "subs", students, late=[students[0]], renamed=[renamed],
                         resubmitted=[resubmitted])
    out = tmp_path / "out"
    # The download's zip itself, as the course-folder refusal says it may be passed (TA trial, problem 5).
    run = subprocess.run([str(Path(sys.executable).parent / "autograder"), "grade", "backprop",
                          str(tmp_path / "subs" / "submissions.zip"), "--out", str(out), "-j", "1", "--no-canary",
                          "--seed", "1",
                          "--course", str(ROOT)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.name for p in out.glob("*.json")) == sorted(f"{s.canvas_id}.json" for s in students)
    docs = {s.canvas_id: json.loads((out / f"{s.canvas_id}.json").read_text()) for s in students}
    for s in students:
        doc = docs[s.canvas_id]
        assert doc["student"] == s.canvas_id
        if s.sample == "reference":  # renamed backprop-1.py and the newest of a resubmission included
            assert doc["score"] == doc["max_score"] > 0, (s, doc.get("output"))
        elif s.sample == "stub":
            assert doc["score"] == 0
        else:
            assert 0 < doc["score"] < doc["max_score"]


# --------------------------------------------------------------------- nothing vanishes (TA trial, problem 1)


def test_a_folder_or_zip_a_ta_added_to_a_canvas_download_is_graded_and_loose_files_are_reported(tmp_path, staging,
                                                                                                 caplog):
    students = roster(6)
    subs = tmp_path / "subs"
    downloads.canvas(subs, students)
    ref = sample("reference")
    for name, data in ref.items():  # a late upload received by e-mail
        downloads.write(subs / "latejoe" / name, data)
    with zipfile.ZipFile(downloads.write(subs / "latemia.zip"), "w") as zf:
        zf.writestr("hw/backprop.py", ref["backprop.py"])
    downloads.write(subs / "notes.txt", b"grade joe by hand")
    downloads.write(subs / "backprop.py", ref["backprop.py"])  # whose? nobody can tell
    downloads.write(subs / "Thumbs.db", b"\0")  # what Windows leaves: nobody's
    downloads.write(subs / ".DS_Store", b"\0")
    with caplog.at_level("WARNING", logger="autograder.ingest"):
        found = by_id(discover(subs, staging, MODULES))
    assert set(found) == {s.canvas_id for s in students} | {"latejoe", "latemia"}
    joe = found["latejoe"]
    assert_handed_in(joe, "reference")
    assert (joe.name, joe.intake["layout"], joe.intake["ids"]) == (None, "canvas", {})
    assert joe.intake["notes"] == ["not named as a Canvas download names files: graded as the folder latejoe"]
    assert joe.source == subs / "latejoe"
    mia = found["latemia"]
    assert staged(mia) == {"backprop.py": ref["backprop.py"]} and mia.problem is None
    assert mia.intake["notes"] == ["not named as a Canvas download names files: graded as the zip latemia.zip"]
    assert [r.getMessage() for r in caplog.records] == [
        f"not graded: 2 loose file(s) in {subs}: backprop.py, notes.txt (not named as a Canvas download names a "
        "student's files, nor a folder or .zip named by a student id). If one is a student's, put it in a folder "
        "named by the student's id and grade again."]


def test_a_ta_folder_named_by_a_student_already_in_the_download_is_two_submissions(tmp_path, staging):
    students = roster(4)
    student = students[0]
    downloads.canvas(tmp_path / "subs", students)
    downloads.write(tmp_path / "subs" / student.canvas_id / "backprop.py", sample("stub")["backprop.py"])
    downloads.write(tmp_path / "subs" / "ana" / "backprop.py", sample("stub")["backprop.py"])
    with zipfile.ZipFile(downloads.write(tmp_path / "subs" / "ana.zip"), "w") as zf:
        zf.writestr("backprop.py", sample("stub")["backprop.py"])
    found = by_id(discover(tmp_path / "subs", staging, MODULES))
    assert set(found) == {s.canvas_id for s in students} | {"ana"}
    assert found[student.canvas_id].problem == (f"two submissions for {student.canvas_id}: its Canvas files and "
                                                f"{student.canvas_id}/. Keep one and grade again.")
    assert found["ana"].problem == "two submissions for ana: ana/ and ana.zip. Keep one and grade again."


@pytest.mark.parametrize("in_folders", [False, True], ids=["flat", "in-folders"])
def test_moodle_entries_without_a_participant_id_are_graded_by_their_name(tmp_path, staging, in_folders):
    students = roster(4)
    subs = downloads.moodle(tmp_path / "subs", students, in_folders=in_folders)
    for name, data in sample("reference").items():  # a team of the students in no group (Moodle 4.x naming)
        downloads.write(subs / "Default group_assignsubmission_file" / name if in_folders
                        else subs / f"Default group_assignsubmission_file_{name}", data)
    downloads.write(subs / "latejoe" / "backprop.py", sample("stub")["backprop.py"])
    found = by_id(discover(subs, staging, MODULES))
    assert set(found) == {s.moodle_id for s in students} | {"Default group", "latejoe"}
    team = found["Default group"]
    assert_handed_in(team, "reference")
    assert (team.name, team.intake["layout"], team.intake["ids"]) == ("Default group", "moodle", {})
    assert team.intake["notes"] == [
        "not named as a Moodle download names files (no participant id): graded as Default group (Moodle's name for "
        "a team submission of the students in no group: enter its grade for each of them by hand)"]
    assert found["latejoe"].intake["notes"] == [
        "not named as a Moodle download names files: graded as the folder latejoe"]
    for s in students:
        assert_handed_in(found[s.moodle_id], s.sample)


def test_gradescope_and_nbgrader_keep_what_they_do_not_name(tmp_path, staging, caplog):
    export = tmp_path / "export"
    downloads.gradescope(export, roster(3), resubmitted=[roster(3)[1]])
    downloads.write(export / "late-sam" / "backprop.py", sample("reference")["backprop.py"])
    found = by_id(discover(export, staging, MODULES))
    assert set(found) == {s.sid for s in roster(3)} | {"late-sam"}  # an older submission is not an entry
    assert found["late-sam"].intake["notes"] == [
        "not named as a Gradescope download names files: graded as the folder late-sam"]
    course = downloads.nbgrader_course(tmp_path / "dl101", roster(2))
    downloads.write(course / "submitted" / "readme.md", b"collected on Monday")
    with caplog.at_level("WARNING", logger="autograder.ingest"):
        assert len(discover(course, staging, MODULES)) == 2
    assert [r.getMessage() for r in caplog.records] == [
        f"not graded: 1 loose file(s) in {course / 'submitted'}: readme.md (not named as a nbgrader download names a "
        "student's files, nor a folder or .zip named by a student id). If one is a student's, put it in a folder "
        "named by the student's id and grade again."]


def test_loose_files_in_plain_folders_are_reported_with_the_layout_their_names_suggest(tmp_path, staging, caplog):
    subs = tmp_path / "subs"
    downloads.folders(subs, roster(2))
    downloads.write(subs / "silvaana_5170001_91234001_backprop.py", sample("reference")["backprop.py"])
    with caplog.at_level("WARNING", logger="autograder.ingest"):
        found = discover(subs, staging, MODULES)
    assert [s.student for s in found] == sorted(s.login for s in roster(2))
    assert [r.getMessage() for r in caplog.records] == [
        f"not graded: 1 loose file(s) in {subs}: silvaana_5170001_91234001_backprop.py (neither a folder nor a .zip "
        "named by a student id). If one is a student's, put it in a folder named by the student's id and grade "
        "again. Some are named as a Canvas download names files: try --layout canvas."]


def test_canvas_anonymous_grading_is_read_by_anonymous_id(tmp_path, staging):
    students = roster(8)
    late = students[2]
    keys = downloads.canvas_anonymous(tmp_path / "subs", students, late=[late])
    assert (tmp_path / "subs" / f"LATE_anon_{keys[late.canvas_id]}_91300105_backprop.py").is_file()
    for layout in (None, "canvas"):
        found = by_id(discover(tmp_path / "subs", staging, MODULES, layout=layout))
        assert set(found) == set(keys.values())
        for s in students:
            sub = found[keys[s.canvas_id]]
            assert_handed_in(sub, s.sample)
            assert (sub.name, sub.intake["layout"]) == (None, "canvas")
            assert sub.intake["ids"]["anonymous_id"] == keys[s.canvas_id] and "user_id" not in sub.intake["ids"]
        anonymous = "anonymous grading: the student id is Canvas's anonymous id"
        assert found[keys[late.canvas_id]].intake["notes"] == ["submitted late (Canvas marked it LATE)", anonymous]
        assert found[keys[students[0].canvas_id]].intake["notes"] == [anonymous]
        assert found["Xq2Zk"].intake["ids"] == {"anonymous_id": "Xq2Zk", "attachment_id": "91300104"}


def test_a_forced_layout_that_names_nothing_there_says_so(tmp_path, staging):
    subs = tmp_path / "subs"
    downloads.folders(subs, roster(2))
    with pytest.raises(IntakeRefused) as exc:  # not "no submissions"
        discover(subs, staging, MODULES, layout="canvas")
    assert str(exc.value) == (
        f"--layout canvas: nothing in {subs} is named as a Canvas download names a student's files (<sortable "
        "name>[_LATE]_<user id>_<attachment id>_<file>, or [LATE_]anon_<anonymous id>_<attachment id>_<file> under "
        "anonymous grading); it holds asilva/, bsilva.zip; leave --layout out to read it by its names.")
    canvas = tmp_path / "canvas"
    downloads.canvas(canvas, roster(1))
    with pytest.raises(IntakeRefused) as exc:
        discover(canvas, staging, MODULES, layout="moodle")
    assert str(exc.value) == (
        f"--layout moodle: nothing in {canvas} is named as a Moodle download names a student's files (<Full Name>_"
        "<participant id>_assignsubmission_<plugin>_<file>, or a folder <Full Name>_<participant id>_"
        "assignsubmission_<plugin>); it holds silvaana_5170001_91234001_backprop.py, "
        "silvaana_5170001_91234002_backprop_torch.py; its names are those of a Canvas download: use --layout canvas, "
        "or leave --layout out.")


# --------------------------------------------------------------------- the download's zip itself (problem 5)


def test_the_class_zip_itself_can_be_passed(tmp_path, staging):
    students = roster(6)
    downloads.canvas_zip(tmp_path / "subs", students, late=[students[0]])
    archive = tmp_path / "subs" / "submissions.zip"
    found = discover(archive, staging, MODULES)
    assert [(s.student, s.name) for s in found] == [(s.canvas_id, s.canvas_name)
                                                    for s in sorted(students, key=lambda s: s.canvas_id)]
    for s, sub in zip(sorted(students, key=lambda s: s.canvas_id), found):
        assert_handed_in(sub, s.sample)
        assert sub.source == archive and sub.intake["layout"] == "canvas"
    assert (staging / ".download").is_dir()
    # A Gradescope export zipped with its top folder, passed itself.
    downloads.gradescope(tmp_path / "export", roster(3))
    downloads.zip_folder(tmp_path / "export", tmp_path / "gs.zip", top="assignment_4215_export/")
    assert [s.student for s in discover(tmp_path / "gs.zip", staging, MODULES)] == [s.sid for s in roster(3)]


def test_a_broken_or_non_zip_file_passed_itself_is_refused(tmp_path, staging):
    broken = downloads.write(tmp_path / "submissions.zip", b"PK\x03\x04 cut short")
    with pytest.raises(IntakeRefused) as exc:
        discover(broken, staging, MODULES)
    assert str(exc.value) == (f"could not open {broken}: File is not a zip file. Download it again, or unpack it and "
                              "pass the folder.")
    sheet = downloads.write(tmp_path / "grades.csv", b"student,score\n")
    with pytest.raises(IntakeRefused) as exc:
        discover(sheet, staging, MODULES)
    assert str(exc.value) == (f"{sheet} is a file, not a class download: pass the folder (or the .zip) that your "
                              "platform's download gave you.")


def autograder(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "autograder"), *args, "--course", str(ROOT)],
                          capture_output=True, text=True, timeout=120)


def test_grade_takes_the_zip_and_prints_what_it_does_not_grade(tmp_path):
    # The zip itself reaches discover (click no longer says "Directory ... is a file"): a broken one is refused.
    broken = downloads.write(tmp_path / "submissions.zip", b"PK\x03\x04 cut short")
    run = autograder("grade", "backprop", str(broken), "--out", str(tmp_path / "out"))
    assert run.returncode == 1 and "is a file" not in run.stderr
    assert f"could not open {broken}: File is not a zip file." in " ".join(run.stderr.split())
    # Loose files are named on the terminal, not passed over.
    downloads.write(tmp_path / "subs" / "notes.txt", b"to do")
    run = autograder("grade", "backprop", str(tmp_path / "subs"), "--out", str(tmp_path / "out"))
    assert run.returncode == 1
    assert f"not graded: 1 loose file(s) in {tmp_path / 'subs'}: notes.txt (neither a folder nor a .zip" in run.stderr
    assert "no submissions in" in run.stderr


# --------------------------------------------------------------------- zip names without the UTF-8 flag (problem 7)


def test_names_in_a_zip_without_the_utf8_flag_are_read_as_utf8(tmp_path, staging):
    students = roster(26)  # Chloé Silva, ..., Ana Müller
    downloads.moodle(tmp_path / "moodle", students)
    downloads.legacy_zip(tmp_path / "moodle", tmp_path / "subs" / "DL101-Backprop-4215.zip")
    with zipfile.ZipFile(tmp_path / "subs" / "DL101-Backprop-4215.zip") as zf:
        assert "Chlo├⌐ Silva_100003_assignsubmission_file_backprop.py" in zf.namelist()  # what Python reads
    found = by_id(discover(tmp_path / "subs", staging, MODULES))
    assert found["100003"].name == "Chloé Silva" and found["100025"].name == "Ana Müller"
    assert [found[s.moodle_id].name for s in students] == [s.full_name for s in students]
    for s in students:
        assert_handed_in(found[s.moodle_id], s.sample)


def test_a_students_zip_without_the_utf8_flag_keeps_its_folder_names(tmp_path, staging):
    ref = sample("reference")
    downloads.write(tmp_path / "upload" / "Übung 3" / "backprop.py", ref["backprop.py"])
    downloads.write(tmp_path / "upload" / "Übung 3" / "backprop_torch.py", ref["backprop_torch.py"])
    downloads.legacy_zip(tmp_path / "upload", tmp_path / "subs" / "zoë.zip")
    # Not UTF-8 at all: a DOS tool's cp437 name (0x81 is ü in cp437) stays cp437.
    with zipfile.ZipFile(downloads.write(tmp_path / "subs" / "olaf.zip"), "w") as zf:
        zf.writestr("XbungX/backprop.py", ref["backprop.py"])
    data = (tmp_path / "subs" / "olaf.zip").read_bytes()
    assert data.count(b"XbungX") == 2
    (tmp_path / "subs" / "olaf.zip").write_bytes(data.replace(b"XbungX", b"\x81bung\x81"))
    found = by_id(discover(tmp_path / "subs", staging, MODULES))
    assert found["zoë"].intake["matched"] == {"backprop.py": "Übung 3/backprop.py",
                                              "backprop_torch.py": "Übung 3/backprop_torch.py"}
    assert found["zoë"].folder == staging / "zoë" / "Übung 3"
    assert_handed_in(found["zoë"], "reference")
    assert found["olaf"].intake["matched"] == {"backprop.py": "übungü/backprop.py"}
    assert (staging / "olaf" / "übungü" / "backprop.py").read_bytes() == ref["backprop.py"]


def test_member_name_takes_utf8_where_it_decodes():
    info = zipfile.ZipInfo("Chloé.py".encode().decode("cp437"))
    assert (info.filename, ingest.member_name(info)) == ("Chlo├⌐.py", "Chloé.py")
    info.flag_bits |= 0x800  # flagged UTF-8: Python read it right already
    assert ingest.member_name(info) == "Chlo├⌐.py"
    assert ingest.member_name(zipfile.ZipInfo(b"\x81bung.py".decode("cp437"))) == "übung.py"  # not UTF-8
    assert ingest.member_name(zipfile.ZipInfo("plain/backprop.py")) == "plain/backprop.py"
