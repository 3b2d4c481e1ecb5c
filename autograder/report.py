"""The report step: results documents into tables, a gradebook CSV, and feedback."""
from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .ingest import printable

STATUS_STYLE = {
    "passed": ("PASS", "green"),
    "failed": ("FAIL", "red"),
    "exception": ("ERROR", "red"),
    "not_implemented": ("TODO", "yellow"),
    "crashed": ("CRASH", "red"),
    "budget": ("NOT RUN", "red"),
    "skipped": ("SKIP", "dim"),
    "error": ("GRADER", "magenta"),
}
LIMIT_OUTCOMES = ("crashed", "budget")  # a limit stopped the test: a crash, a time-out, an exhausted budget


def _pct(doc: dict) -> str:
    if not doc.get("max_score"):
        return "-"
    return f"{100 * doc['score'] / doc['max_score']:.0f}%"


def check_table(doc: dict) -> Table:
    """One row per test of a student's own run, with points and a total."""
    table = Table(title=f"{doc['assignment']}: public tests", show_lines=False)
    table.add_column("test", overflow="fold")
    table.add_column("result")
    table.add_column("points", justify="right")
    for test in doc["tests"]:
        label, style = STATUS_STYLE.get(test.get("outcome", test["status"]), ("?", ""))
        # Text, not markup: names hold [parametrize] ids, and messages may quote student text.
        table.add_row(Text(test["name"]), Text(label, style=style), f"{test['score']:g} / {test['max_score']:g}")
    table.add_section()
    table.add_row(Text("total", style="bold"), "", Text(f"{doc['score']:g} / {doc['max_score']:g}", style="bold"))
    return table


def print_feedback(console: Console, doc: dict) -> None:
    """The message of every test that did not pass, as a student should read it."""
    for test in doc["tests"]:
        if test.get("outcome") in ("passed", "skipped") or not test.get("output"):
            continue
        console.print(Text(f"\n{test['name']}", style="bold"))
        console.print(Text(test["output"]))
    skipped = [t for t in doc["tests"] if t.get("outcome") == "skipped"]
    if skipped:
        console.print(Text(f"\n{len(skipped)} test(s) skipped: {skipped[0]['output']}", style="dim"))


def isolation_line(doc: dict) -> str:
    iso = doc.get("isolation", {})
    parts = [iso.get("process", iso.get("mode", "?"))]
    for key in ("filesystem", "network", "memory"):
        if key in iso:
            parts.append(f"{key}: {iso[key]}")
    return "; ".join(parts)


def gradebook_table(docs: list[dict], title: str) -> Table:
    table = Table(title=title)
    named = any(doc.get("name") for doc in docs)  # a platform's download gives names beside its ids
    table.add_column("student")
    if named:
        table.add_column("name")
    table.add_column("score", justify="right")
    table.add_column("%", justify="right")
    table.add_column("tests passed", justify="right")
    table.add_column("named mistakes / notes")
    for doc in docs:
        tests = doc.get("tests", [])
        counted = [t for t in tests if t.get("outcome") != "skipped"]
        passed = sum(t.get("outcome") == "passed" for t in counted)
        notes = "; ".join(doc.get("mistakes", []))
        faults = sum(t.get("outcome") == "error" for t in tests)
        if faults:
            notes = f"GRADER ERROR in {faults} test(s), not the student's: --resume grades them again"
        elif doc.get("error"):
            notes = doc["output"].splitlines()[0]
        else:
            crashed = sum(t.get("outcome") in LIMIT_OUTCOMES for t in counted)
            if crashed:
                notes = (notes + "; " if notes else "") + f"{crashed} test(s) crashed or timed out"
        max_score = doc.get("max_score")
        table.add_row(
            Text(printable(doc["student"])),
            *([Text(printable(doc.get("name") or ""))] if named else []),
            f"{doc['score']:g} / {max_score:g}" if max_score is not None else f"{doc['score']:g}",
            _pct(doc),
            f"{passed} / {len(counted)}",
            Text(printable(notes)),
        )
    table.caption = "\n".join(batch_summary(docs))
    table.caption_justify = "left"
    return table


