"""Every assignment's hidden tests tell right from wrong: `autograder validate` passes.

The reference gets full marks, the released stub zero, and each catalogued
mistake (generated as the reference with one function swapped for its wrong
variant) loses points and is named in the feedback.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from autograder.config import list_assignments
from autograder.mistakes import load_catalogue
from autograder.validate import validate_assignment

COURSE = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list_assignments(COURSE))
def test_every_mistake_is_caught_and_named(name):
    catalogue = load_catalogue(COURSE / "solutions" / name / "mistakes.py")
    assert len(catalogue) >= 3, "each exercise keeps a catalogue of known mistakes"
    table, ok = validate_assignment(COURSE, name, seed=7)
    console = Console(record=True, width=200)
    console.print(table)
    report = console.export_text()
    assert ok, report
    assert report.count("caught and named") == len(catalogue)
    assert "full marks" in report and "zero" in report
