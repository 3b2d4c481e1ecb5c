"""Feedback for students: one Markdown file and one HTML page per results document.

The results document (``<student>.json``, docs/results.md) holds the names, messages and
expected values of the hidden tests, so it is never handed back. This module writes what
may be: ``feedback/<student>.md`` and ``feedback/<student>.html`` (one self-contained page:
inline CSS, no scripts, no external resources; it reads offline and prints).

What a student sees:

- the score, and the points of each part: public tests, hidden tests, tests shown after the
  due date;
- each public test with its result, points and message (and the ``after_due`` tests too,
  once ``after_due`` is given);
- the catalogued mistakes that those tests named, with their hints; the mistakes that hidden
  tests named only where the assignment's ``[feedback] hidden_mistakes = true`` (a course's
  choice), and then by name and hint alone;
- the limits hit (for hidden tests, a count), grader errors (in the grader's words: not the
  student's fault, the staff grade again), the reason an upload could not be graded, what
  was taken from the upload (``intake``, where ingest recorded it), and the seed.

A hidden test (and an ``after_due`` one before the due date) appears only in a total: its name,
node id, message, inputs and expected values never reach these files. The filter is
``_view``: it builds everything the renderers may print, and the renderers read nothing else
of the document.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from .config import Assignment
from .ingest import file_name, printable
from .report import LIMIT_OUTCOMES, STATUS_STYLE, replaced_whole

PUBLIC = "visible"
AFTER_DUE = "after_due_date"
SHOWN_ERRORS = ("invalid", "no_files")  # ingest wrote their output for the student
GRADER_FAULT = ("This test could not be graded because of a fault of the grader or its machine, not because of "
                "your code. The course staff will grade it again.")


# ------------------------------------------------------------------ what may be shown


@dataclass
class ShownTest:
    name: str
    outcome: str
    score: float
    max_score: float
    message: str


@dataclass
class ShownMistake:
    name: str
    hint: str
    target: str
    found_by: list[str] = field(default_factory=list)  # names of shown tests; empty: hidden tests only


@dataclass
class Part:
    label: str
    score: float
    max_score: float
    passed: int
    tests: int

    def line(self) -> str:
        return f"{self.label}: {self.score:g} / {self.max_score:g} points ({self.passed} of {self.tests} passed)"


@dataclass
class View:
    """Everything a feedback file shows, and nothing else: the renderers read only this."""

    assignment: str
    title: str
    student: str
    display_name: str | None
    state: str  # "graded", "invalid" (problem holds why) or "grader_error" (nothing could be graded)
    score: float
    max_score: float | None
    problem: str = ""
    parts: list[Part] = field(default_factory=list)
    sections: list[tuple[str, list[ShownTest]]] = field(default_factory=list)
    mistakes: list[ShownMistake] = field(default_factory=list)
    hidden_mistakes_withheld: bool = False  # hidden tests named mistakes that this course does not show
    warnings: list[str] = field(default_factory=list)  # grader errors: read first
    notes: list[str] = field(default_factory=list)  # skipped tests, after-due tests
    limits_hit: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    intake: dict = field(default_factory=dict)
    seed: int | None = None


def _is_shown(test: dict, after_due: bool) -> bool:
    return test.get("visibility") == PUBLIC or (after_due and test.get("visibility") == AFTER_DUE)


def _view(doc: dict, assignment: Assignment, after_due: bool) -> View:
    view = View(
        assignment=str(doc.get("assignment", assignment.name)),
        title=assignment.title,
        student=str(doc.get("student", "")),
        display_name=doc["name"] if isinstance(doc.get("name"), str) and doc["name"] else None,
        state="graded",
        score=float(doc.get("score") or 0),
        max_score=doc.get("max_score"),
        seed=doc["seed"] if type(doc.get("seed")) is int else None,
        intake=_intake(doc.get("intake")),
    )
    tests = doc.get("tests") or []
    error = doc.get("error")
    if not tests and error:
        if error in SHOWN_ERRORS:
            view.state, view.problem = "invalid", str(doc.get("output") or "no files found")
        else:
            # A whole-run grader error: its output ends with the judge's log, which may quote hidden tests.
            view.state = "grader_error"
        return view

    shown = [t for t in tests if _is_shown(t, after_due)]
    unshown = [t for t in tests if not _is_shown(t, after_due)]
    # ``student_output`` (what the student's code printed) is left out on purpose: hidden tests'
    # inputs reach that code, so what it printed can quote them.
    public = [t for t in shown if t.get("visibility") == PUBLIC]
    late = [t for t in shown if t.get("visibility") == AFTER_DUE]
    view.sections = [(heading, [_shown_test(t) for t in group])
                     for heading, group in (("Public tests", public), ("Tests shown after the due date", late))
                     if group]
    hidden = [t for t in unshown if t.get("visibility") != AFTER_DUE]
    pending = [t for t in unshown if t.get("visibility") == AFTER_DUE]
    for label, group in (("public tests", public), ("tests shown after the due date", late),
                         ("hidden tests", hidden), ("tests shown after the due date", pending)):
        counted = [t for t in group if t.get("outcome") != "skipped"]
        if counted:
            view.parts.append(Part(label, sum(float(t.get("score") or 0) for t in counted),
                                   sum(float(t.get("max_score") or 0) for t in counted),
                                   sum(t.get("outcome") == "passed" for t in counted), len(counted)))
    if pending:
        view.notes.append(f"{len(pending)} test(s) are shown in detail only after the due date; "
                          "their points are in the score above.")

    view.mistakes, view.hidden_mistakes_withheld = _mistakes(shown, unshown, assignment.feedback.hidden_mistakes)
    _grader_errors(view, shown, unshown)
    _skipped(view, tests, shown, doc)
    _limits(view, shown, unshown, doc, assignment)
    return view


def _shown_test(test: dict) -> ShownTest:
    outcome = str(test.get("outcome") or test.get("status") or "failed")
    message = GRADER_FAULT if outcome == "error" else str(test.get("output") or "")
    return ShownTest(str(test.get("name", "")), outcome, float(test.get("score") or 0),
                     float(test.get("max_score") or 0), message)


def _mistakes(shown: list[dict], unshown: list[dict], hidden_mistakes: bool) -> tuple[list[ShownMistake], bool]:
    found: dict[str, ShownMistake] = {}
    for test in shown:
        for m in test.get("mistakes") or []:
            entry = found.setdefault(m["name"], ShownMistake(m["name"], m.get("hint", ""), m.get("target", "")))
            entry.found_by.append(str(test.get("name", "")))
    withheld = False
    for test in unshown:
        for m in test.get("mistakes") or []:
            if m["name"] in found:
                continue  # a shown test named it too: already there, with the shown test's name
            if hidden_mistakes:
                found[m["name"]] = ShownMistake(m["name"], m.get("hint", ""), m.get("target", ""))
            else:
                withheld = True
    return list(found.values()), withheld


def _grader_errors(view: View, shown: list[dict], unshown: list[dict]) -> None:
    faults = [t for t in shown + unshown if t.get("outcome") == "error"]
    if not faults:
        return
    points = sum(float(t.get("max_score") or 0) for t in faults)
    view.warnings.append(
        f"Part of the grading failed for reasons that are not yours: {len(faults)} test(s) worth {points:g} point(s) "
        "could not be graded because of a fault of the grader or its machine. The course staff will grade them "
        "again, so this score may still go up.")


def _skipped(view: View, tests: list[dict], shown: list[dict], doc: dict) -> None:
    skipped = [t for t in tests if t.get("outcome") == "skipped"]
    if not skipped:
        return
    points = (doc.get("not_graded") or {}).get("points")
    worth = f" worth {points:g} point(s)" if isinstance(points, (int, float)) else ""
    if all(t.get("gpu") for t in skipped):
        why = "they run on a GPU, which the grading machine did not provide"
    elif all(t in shown for t in skipped):
        why = "the reasons are in the table below"
    else:
        why = "they could not run on the grading machine"
    view.notes.append(f"{len(skipped)} test(s){worth} were skipped ({why}); they count toward neither your score "
                      "nor the maximum.")


LIMIT_WORDS = {
    "call_seconds": ("each call into your code", "s"),
    "submission_seconds": ("all calls of your submission together", "s"),
    "cpu_seconds": ("CPU time", "s"),
    "memory_mb": ("memory", "MB"),
    "output_bytes": ("printed output", "bytes"),
}


def _limits(view: View, shown: list[dict], unshown: list[dict], doc: dict, assignment: Assignment) -> None:
    mine = [t for t in shown if t.get("outcome") in LIMIT_OUTCOMES]
    if mine:
        view.limits_hit.append(f"{len(mine)} shown test(s) stopped at a limit or were not run; their messages say "
                               "which: " + ", ".join(_split_name(str(t.get("name", "")))[0] for t in mine) + ".")
    crashed = sum(t.get("outcome") == "crashed" for t in unshown)
    budget = sum(t.get("outcome") == "budget" for t in unshown)
    if crashed:
        view.limits_hit.append(f"{crashed} hidden test(s) stopped because your code crashed or went over a limit "
                               "(time, memory, processes or output).")
    if budget:
        view.limits_hit.append(f"{budget} hidden test(s) were not run: your submission had used up its total time.")
    limits = doc.get("limits") if isinstance(doc.get("limits"), dict) else assignment.limits.as_dict()
    for key, (what, unit) in LIMIT_WORDS.items():
        if isinstance(limits.get(key), (int, float)):
            view.limits.append(f"{what}: {limits[key]:g} {unit}")


def _intake(intake) -> dict:
    """What ingest recorded of the upload, as strings: {layout, ids, matched, ignored, notes}."""
    if not isinstance(intake, dict):
        return {}
    shown: dict = {}
    for key in ("layout", "ids"):
        value = intake.get(key)
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        if value not in (None, ""):
            shown[key] = printable(str(value))
    if isinstance(intake.get("matched"), dict) and intake["matched"]:
        shown["matched"] = [(printable(str(k)), printable(str(v))) for k, v in intake["matched"].items()]
    for key in ("ignored", "notes"):
        if isinstance(intake.get(key), (list, tuple)) and intake[key]:
            shown[key] = [printable(str(v)) for v in intake[key]]
    return shown


def _split_name(name: str) -> tuple[str, str]:
    """A test's name and the first line of its docstring, which the judge joins with ": "."""
    test, sep, doc = name.partition(": ")
    return (test, doc) if sep and " " not in test else (name, "")


