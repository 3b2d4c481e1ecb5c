"""How samples are stored: reference and stub made from the solution, the rest as folders or patches.

No grading here (tests/test_samples.py grades every sample): these tests read
and unpack the shipped samples, and try the patch format on a small course.
"""
from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.config import list_assignments, solution_assignment
from autograder.release import strip_solutions
from autograder.samples import (MADE_FROM_THE_SOLUTION, PATCH_SUFFIX, SampleError, make_patch, patch_base,
                                sample_files, sample_names, unpack_samples)

COURSE = Path(__file__).resolve().parents[1]
ASSIGNMENTS = list_assignments(COURSE)
# A sample stored whole must be more than a small change of another one: at least this many
# changed lines from every other sample, or a third of its own lines, whichever is less.
FOLDER_SAMPLE_MIN_CHANGE = 40
# A wrong sample is a patch a reader takes in at a glance (the longest shipped one: 36 lines).
WRONG_SAMPLE_MAX_CHANGE = 40

MODULE = '''"""A tiny module."""
import numpy as np


def double(x):
    """x: array of shape (N,). Returns 2 * x, shape (N,)."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


def triple(x):
    """x: array of shape (N,). Returns 3 * x, shape (N,)."""
    ### BEGIN SOLUTION
    return 3 * x
    ### END SOLUTION
'''


def changed_lines(old: dict[str, bytes], new: dict[str, bytes]) -> int:
    count = 0
    for name in set(old) | set(new):
        a = old.get(name, b"").decode().splitlines()
        b = new.get(name, b"").decode().splitlines()
        count += sum(1 for line in difflib.unified_diff(a, b, lineterm="", n=0)
                     if line.startswith(("+", "-")) and not line.startswith(("+++", "---")))
    return count


@pytest.fixture
def tiny(tmp_path):
    """A one-module assignment with a samples folder and nothing in it yet."""
    folder = tmp_path / "solutions" / "tiny"
    (folder / "samples").mkdir(parents=True)
    (folder / "assignment.toml").write_text('[assignment]\nname = "tiny"\ntitle = "Tiny"\nmodules = ["tiny"]\n')
    (folder / "tiny.py").write_text(MODULE)
    return solution_assignment(tmp_path, "tiny")


def store(a, name: str, text: str, base: str = "reference", description: str = "") -> None:
    base_files = sample_files(a, base)
    patch = make_patch(base, base_files, name, {"tiny.py": text.encode()}, description)
    (a.samples_dir / f"{name}{PATCH_SUFFIX}").write_text(patch)


# ------------------------------------------------------------------ the shipped samples

@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_reference_and_stub_are_made_from_the_solution(name):
    a = solution_assignment(COURSE, name)
    assert not (a.samples_dir / "reference").exists() and not (a.samples_dir / "stub").exists()
    for module in a.modules:
        source = (a.folder / f"{module}.py").read_text()
        assert sample_files(a, "reference")[f"{module}.py"].decode() == source
        assert sample_files(a, "stub")[f"{module}.py"].decode() == strip_solutions(source, module)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_wrong_sample_is_a_short_patch(name):
    """A reader sees the mistake in a few lines: each wrong-* sample is a patch that applies and
    changes at most WRONG_SAMPLE_MAX_CHANGE lines of its base."""
    a = solution_assignment(COURSE, name)
    wrong = [n for n in sample_names(a) if n.startswith("wrong-")]
    assert len(wrong) >= 3
    for sample in wrong:
        patch = a.samples_dir / f"{sample}{PATCH_SUFFIX}"
        assert patch.is_file(), f"{sample} is stored whole: store it as a patch of its base"
        base = patch_base(patch)
        changed = changed_lines(sample_files(a, base), sample_files(a, sample))
        assert 0 < changed <= WRONG_SAMPLE_MAX_CHANGE, (sample, base, changed)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_no_sample_is_stored_whole_that_is_a_small_change_of_another(name):
    """Compared with the reference, the stub and the other folders (patches are made from them)."""
    a = solution_assignment(COURSE, name)
    whole = [n for n in sample_names(a) if not (a.samples_dir / f"{n}{PATCH_SUFFIX}").is_file()]
    files = {n: sample_files(a, n) for n in whole}
    for sample in (n for n in whole if n not in MADE_FROM_THE_SOLUTION):
        own = sum(len(data.splitlines()) for data in files[sample].values())
        for other in whole:
            if other != sample:
                changed = changed_lines(files[other], files[sample])
                assert changed >= min(FOLDER_SAMPLE_MIN_CHANGE, own // 3), (
                    f"{sample} is {other} with {changed} lines changed: store it as {sample}{PATCH_SUFFIX}")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_sample_has_an_expectation_and_unpacks_to_module_files(name, tmp_path):
    a = solution_assignment(COURSE, name)
    from autograder.samples import load_expectations

    names = sample_names(a)
    assert set(names) == set(load_expectations(a.samples_dir))
    unpacked = unpack_samples(a, tmp_path)
    assert sorted(p.name for p in unpacked.iterdir()) == sorted(names)
    for sample in names:
        assert {p.name for p in (unpacked / sample).iterdir()} <= {f"{m}.py" for m in a.modules}, sample


