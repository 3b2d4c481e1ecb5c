"""The environment pins of an assignment ([environment] in assignment.toml) and `autograder check`'s warning."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import list_assignments, load_assignment
from autograder.environment import describe, mismatches, versions
from autograder.release import release_assignment

COURSE = Path(__file__).resolve().parents[1]
PINS = {"python": ">=3.11", "numpy": ">=2.0,<3", "torch": ">=2.1,<3"}


def write_assignment(folder: Path, environment: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assignment.toml").write_text('[assignment]\nmodules = ["hw"]\n\n' + environment)
    return folder


# ------------------------------------------------------------------ the [environment] table


def test_the_environment_table_is_read_from_the_toml(tmp_path):
    folder = write_assignment(tmp_path, '[environment]\npython = ">=3.11"\nnumpy = ">=2.0,<3"\ntorch = ">=2.1,<3"\n')
    assert load_assignment(folder).environment == PINS


def test_without_the_table_nothing_is_pinned(tmp_path):
    assert load_assignment(write_assignment(tmp_path, "")).environment == {}


def test_an_unknown_package_is_an_error_naming_the_file(tmp_path):
    folder = write_assignment(tmp_path, '[environment]\nscipy = ">=1.10"\n')
    with pytest.raises(ValueError, match="unknown key") as info:
        load_assignment(folder)
    assert str(folder / "assignment.toml") in str(info.value) and "scipy" in str(info.value)


@pytest.mark.parametrize("spec", ['"2.0+"', '"=>2.0"', "2"])
def test_a_bad_specifier_is_an_error_naming_the_file(tmp_path, spec):
    folder = write_assignment(tmp_path, f"[environment]\nnumpy = {spec}\n")
    with pytest.raises(ValueError, match="is not a version specifier") as info:
        load_assignment(folder)
    assert str(folder / "assignment.toml") in str(info.value) and "numpy" in str(info.value)


# ------------------------------------------------------------------ mismatches


def test_numpy_1_under_a_numpy_2_pin_names_the_pitfalls():
    found = mismatches({"python": "3.12.3", "numpy": "1.26.4", "torch": "2.13.0+cpu"}, PINS)
    assert len(found) == 1, found
    assert found[0].startswith("your numpy is 1.26.4; the grader runs numpy >=2.0,<3.")
    assert "newshape" in found[0] and "int()" in found[0] and "np.float_" in found[0]
    assert "pip install 'numpy>=2.0,<3'" in found[0]


def test_matching_versions_give_no_warning():
    assert mismatches({"python": "3.12.3", "numpy": "2.3.1", "torch": "2.13.0+cpu"}, PINS) == []
    # The local part (+cpu, +cu121) does not count, as PEP 440 says.
    assert mismatches({"torch": "2.13.0+cpu"}, {"torch": ">=2.1,<3"}) == []
    assert mismatches({"torch": "2.4.1+cu121"}, {"torch": ">=2.1,<3"}) == []


def test_a_missing_torch_under_a_torch_pin_is_named():
    found = mismatches({"python": "3.12.3", "numpy": "2.3.1"}, PINS)
    assert len(found) == 1, found
    assert found[0].startswith("torch cannot be imported here; the grader runs torch >=2.1,<3")


def test_an_old_torch_and_an_old_python_get_a_sentence_each():
    found = mismatches({"python": "3.10.12", "numpy": "2.3.1", "torch": "2.0.1"}, PINS)
    assert [s.split(";")[0] for s in found] == ["your Python is 3.10.12", "your torch is 2.0.1"]


def test_nothing_pinned_means_no_warning():
    assert mismatches({"python": "3.8.0", "numpy": "1.20.0"}, {}) == []


# ------------------------------------------------------------------ this machine


def test_versions_describes_this_process_without_starting_cuda():
    torch = pytest.importorskip("torch")
    import numpy
    import platform

    found = versions()
    assert set(found) == {"python", "numpy", "torch", "cuda", "gpu"}
    assert found["python"] == platform.python_version()
    assert found["numpy"] == numpy.__version__ and found["torch"] == str(torch.__version__)
    assert found["cuda"] == (torch.version.cuda or "none")
    assert not torch.cuda.is_initialized()  # the grader forks its workers after this


def test_describe_is_one_line():
    line = describe({"python": "3.12.3", "numpy": "2.3.1", "torch": "2.13.0+cpu", "cuda": "none", "gpu": "none"})
    assert line == "Python 3.12.3, numpy 2.3.1, torch 2.13.0+cpu, CUDA none, GPU: none on this machine"
    assert describe({"python": "3.12.3", "numpy": "2.3.1", "cuda": "none", "gpu": "none"}).startswith(
        "Python 3.12.3, numpy 2.3.1, torch not importable, CUDA none")
    gpu = "NVIDIA H100 80GB HBM3; driver 580.159.04; CUDA 13.0 (torch's build)"
    assert describe({"python": "3.12.3", "numpy": "2.3.1", "torch": "2.11.0+cu130", "cuda": "13.0", "gpu": gpu}) == (
        f"Python 3.12.3, numpy 2.3.1, torch 2.11.0+cu130, GPU: {gpu}")
    assert "\n" not in describe(versions())


# ------------------------------------------------------------------ the shipped pins


@pytest.mark.parametrize("name", list_assignments(COURSE))
def test_the_grader_satisfies_every_shipped_pin(name):
    """CI runs the grader's interpreter: a pin it does not satisfy would warn every student."""
    pins = load_assignment(COURSE / "solutions" / name).environment
    assert set(pins) == {"python", "numpy", "torch"}, pins
    assert mismatches(versions(), pins) == []
    # The release carries the table to the students' copies.
    assert load_assignment(COURSE / "assignments" / name).environment == pins


# ------------------------------------------------------------------ autograder check


def test_check_warns_about_a_different_environment_and_still_passes(tmp_path):
    """The reference under unsatisfiable pins: all tests pass, the warning is printed, exit status 0."""
    solution = COURSE / "solutions" / "backprop"
    copy = tmp_path / "backprop"
    release_assignment(solution, copy)
    for module in ("backprop.py", "backprop_torch.py"):
        shutil.copy2(solution / module, copy / module)
    toml = copy / "assignment.toml"
    text = toml.read_text()
    assert 'numpy = ">=2.0,<3"' in text and 'torch = ">=2.1,<3"' in text
    toml.write_text(text.replace('numpy = ">=2.0,<3"', 'numpy = "<2"').replace('torch = ">=2.1,<3"', 'torch = ">=99"'))

    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_COURSE"}
    env.update(COLUMNS="1000", NO_COLOR="1", TERM="dumb", PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([sys.executable, "-m", "autograder.cli", "check", "backprop"], cwd=copy, env=env,
                       capture_output=True, text=True, timeout=300)
    shown = f"exit {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    assert r.returncode == 0, shown
    assert f"environment: {describe(versions())}" in r.stdout, shown
    assert "environment: yours differs from the grader's" in r.stdout, shown
    assert "the grader runs numpy <2." in r.stdout and "the grader runs torch >=99." in r.stdout, shown
    assert "FAIL" not in r.stdout and "PASS" in r.stdout, shown
