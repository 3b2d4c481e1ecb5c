"""`autograder check` shows what the student's own code printed, its end only, and nothing when silent.

The working copy is a small assignment made by `autograder new` in a temporary
course, completed with the reference (so every public test passes, prints or
not), run as a student runs it: `autograder check NAME` in the folder.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.scaffold import create

NAME = "zzprint"
PRINTS = '''    for i in range(30):
        print(f"debug line {i}: x has shape {x.shape}")
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("course")
    (root / "solutions").mkdir()
    create(root, NAME)
    return root


def check(course: Path, folder: Path, source: str) -> tuple[int, str]:
    shutil.copytree(course / "assignments" / NAME, folder)
    (folder / f"{NAME}.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_COURSE"}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb", PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, "-m", "autograder.cli", "check", NAME, "--seed", "1"], cwd=folder, env=env,
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout


def test_check_shows_the_end_of_what_the_code_printed(course, tmp_path):
    reference = (course / "solutions" / NAME / f"{NAME}.py").read_text()
    marker = '    out = np.where(x > 0, x, alpha * x)\n'
    assert marker in reference
    rc, stdout = check(course, tmp_path / "mine", reference.replace(marker, PRINTS + marker))
    assert rc == 0, stdout
    assert "your code printed:" in stdout, stdout
    shown = stdout.split("your code printed:", 1)[1].split("isolation:", 1)[0]
    debug = [line for line in shown.splitlines() if line.startswith("debug line")]
    # Each of the three public tests calls leaky_relu_forward: 90 lines printed, the last 40 shown.
    assert len(debug) == 40, shown
    assert debug[-1] == "debug line 29: x has shape (3, 4)", shown
    assert "earlier line(s)" in shown and "cut" in shown, shown
    # The table comes first, the printed output after it.
    assert stdout.index("PASS") < stdout.index("your code printed:")


def test_check_shows_nothing_when_the_code_printed_nothing(course, tmp_path):
    reference = (course / "solutions" / NAME / f"{NAME}.py").read_text()
    rc, stdout = check(course, tmp_path / "mine", reference)
    assert rc == 0, stdout
    assert "your code printed" not in stdout, stdout