def test_the_samples_command_unpacks_without_grading(tmp_path):
    result = CliRunner().invoke(main, ["samples", "optimizers", "--unpack", str(tmp_path), "--course", str(COURSE)])
    assert result.exit_code == 0, result.output
    a = solution_assignment(COURSE, "optimizers")
    folder = tmp_path / "optimizers" / "wrong-adam-eps-inside-sqrt"
    assert (folder / "optimizers.py").read_bytes() == sample_files(a, "wrong-adam-eps-inside-sqrt")["optimizers.py"]
    assert "np.sqrt(v_hat + config" in (folder / "optimizers.py").read_text()
    assert (folder / "optimizers_torch.py").read_text() == (a.folder / "optimizers_torch.py").read_text()
    assert f"optimizers: {len(sample_names(a))} samples in" in result.output
    assert not list(tmp_path.rglob("*.json"))


# ------------------------------------------------------------------ the format

def test_a_patch_gives_its_base_with_the_change(tiny):
    store(tiny, "wrong-double", MODULE.replace("return 2 * x", "return x + x + x"), description="Doubles wrong.")
    patch = (tiny.samples_dir / "wrong-double.patch").read_text()
    assert patch.startswith("Doubles wrong.\n\n--- reference/tiny.py\n+++ wrong-double/tiny.py\n")
    assert sample_files(tiny, "wrong-double")["tiny.py"].decode() == MODULE.replace("return 2 * x", "return x + x + x")
    assert sample_names(tiny) == ["reference", "stub", "wrong-double"]


def test_a_patch_survives_edits_of_its_base_elsewhere(tiny):
    store(tiny, "wrong-triple", MODULE.replace("return 3 * x", "return 3 + x"))
    edited = MODULE.replace('"""A tiny module."""', '"""A tiny module.\n\nWith a longer docstring,\nof four lines."""')
    edited = edited.replace("Returns 2 * x", "Returns twice x")
    (tiny.folder / "tiny.py").write_text(edited)
    assert sample_files(tiny, "wrong-triple")["tiny.py"].decode() == edited.replace("return 3 * x", "return 3 + x")


def test_a_patch_whose_lines_changed_in_its_base_says_where_and_what_to_do(tiny):
    store(tiny, "wrong-triple", MODULE.replace("return 3 * x", "return 3 + x"))
    (tiny.folder / "tiny.py").write_text(MODULE.replace("return 3 * x", "return x * 3"))
    with pytest.raises(SampleError) as caught:
        sample_files(tiny, "wrong-triple")
    message = str(caught.value)
    assert ("wrong-triple.patch: the lines of its change at line 15 (`return 3 * x`) of reference/tiny.py are no "
            "longer there as the patch has them") in message
    assert "autograder samples tiny --unpack DIR" in message and "diff -ru reference wrong-triple" in message


def test_a_patch_may_start_from_another_sample_and_diff_output_applies(tiny, tmp_path):
    """What an instructor does: unpack, copy a sample, edit it, diff -ru (timestamps, absolute paths)."""
    (tiny.samples_dir / "correct-loop").mkdir()
    (tiny.samples_dir / "correct-loop" / "tiny.py").write_text(
        MODULE.replace("return 2 * x", "return np.array([2 * v for v in x])"))
    unpacked = unpack_samples(tiny, tmp_path / "unpacked")
    work = unpacked / "wrong-loop"
    work.mkdir()
    text = (unpacked / "correct-loop" / "tiny.py").read_text().replace("2 * v for v", "v for v")
    (work / "tiny.py").write_text(text)
    diff = subprocess.run(["diff", "-ru", str(unpacked / "correct-loop"), str(work)], capture_output=True, text=True)
    assert diff.returncode == 1 and "\t" in diff.stdout.splitlines()[1]  # diff's timestamp
    (tiny.samples_dir / "wrong-loop.patch").write_text(diff.stdout)
    assert sample_files(tiny, "wrong-loop")["tiny.py"].decode() == text
    assert sample_names(tiny) == ["reference", "stub", "correct-loop", "wrong-loop"]