def _percent(view: View) -> str:
    return f"{100 * view.score / view.max_score:.0f}%" if view.max_score and view.state != "grader_error" else ""


def _heading(view: View) -> str:
    who = f"{view.display_name} ({view.student})" if view.display_name else view.student
    return printable(who)


def _points(view: View) -> str:
    if view.state == "grader_error":
        return "not graded yet"
    if view.max_score is None:
        return f"{view.score:g} points"
    return f"{view.score:g} / {view.max_score:g} points"


INVALID_ADVICE = ("Nothing of it was run. Mend what the message says and hand it in again (where your course "
                  "allows), or ask the course staff.")
WHOLE_RUN_FAULT = ("The grader could not run the tests on your submission. This is a fault of the grader or its "
                   "machine, not of your submission; the course staff will grade it again.")
HIDDEN_NOTE = ("Hidden tests check your code on inputs you have not seen. Only their total is shown here: "
               "their names, messages and values stay with the course staff.")
WITHHELD_NOTE = "Hidden tests also named known mistakes; this course does not show those."


# ------------------------------------------------------------------ Markdown


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")


def _md(text: str) -> str:
    """Text that Markdown shows as written: no emphasis, links or HTML, whatever it holds."""
    return _MD_SPECIAL.sub(r"\\\1", printable(str(text)))