GRADED, UNGRADABLE, GRADER_ERROR = "graded", "could not be graded", "grader error"


def group(doc: dict) -> str:
    """Which of the three groups of the gradebook a result is in, the one definition of the
    gradebook's summary and of every number and figure of the class report: GRADER_ERROR
    (``error: grader_error``, in some tests or the whole run: not the student's fault, counted
    apart), UNGRADABLE (any other ``error``: ``invalid``, ``no_files``, or one this version does
    not know; scored 0), else GRADED."""
    error = doc.get("error")
    if error == "grader_error":
        return GRADER_ERROR
    return UNGRADABLE if error else GRADED


def groups(docs: list[dict]) -> dict[str, list[dict]]:
    """The documents of each group (see ``group``), in their order."""
    found: dict[str, list[dict]] = {GRADED: [], UNGRADABLE: [], GRADER_ERROR: []}
    for doc in docs:
        found[group(doc)].append(doc)
    return found


def batch_summary(docs: list[dict]) -> list[str]:
    """What a TA must know of a batch beyond its scores: who could not be graded, and why,
    and which points no one was graded on (tests skipped on this machine)."""
    by_group = groups(docs)
    faults, invalid = by_group[GRADER_ERROR], by_group[UNGRADABLE]
    lines = [f"{len(by_group[GRADED])} graded"
             + (f"; {len(faults)} with a GRADER ERROR (not the students' fault: grade them again with --resume)"
                if faults else "")
             + (f"; {len(invalid)} could not be graded (see the notes)" if invalid else "")]
    skipped = {}
    for doc in docs:
        if doc.get("not_graded"):
            skipped.setdefault((doc["not_graded"]["points"], doc["not_graded"]["reason"]), []).append(doc)
    for (points, reason), some in skipped.items():
        who = "every submission" if len(some) == len(docs) else f"{len(some)} submission(s)"
        lines.append(f"NOT GRADED: {points:g} point(s) of skipped tests in {who} ({reason}); "
                     "the scores above leave them out")
    return lines


# A cell starting with one of these is run as a formula by spreadsheets (OWASP, "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """A text cell that a spreadsheet shows as text and a terminal shows as is."""
    text = printable(text)
    return "'" + text if text.startswith(FORMULA_START) else text


@contextlib.contextmanager
def replaced_whole(path: Path) -> Iterator[Path]:
    """A file beside `path` to write, which replaces `path` whole once the block ends without an
    error: a reader (a TA, an LMS import, the next batch) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    yield tmp
    os.replace(tmp, path)


def write_grades_csv(docs: list[dict], path: Path) -> None:
    """A gradebook: one row per student, ready for an LMS import. Replaced whole (atomically),
    so it can be rewritten as results arrive and a reader never sees half of it."""
    with replaced_whole(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "name", "score", "max_score", "percent", "tests_passed", "tests", "mistakes",
                         "error", "points_not_graded"])
        for doc in docs:
            counted = [t for t in doc.get("tests", []) if t.get("outcome") != "skipped"]
            max_score = doc.get("max_score") or 0
            writer.writerow([
                csv_text(doc["student"]),
                csv_text(doc.get("name") or ""),
                f"{doc['score']:g}",
                f"{max_score:g}",
                f"{100 * doc['score'] / max_score:.1f}" if max_score else "",
                sum(t.get("outcome") == "passed" for t in counted),
                len(counted),
                csv_text("; ".join(doc.get("mistakes", []))),
                csv_text(doc.get("error", "")),
                f"{doc.get('not_graded', {}).get('points', 0):g}",
            ])


def load_results(results_dir: Path) -> list[dict]:
    """The results documents of a results folder (its ``<student>.json``), in student-id order.
    Files that are not results documents (unreadable, or without student, assignment, score and
    tests) are passed over."""
    docs = []
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (isinstance(doc, dict) and isinstance(doc.get("student"), str) and isinstance(doc.get("assignment"), str)
                and isinstance(doc.get("tests"), list) and isinstance(doc.get("score"), (int, float))):
            docs.append(doc)
    return sorted(docs, key=lambda d: d["student"])