@pytest.mark.parametrize("stored, message", [
    ("reference-folder", "the reference sample is made from the solution and is never stored; delete it"),
    ("doubled", "wrong-x is both a folder and a patch; keep one"),
    ("unknown-base", "its '---' lines start from 'correct-gone/tiny.py', and 'correct-gone' is no sample"),
    ("not-a-diff", "no '--- <sample>/<file>' line: is it a unified diff (diff -ru)?"),
    ("other-file", "the sample 'reference' has no file other.py"),
])
def test_a_sample_that_cannot_be_made_is_said_plainly(tiny, stored, message):
    wrong = MODULE.replace("return 2 * x", "return 2 + x")
    if stored == "reference-folder":
        (tiny.samples_dir / "reference").mkdir()
    elif stored == "doubled":
        store(tiny, "wrong-x", wrong)
        (tiny.samples_dir / "wrong-x").mkdir()
    elif stored == "unknown-base":
        (tiny.samples_dir / "wrong-x.patch").write_text(
            make_patch("correct-gone", {"tiny.py": MODULE.encode()}, "wrong-x", {"tiny.py": wrong.encode()}))
    elif stored == "not-a-diff":
        (tiny.samples_dir / "wrong-x.patch").write_text("return 2 + x\n")
    else:
        (tiny.samples_dir / "wrong-x.patch").write_text(
            make_patch("reference", {"other.py": MODULE.encode()}, "wrong-x", {"other.py": wrong.encode()}))
    with pytest.raises(SampleError) as caught:
        unpack_samples(tiny, tiny.folder.parent / "unpacked")
    assert message in str(caught.value)


def test_the_samples_command_says_why_a_sample_cannot_be_made(tiny):
    store(tiny, "wrong-triple", MODULE.replace("return 3 * x", "return 3 + x"))
    (tiny.folder / "tiny.py").write_text(MODULE.replace("return 3 * x", "return x * 3"))
    course = tiny.folder.parent.parent
    (tiny.samples_dir / "expected.toml").write_text('[reference]\nscore = "max"\n')
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "samples", "tiny", "--course", str(course),
                             "--out", str(course / "out")], capture_output=True, text=True, cwd=course)
    assert result.returncode == 1
    assert "wrong-triple.patch: the lines of its change at line 15 (`return 3 * x`)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("old, new", [("a\nb\nc\n", "a\nb\nc"), ("a\nb\nc", "a\nB\nc"), ("a\nb\nc", "a\nb\nc\n")])
def test_a_file_without_a_last_newline_survives_the_round_trip(tiny, old, new):
    (tiny.folder / "tiny.py").write_text(old)
    store(tiny, "wrong-end", new)
    assert "\\ No newline at end of file" in (tiny.samples_dir / "wrong-end.patch").read_text()
    assert sample_files(tiny, "wrong-end")["tiny.py"].decode() == new


def test_a_hunk_whose_lines_occur_twice_is_refused_not_guessed(tiny, tmp_path):
    """Two functions with the same body: nothing in three lines of context says which one the
    patch changes, and the sample must not silently get the other one wrong. More context does."""
    body = "".join(f"    h = h {op} {k}\n" for k, op in enumerate("+*-/+*", 1))
    twins = f"def f(h):\n{body}    return h\n\n\ndef g(h):\n{body}    return h\n"
    (tiny.folder / "tiny.py").write_text(twins)
    wrong = twins[::-1].replace("4 / h = h", "4 * h = h", 1)[::-1]  # in g
    store(tiny, "wrong-g", wrong)
    with pytest.raises(SampleError, match=r"occur 2 times \(at lines 2, 12\): nothing says which one"):
        sample_files(tiny, "wrong-g")
    unpacked = unpack_samples(tiny, tmp_path / "unpacked", ["reference"])
    (unpacked / "wrong-g").mkdir()
    (unpacked / "wrong-g" / "tiny.py").write_text(wrong)
    diff = subprocess.run("diff -ru -U8 reference wrong-g", shell=True, cwd=unpacked, capture_output=True, text=True)
    (tiny.samples_dir / "wrong-g.patch").write_text(diff.stdout)
    assert sample_files(tiny, "wrong-g")["tiny.py"].decode() == wrong


