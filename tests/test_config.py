"""Assignment configuration: names, limits and their overrides."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.config import Limits, list_assignments, load_assignment

COURSE = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list_assignments(COURSE))
def test_a_students_copy_keeps_its_name_whatever_the_folder(name, tmp_path):
    copy = tmp_path / "my homework (final)"
    shutil.copytree(COURSE / "assignments" / name, copy)
    assert load_assignment(copy).name == name


def test_limits_come_from_the_toml_and_marks_override_them():
    a = load_assignment(COURSE / "solutions" / "backprop")
    assert a.limits.call_seconds == 5 and a.limits.submission_seconds == 30
    assert a.limits.output_bytes == Limits().output_bytes  # not set: the default
    per_test = a.limits.merged(call_seconds=30)
    assert per_test.call_seconds == 30 and per_test.memory_mb == a.limits.memory_mb
    with pytest.raises(ValueError, match="unknown limit"):
        a.limits.merged(walltime=3)


def test_only_cpu_memory_processes_and_file_size_need_a_new_worker():
    base = Limits()
    assert base.merged(call_seconds=99, output_bytes=1).worker_key() == base.worker_key()
    assert base.merged(memory_mb=2048).worker_key() != base.worker_key()