def _md_code(text: str) -> str:
    """An inline code span, also safe in a table cell."""
    text = printable(str(text)).replace("|", "\\|")
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _md_block(text: str) -> str:
    """A fenced block that no line of ``text`` can close."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _markdown(view: View) -> str:
    out = [f"# {_md(view.title)}: feedback", "",
           f"Student: {_md(_heading(view))}  ", f"Assignment: {_md_code(view.assignment)}", ""]
    score = f"## Score: {_points(view)}"
    out += [score + (f" ({_percent(view)})" if _percent(view) else ""), ""]
    if view.state == "invalid":
        out += ["**Your submission could not be graded.** " + INVALID_ADVICE, "", _md_block(view.problem), ""]
    elif view.state == "grader_error":
        out += ["**" + WHOLE_RUN_FAULT + "**", ""]
    for warning in view.warnings:
        out += [f"**{_md(warning)}**", ""]
    if view.parts:
        out += [f"- {_md(part.line())}" for part in view.parts] + [""]
    out += [_md(note) + "\n" for note in view.notes]
    if any(part.label == "hidden tests" for part in view.parts):
        out += [_md(HIDDEN_NOTE), ""]
    for heading, tests in view.sections:
        out += [f"## {heading}", "", "| # | test | result | points |", "|---:|---|---|---:|"]
        for i, t in enumerate(tests, 1):
            test, doc = _split_name(t.name)
            named = _md_code(test) + (f": {_md(doc)}" if doc else "")
            out.append(f"| {i} | {named} | {STATUS_STYLE.get(t.outcome, ('?', ''))[0]} "
                       f"| {t.score:g} / {t.max_score:g} |")
        out.append("")
        for t in tests:
            if t.outcome != "passed" and t.message:
                out += [f"### {_md_code(_split_name(t.name)[0])}: {STATUS_STYLE.get(t.outcome, ('?', ''))[0]}", "",
                        _md_block(t.message), ""]
    if view.mistakes or view.hidden_mistakes_withheld:
        out += ["## Known mistakes found", ""]
        for m in view.mistakes:
            where = f" (in {_md_code(m.target)})" if m.target else ""
            out.append(f"- **{_md(m.name)}**{where}: {_md(m.hint)}")
            found = ", ".join(_md_code(name) for name in m.found_by) if m.found_by else "a hidden test"
            out.append(f"  Found by: {found}.")
        if view.hidden_mistakes_withheld:
            out.append(f"- {_md(WITHHELD_NOTE)}")
        out.append("")
    if view.limits_hit or (view.limits and view.state == "graded"):
        out += ["## Limits", ""]
        out += [f"- {_md(line)}" for line in view.limits_hit]
        if view.limits:
            out.append(f"- Limits of this assignment: {_md('; '.join(view.limits))}.")
        out.append("")
    if view.intake:
        out += ["## What was taken from your upload", ""]
        if "layout" in view.intake:
            out.append(f"- Layout: {_md(view.intake['layout'])}")
        if "ids" in view.intake:
            out.append(f"- Ids in the download: {_md(view.intake['ids'])}")
        if "matched" in view.intake:
            out.append("- Files graded (expected name: your file):")
            out += [f"  - {_md_code(want)}: {_md_code(got)}" for want, got in view.intake["matched"]]
        if "ignored" in view.intake:
            out.append("- Ignored: " + ", ".join(_md_code(name) for name in view.intake["ignored"]))
        out += [f"- {_md(note)}" for note in view.intake.get("notes", [])]
        out.append("")
    if view.seed is not None:
        out += ["## This run", "", _md_rerun(view), ""]
    return "\n".join(out).rstrip() + "\n"


def _md_rerun(view: View) -> str:
    command = f"autograder check {view.assignment} --seed {view.seed}"
    return (f"Seed of the random test inputs: {view.seed}. {_md_code(command)} runs the public tests on the "
            "same inputs.")


# ------------------------------------------------------------------ HTML


def _h(text) -> str:
    return html.escape(printable(str(text)), quote=True)


def _h_block(text: str) -> str:
    # Messages keep their line breaks; other control characters are escaped like anywhere else.
    return "\n".join(_h(line) for line in str(text).split("\n"))


CSS_CLASS = {"passed": "pass", "failed": "fail", "exception": "fail", "crashed": "fail", "budget": "fail",
             "not_implemented": "todo", "skipped": "skip", "error": "grader"}

STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f4; color: var(--ink);
       font: 15px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
main { max-width: 920px; margin: 24px auto; background: #fff; padding: 28px 36px 36px;
       border: 1px solid var(--line); border-radius: 8px; }
header .kicker { margin: 0; color: var(--muted); font-size: 13px; letter-spacing: .04em; text-transform: uppercase; }
h1 { margin: 4px 0 2px; font-size: 26px; line-height: 1.25; }
header .who { margin: 0; color: var(--muted); }
h2 { font-size: 19px; margin: 30px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
.score { display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: center; margin-top: 18px;
         padding: 16px 20px; background: var(--soft); border: 1px solid var(--line); border-radius: 8px; }
.score .big { font-size: 32px; font-weight: 700; white-space: nowrap; }
.score .big small { font-size: 17px; font-weight: 400; color: var(--muted); }
.score .pct { font-size: 20px; font-weight: 600; color: var(--muted); }
.score .bar { flex: 1 1 100%; height: 8px; background: #dde3e9; border-radius: 4px; overflow: hidden; }
.score .bar span { display: block; height: 100%; background: #2da44e; }
.score ul { flex: 1 1 100%; margin: 0; padding: 0; list-style: none; color: var(--ink); }
.score li { padding: 1px 0; }
.box { margin: 14px 0; padding: 12px 16px; border-radius: 6px; border: 1px solid var(--line); background: var(--soft); }
.box.warn { background: #fff8c5; border-color: #d4a72c; }
.box.stop { background: #ffebe9; border-color: #ff8182; }
.box p { margin: 0 0 6px; } .box p:last-child { margin: 0; }
.muted { color: var(--muted); }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.test { overflow-wrap: anywhere; }
td.test .id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
td.test .doc { color: var(--muted); font-size: 13px; }
tr.detail td { border-bottom: 1px solid var(--line); padding-top: 0; }
.label { display: inline-block; min-width: 62px; text-align: center; padding: 1px 8px; border-radius: 12px;
         font-size: 12px; font-weight: 700; letter-spacing: .03em; border: 1px solid transparent; }
.label.pass { color: #116329; background: #dafbe1; border-color: #4ac26b; }
.label.fail { color: #a40e26; background: #ffebe9; border-color: #ff8182; }
.label.todo { color: #7d4e00; background: #fff8c5; border-color: #d4a72c; }
.label.skip { color: #59636e; background: #f6f8fa; border-color: #d1d9e0; }
.label.grader { color: #6639ba; background: #fbefff; border-color: #c297ff; }
pre { margin: 4px 0 6px; padding: 10px 12px; background: var(--soft); border: 1px solid var(--line);
      border-left: 3px solid #ff8182; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere;
      font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.todo { border-left-color: #d4a72c; } pre.skip { border-left-color: #d1d9e0; }
pre.grader { border-left-color: #c297ff; }
pre.problem { border-left-color: #cf222e; font-size: 14px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);
       padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
ul.mistakes { padding-left: 20px; } ul.mistakes li { margin-bottom: 10px; }
ul.mistakes .name { font-weight: 600; }
footer { margin-top: 30px; font-size: 12px; color: var(--muted); }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { margin: 0; max-width: none; border: 0; padding: 0; }
  .score, .box, pre, th, .label { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  tr, pre, .box, li { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""


def _html(view: View) -> str:
    pct = _percent(view)
    body = ['<header>', f'<p class="kicker">{_h(view.assignment)} · feedback</p>', f'<h1>{_h(view.title)}</h1>',
            f'<p class="who">{_h(_heading(view))}</p>', '</header>']
    if view.state != "grader_error" and view.max_score is not None:
        big = f"{view.score:g} <small>/ {view.max_score:g} points</small>"
    else:
        big = _h(_points(view))
    score = [f'<section class="score"><div class="big">{big}</div>']
    if pct:
        score.append(f'<div class="pct">{pct}</div>')
        fill = max(0.0, min(100.0, 100 * view.score / view.max_score))
        score.append(f'<div class="bar" aria-hidden="true"><span style="width:{fill:.1f}%"></span></div>')
    if view.parts:
        score.append("<ul>" + "".join(f"<li>{_h(part.line())}</li>" for part in view.parts) + "</ul>")
    score.append("</section>")
    body += score
    if view.state == "invalid":
        body.append(f'<div class="box stop"><p><strong>Your submission could not be graded.</strong> '
                    f'{_h(INVALID_ADVICE)}</p><pre class="problem">{_h_block(view.problem)}</pre></div>')
    elif view.state == "grader_error":
        body.append(f'<div class="box warn"><p><strong>{_h(WHOLE_RUN_FAULT)}</strong></p></div>')
    for warning in view.warnings:
        body.append(f'<div class="box warn"><p><strong>{_h(warning)}</strong></p></div>')
    notes = list(view.notes)
    if any(part.label == "hidden tests" for part in view.parts):
        notes.append(HIDDEN_NOTE)
    if notes:
        body.append('<div class="box">' + "".join(f"<p>{_h(n)}</p>" for n in notes) + "</div>")
    for heading, tests in view.sections:
        rows = []
        for i, t in enumerate(tests, 1):
            label = STATUS_STYLE.get(t.outcome, ("?", ""))[0]
            test, doc = _split_name(t.name)
            about = f'<div class="doc">{_h(doc)}</div>' if doc else ""
            kind = CSS_CLASS.get(t.outcome, "fail")
            rows.append(f'<tr><td class="num">{i}</td><td class="test"><span class="id">{_h(test)}</span>{about}</td>'
                        f'<td><span class="label {kind}">{_h(label)}</span></td>'
                        f'<td class="num">{t.score:g} / {t.max_score:g}</td></tr>')
            if t.outcome != "passed" and t.message:
                rows.append(f'<tr class="detail"><td></td><td colspan="3"><pre class="{kind}">'
                            f'{_h_block(t.message)}</pre></td></tr>')
        body.append(f'<section><h2>{_h(heading)}</h2><table><thead><tr><th class="num">#</th><th>test</th>'
                    f'<th>result</th><th class="num">points</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
                    "</section>")
    if view.mistakes or view.hidden_mistakes_withheld:
        items = []
        for m in view.mistakes:
            where = f" <span class=\"muted\">in</span> <code>{_h(m.target)}</code>" if m.target else ""
            found = ", ".join(f"<code>{_h(name)}</code>" for name in m.found_by) if m.found_by else "a hidden test"
            items.append(f'<li><span class="name">{_h(m.name)}</span>{where}<br>{_h(m.hint)}'
                         f'<br><span class="muted">Found by: {found}.</span></li>')
        if view.hidden_mistakes_withheld:
            items.append(f'<li class="muted">{_h(WITHHELD_NOTE)}</li>')
        body.append(f'<section><h2>Known mistakes found</h2><ul class="mistakes">{"".join(items)}</ul></section>')
    if view.limits_hit or (view.limits and view.state == "graded"):
        items = [f"<li>{_h(line)}</li>" for line in view.limits_hit]
        if view.limits:
            items.append(f'<li class="muted">Limits of this assignment: {_h("; ".join(view.limits))}.</li>')
        body.append(f'<section><h2>Limits</h2><ul>{"".join(items)}</ul></section>')
    if view.intake:
        items = []
        if "layout" in view.intake:
            items.append(f"<li>Layout: {_h(view.intake['layout'])}</li>")
        if "ids" in view.intake:
            items.append(f"<li>Ids in the download: {_h(view.intake['ids'])}</li>")
        if "matched" in view.intake:
            pairs = "".join(f"<tr><td><code>{_h(want)}</code></td><td><code>{_h(got)}</code></td></tr>"
                            for want, got in view.intake["matched"])
            items.append("<li>Files graded:<table><thead><tr><th>expected</th><th>your file</th></tr></thead>"
                         f"<tbody>{pairs}</tbody></table></li>")
        if "ignored" in view.intake:
            items.append("<li>Ignored: " + ", ".join(f"<code>{_h(n)}</code>" for n in view.intake["ignored"])
                         + "</li>")
        items += [f"<li>{_h(note)}</li>" for note in view.intake.get("notes", [])]
        body.append(f'<section><h2>What was taken from your upload</h2><ul>{"".join(items)}</ul></section>')
    if view.seed is not None:
        command = f"autograder check {view.assignment} --seed {view.seed}"
        body.append(f"<section><h2>This run</h2><p>Seed of the random test inputs: {view.seed}. "
                    f"<code>{_h(command)}</code> runs the public tests on the same inputs.</p></section>")
    body.append('<footer>Written by the course autograder. This page needs no network and runs no scripts.</footer>')
    title = f"{view.assignment}: feedback for {_heading(view)}"
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            # Defence in depth: even text that escaped escaping could load or run nothing.
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_h(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


# ------------------------------------------------------------------ files


def student_feedback(doc: dict, assignment: Assignment, after_due: bool = False) -> tuple[str, str]:
    """(Markdown, HTML) feedback for one results document; ``after_due``: the due date has passed,
    so the tests marked ``after_due`` are shown like the public ones."""
    view = _view(doc, assignment, after_due)
    return _markdown(view), _html(view)


def write_feedback(out_dir: Path, docs: list[dict], assignment: Assignment, after_due: bool = False) -> list[Path]:
    """Write ``out_dir/feedback/<file name>.md`` and ``.html`` for each document (replacing the
    files there); returns the paths written."""
    folder = Path(out_dir) / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for doc in docs:
        markdown, page = student_feedback(doc, assignment, after_due)
        stem = file_name(str(doc["student"]))
        for suffix, text in ((".md", markdown), (".html", page)):
            path = folder / f"{stem}{suffix}"
            with replaced_whole(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
            written.append(path)
    return written