@pytest.mark.parametrize("flags, message", [
    ("-U0", "has no lines of context, so nothing says where it goes"),
    ("-ruN", "cannot add or drop one"),
])
def test_patches_that_cannot_be_placed_or_that_add_a_file_are_refused(tiny, tmp_path, flags, message):
    unpacked = unpack_samples(tiny, tmp_path / "unpacked")
    work = unpacked / "wrong-x"
    work.mkdir()
    text = MODULE.replace("    ### END SOLUTION\n", "    ### END SOLUTION\n    print('added')\n", 1)
    (work / "tiny.py").write_text(text)
    if flags == "-ruN":
        (work / "helper.py").write_text("x = 1\n")
        flags = "-ru"  # "Only in wrong-x: helper.py"
    diff = subprocess.run(f"diff {flags} reference wrong-x", shell=True, cwd=unpacked, capture_output=True, text=True)
    (tiny.samples_dir / "wrong-x.patch").write_text(diff.stdout)
    with pytest.raises(SampleError, match=message):
        sample_files(tiny, "wrong-x")


def test_line_endings_and_form_feeds_survive_as_diff_writes_them(tiny, tmp_path):
    crlf = MODULE.replace("\n", "\r\n").replace("    ### BEGIN", "    # \f section\r\n    ### BEGIN", 1)
    (tiny.folder / "tiny.py").write_bytes(crlf.encode())
    wrong = crlf.replace("return 2 * x", "return 2 + x")
    store(tiny, "wrong-crlf", wrong)
    assert sample_files(tiny, "wrong-crlf")["tiny.py"] == wrong.encode()


def test_unpack_writes_every_sample_it_can_and_names_each_one_it_cannot(tiny, tmp_path):
    store(tiny, "wrong-double", MODULE.replace("return 2 * x", "return 2 + x"))
    store(tiny, "wrong-triple", MODULE.replace("return 3 * x", "return 3 + x"))
    store(tiny, "wrong-zero", MODULE.replace("return 3 * x", "return 0 * x"))
    (tiny.folder / "tiny.py").write_text(MODULE.replace("return 3 * x", "return x * 3"))
    with pytest.raises(SampleError) as caught:
        unpack_samples(tiny, tmp_path / "out")
    assert [line.split(": ")[0].rsplit("/", 1)[1] for line in str(caught.value).splitlines()] == [
        "wrong-triple.patch", "wrong-zero.patch"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["reference", "stub", "wrong-double"]


@pytest.mark.parametrize("broken, message", [
    ("reversed", "its '---' lines name wrong-x itself: is the diff reversed?"),
    ("module missing", "solutions/tiny/tiny.py"),
    ("markers unclosed", "BEGIN SOLUTION"),
    ("not utf-8", "wrong-x.patch is not UTF-8 text"),
])
def test_the_samples_command_says_plainly_what_is_wrong(tiny, broken, message):
    course = tiny.folder.parent.parent
    if broken == "reversed":
        (tiny.samples_dir / "wrong-x.patch").write_text(make_patch(
            "wrong-x", {"tiny.py": MODULE.replace("2 * x", "2 + x").encode()}, "reference", {"tiny.py": MODULE.encode()}))
    elif broken == "module missing":
        (tiny.folder / "tiny.py").unlink()
    elif broken == "markers unclosed":
        (tiny.folder / "tiny.py").write_text(MODULE.replace("    ### END SOLUTION\n", "", 1))
    else:
        (tiny.samples_dir / "wrong-x.patch").write_bytes("--- reference/tiny.py\n+++ wrong-x/tiny.py\n# caf\xe9\n"
                                                         .encode("latin-1"))
    for args in (["samples", "tiny"], ["samples", "tiny", "--unpack", str(course / "unpacked")],
                 ["validate", "tiny", "--seeds", "1", "--samples"]):
        result = subprocess.run([sys.executable, "-m", "autograder.cli", *args, "--course", str(course)],
                                capture_output=True, text=True, cwd=course, timeout=120)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, args
