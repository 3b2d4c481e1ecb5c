"""The ``autograder`` command: check (students), grade and samples (TAs), release and validate (instructors)."""
from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from . import report
from .config import find_course_root, list_assignments, load_assignment, solution_assignment

out = Console(soft_wrap=True)  # paths and messages whole (the terminal wraps them), so they can be copied
# Bound to the process's stderr now: while a judge runs in this process (-j 1), sys.stderr is
# redirected into the judge's log, and a console that looked it up on each write would draw the
# progress bar there.
err = Console(file=sys.stderr)

ISOLATION = click.Choice(["fork", "spawn", "none"])


@contextlib.contextmanager
def _said_plainly(*errors: type[Exception]):
    """An error whose message already says what to do ends the command with that message alone."""
    try:
        yield
    except errors as exc:
        raise click.ClickException(str(exc)) from None


def _course(course: str | None) -> Path:
    root = Path(course).resolve() if course else find_course_root()
    if root is None or not (root / "solutions").is_dir():
        raise click.ClickException(
            "no course found: run this inside the course repository (the folder holding solutions/), "
            "or pass --course / set AUTOGRADER_COURSE"
        )
    return root


@click.group()
@click.version_option(package_name="dl-autograder")
def main() -> None:
    """Autograded deep-learning exercises."""


# ------------------------------------------------------------------ students


@main.command()
@click.argument("assignment")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--isolation", type=ISOLATION, help="how your code is isolated (default: fork on Linux, else spawn)")
@click.option("--seed", type=int, help="seed for the random test inputs")
def check(assignment: str, path: str, isolation: str | None, seed: int | None) -> None:
    """Run the public tests of ASSIGNMENT on your working copy at PATH (default: here)."""
    from .submit import public_results

    folder, found = _working_copy(path, assignment)
    with err.status("running the public tests..."):
        doc = public_results(found, folder, isolation, seed)
    if doc.get("error") and not doc["tests"]:  # nothing ran; a grader error in some tests is shown below
        raise click.ClickException(doc["output"])
    sys.exit(1 if _show_public(doc, found) else 0)


def _working_copy(path: str, assignment: str | None):
    """The student's assignment folder at PATH and its assignment (named ASSIGNMENT, when given)."""
    folder = Path(path).resolve()
    with _said_plainly(FileNotFoundError, ValueError):
        found = load_assignment(folder)
    if assignment is not None and found.name != assignment:
        raise click.ClickException(f"{folder} holds the assignment {found.name!r}, not {assignment!r}")
    if not found.tests_dir.is_dir():
        raise click.ClickException(f"{found.tests_dir} is missing: download the assignment folder again")
    return folder, found


def _show_public(doc: dict, found) -> bool:
    """Print a public run as `check` does; True when a test did not pass (or none ran)."""
    from .environment import describe, mismatches, versions

    assignment = found.name
    out.print(report.check_table(doc))
    report.print_feedback(out, doc)
    _print_student_output(doc.get("student_output") or "")
    out.print(f"\n[dim]isolation: {escape(report.isolation_line(doc))}[/dim]")
    out.print(f"[dim]seed: {doc['seed']} (autograder check {assignment} --seed {doc['seed']} repeats these inputs)[/dim]")
    # Read after grading: torch is imported by then, so this costs nothing.
    here = versions()
    out.print(f"[dim]environment: {escape(describe(here))}[/dim]")
    differences = mismatches(here, found.environment)
    if differences:
        # A warning, not a failure: the code may well be right, but it will be graded elsewhere.
        out.print("\n[bold yellow]environment: yours differs from the grader's[/bold yellow] "
                  "[yellow](a warning; it does not change the result above)[/yellow]")
        for sentence in differences:
            out.print(f"[yellow]- {escape(sentence)}[/yellow]")
    failed = [t for t in doc["tests"] if t["outcome"] not in ("passed", "skipped")]
    return bool(failed or not doc["tests"])


SHOWN_OUTPUT_LINES, SHOWN_OUTPUT_CHARS = 40, 4000


def _print_student_output(text: str) -> None:
    """What the student's own code printed (all tests together, already cleaned and capped by the
    judge): its last SHOWN_OUTPUT_LINES lines, at most SHOWN_OUTPUT_CHARS characters, with a note
    of what was cut. Nothing when it printed nothing."""
    text = text.rstrip()
    if not text.strip():
        return
    lines = text.splitlines()
    shown = "\n".join(lines[-SHOWN_OUTPUT_LINES:])
    if len(shown) > SHOWN_OUTPUT_CHARS:
        shown = shown[-SHOWN_OUTPUT_CHARS:]
        if "\n" in shown:
            shown = shown.split("\n", 1)[1]  # start on a whole line
    cut_lines = len(lines) - (shown.count("\n") + 1)
    cut_chars = len("\n".join(lines)) - len(shown)
    out.print("\nyour code printed:", style="bold")
    if cut_chars > 0:
        out.print(f"[dim]... {cut_lines} earlier line(s) ({cut_chars} characters) cut: the last "
                  f"{SHOWN_OUTPUT_LINES} lines, at most {SHOWN_OUTPUT_CHARS} characters, are shown[/dim]")
    out.print(Text(shown))


@main.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="the zip to write (default: PATH/<assignment>-submission.zip)")
@click.option("--isolation", type=ISOLATION, help="how your code is isolated (default: fork on Linux, else spawn)")
@click.option("--seed", type=int, help="seed for the random test inputs")
def submit(path: str, out_file: Path | None, isolation: str | None, seed: int | None) -> None:
    """Get your working copy at PATH (default: here) ready to hand in: check that the assignment's modules
    are there and named right, run the public tests, and write <assignment>-submission.zip with exactly
    the files to upload. Exit 0: written, every public test passed; 1: written, some did not pass;
    2: not written (a module is missing or misnamed)."""
    from .submit import SubmitError, check_modules, public_results, write_zip

    folder, found = _working_copy(path, None)
    try:
        check_modules(found, folder)
    except SubmitError as exc:
        err.print(Text(f"Not submitted: {exc}.", style="bold red"))
        sys.exit(2)
    with err.status("running the public tests..."):
        doc = public_results(found, folder, isolation, seed)
    if doc.get("error") and not doc["tests"]:
        err.print(Text(f"The public tests could not run: {doc['output']}", style="yellow"))
        failed = True
    else:
        failed = _show_public(doc, found)
    written = write_zip(found, folder, out_file)
    out.print(f"\nwrote {written}: {', '.join(f'{m}.py' for m in found.modules)}. Upload this file.", markup=False)
    if failed:
        err.print(Text("Some public tests did not pass. The zip is written all the same (partial work can earn "
                       "points); fix what you can and run `autograder submit` again before the deadline.",
                       style="yellow"))
    sys.exit(1 if failed else 0)


# ------------------------------------------------------------------ TAs


def _grade(assignment: str, submissions_dir: Path, out_dir: Path, course: Path, jobs: int, seed, isolation,
           dask, resume, canary: bool = False, only: tuple[str, ...] = (), layout: str | None = None) -> list[dict]:
    from .grade import CanaryFailed, grade_batch, previous_results, suite_fingerprint
    from .ingest import IntakeRefused, discover

    a = solution_assignment(course, assignment)
    if canary:
        from .environment import mismatches, versions

        for sentence in mismatches(versions(), a.environment):  # the canary decides; this says why it may fail
            err.print(Text(f"note: this machine is outside the course's pins: {sentence}", style="yellow"))
    out_dir = Path(out_dir).resolve()
    with _said_plainly(IntakeRefused):
        subs = discover(submissions_dir, out_dir / ".staging", a.modules, layout)
    if not subs:
        raise click.ClickException(
            f"no submissions in {submissions_dir}: expected a download of Canvas, Moodle, Gradescope or nbgrader, "
            "or one folder or .zip per student (docs/tas.md)")
    strays = sorted({p.stem for p in out_dir.glob("*.json")} - {s.file_name for s in subs})
    if strays:
        # feedback, the class report and the exports read every result in the folder.
        shown = ", ".join(strays[:5]) + (f" and {len(strays) - 5} more" if len(strays) > 5 else "")
        err.print(Text(f"note: {len(strays)} result file(s) in {out_dir} belong to no submission of this download "
                       f"({shown}); they are left as they are, and feedback, the class report and the exports "
                       "read them too: remove them, or grade into a new folder.", style="yellow"))
    graded: dict[str, dict] = {}  # every result of the class so far, by student
    todo = subs
    if only:
        todo = _only(subs, only, submissions_dir)
        graded = _results_of([s for s in subs if s not in todo], out_dir)
    elif resume:
        kept, again = previous_results(subs, out_dir, suite_fingerprint(a), seed)
        err.print(_resume_line(len(subs), kept, again))
    counts = {"zeros": 0, "errors": 0, "grader errors": 0}
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(bar_width=16), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[counts]}", markup=False),
        console=err, transient=False,
    )

    def on_result(doc: dict) -> None:
        if doc.get("error") == "grader_error":
            counts["grader errors"] += 1
        elif doc.get("error"):
            counts["errors"] += 1
        elif not doc["score"]:
            counts["zeros"] += 1
        progress.update(bar, advance=1, counts=", ".join(f"{k} {v}" for k, v in counts.items()))
        # Rewritten as each result arrives: a batch killed half-way keeps every grade so far.
        graded[doc["student"]] = doc
        report.write_grades_csv([graded[s.student] for s in subs if s.student in graded], out_dir / "grades.csv")

    if not dask:
        from .grade import default_jobs

        judges = jobs or default_jobs(len(todo))
        err.print(f"{len(todo)} submission(s), {judges} judge(s)"
                  + ("; each grades the reference first (the canary)" if canary else ""), highlight=False)
    with progress:
        bar = progress.add_task(f"grading {assignment}", total=len(todo), counts="")
        try:
            grade_batch(
                a, todo, out_dir, reference_dir=a.folder, jobs=jobs, seed=seed, isolation=isolation, dask=dask,
                resume=resume, canary=canary, on_result=on_result,
            )
        except CanaryFailed as exc:
            progress.stop()
            err.print(Text("The batch was stopped: the reference failed its canary.\n", style="bold red")
                      + Text(str(exc)))
            err.print(f"{len(graded)} of {len(subs)} submission(s) were graded, on machines whose canary passed; "
                      "their results are kept. Mend the machine (or the suite), then run the same command with "
                      "--resume.")
            sys.exit(3)
        except KeyboardInterrupt:
            progress.stop()
            err.print(f"stopped: {len(graded)} of {len(subs)} result(s) are in {out_dir} (grades.csv lists them). "
                      "Run the same command with --resume to grade the rest.")
            sys.exit(130)
    docs = [graded[s.student] for s in subs if s.student in graded]
    report.write_grades_csv(docs, out_dir / "grades.csv")  # once more: the ungradable ones' max scores are known now
    return docs


def _only(subs: list, only: tuple[str, ...], submissions_dir: Path) -> list:
    """The submissions --only names, by student id or results file name; unknown names are an error."""
    chosen = [s for s in subs if s.student in only or s.file_name in only]
    unknown = set(only) - {s.student for s in chosen} - {s.file_name for s in chosen}
    if unknown:
        raise click.ClickException(f"--only: no submission of {', '.join(sorted(unknown))} in {submissions_dir}")
    return chosen


def _results_of(subs: list, out_dir: Path) -> dict[str, dict]:
    """The results already in out_dir of these submissions (the class beside an --only regrade)."""
    wanted = {sub.student for sub in subs}
    return {doc["student"]: doc for doc in report.load_results(out_dir) if doc["student"] in wanted}


def _resume_line(total: int, kept: dict, again: dict[str, str]) -> str:
    """What --resume does: e.g. `resume: 37 results kept; graded again: 2 (the suite or the engine
    changed since), 1 (a grader error); 3 not graded yet`."""
    reasons: dict[str, int] = {}
    for reason in again.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    line = f"resume: {len(kept)} result(s) kept"
    if reasons:
        line += "; graded again: " + ", ".join(f"{n} ({reason})" for reason, n in reasons.items())
    return line + f"; {total - len(kept) - len(again)} not graded yet"


def _seed_options(command):
    """--seed and --seed-per-student, shared by grade and samples."""
    command = click.option("--seed-per-student", is_flag=True,
                           help="a fresh seed per student instead of one for the whole class")(command)
    return click.option("--seed", type=int,
                        help="seed of the random test inputs, one for every submission (default: drawn once, "
                             "recorded in each result and printed)")(command)


def _batch_seed(seed: int | None, per_student: bool, out_dir: Path, resume: bool = False) -> int | None:
    from .grade import class_seed

    if seed is not None and per_student:
        raise click.UsageError("--seed and --seed-per-student exclude each other")
    return class_seed(seed, per_student, out_dir, resume)


def _seed_line(seed: int | None) -> str:
    if seed is None:
        return "seeds: one per student (recorded in each result)"
    return f"seed: {seed}, for every submission (--seed {seed} repeats these inputs)"


@main.command()
@click.argument("assignment")
@click.argument("submissions_dir", type=click.Path(exists=True, path_type=Path))  # a folder, or the download's .zip
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="where to write <student>.json and grades.csv")
@click.option("--jobs", "-j", default=0, help="judges run in parallel (default: one per 12 submissions, at most "
                                              "one per core; 1 grades in this process)")
@_seed_options
@click.option("--isolation", type=ISOLATION)
@click.option("--dask", metavar="ADDRESS", help="run the judges on a Dask distributed scheduler")
@click.option("--resume", is_flag=True, help="keep the results already in --out, except those with an error or "
                                               "graded by another version of the suite")
@click.option("--only", multiple=True, metavar="ID",
              help="grade only this student (repeat the option for several) into the results already in --out")
@click.option("--no-canary", is_flag=True, help="do not grade the reference first on each process that grades")
@click.option("--layout", type=click.Choice(["canvas", "moodle", "gradescope", "nbgrader", "folders"]),
              help="read SUBMISSIONS_DIR as this platform's download (default: recognised from its names)")
@click.option("--after-due", is_flag=True, help="the due date has passed: the feedback shows the after_due tests "
                                                  "in full too")
@click.option("--no-report", is_flag=True, help="do not write report.html (a few seconds; `autograder report` "
                                                "writes it later)")
@click.option("--course", help="the course folder (default: found from here)")
def grade(assignment, submissions_dir, out_dir, jobs, seed, seed_per_student, isolation, dask, resume, only,
          no_canary, layout, after_due, no_report, course) -> None:
    """Grade every submission in SUBMISSIONS_DIR (a class download of Canvas, Moodle, Gradescope or nbgrader,
    or one folder or .zip per student id)."""
    if only and resume:
        raise click.UsageError("--only and --resume exclude each other")
    seed = _batch_seed(seed, seed_per_student, out_dir, resume or bool(only))
    docs = _grade(assignment, submissions_dir, out_dir, _course(course), jobs, seed, isolation, dask, resume,
                  canary=not no_canary, only=only, layout=layout)
    out.print(report.gradebook_table(docs, f"{assignment}: {len(docs)} submissions"))
    out_dir = Path(out_dir).resolve()
    _hand_back(out_dir, docs, _course(course), assignment, after_due, report_too=not no_report)
    out.print(f"results: {out_dir}/<student>.json and grades.csv; for the students: {out_dir}/feedback/"
              + ("" if no_report else f"; for the staff: {out_dir}/report.html"))
    out.print(_seed_line(seed))


def _hand_back(out_dir: Path, docs: list[dict], course: Path, assignment: str, after_due: bool,
               report_too: bool = True) -> None:
    """What a batch leaves beside the results: each student's feedback and the class report."""
    from .feedback import write_feedback

    a = solution_assignment(course, assignment)
    write_feedback(out_dir, docs, a, after_due=after_due)
    if report_too:
        _write_class_report(out_dir, docs, course, a)


def _write_class_report(out_dir: Path, docs: list[dict], course: Path, a) -> Path:
    """report.html, with the reference and the released stub as what similar code may share."""
    from .classreport import write_class_report

    stub = course / "assignments" / a.folder.name
    with err.status(f"writing the class report of {len(docs)} submission(s)..."):
        return write_class_report(out_dir, docs, a, a.folder, stub if stub.is_dir() else None)


@main.command()
@click.argument("names", nargs=-1)
@click.option("--out", "out_dir", default="results", show_default=True, type=click.Path(path_type=Path))
@click.option("--jobs", "-j", default=0)
@_seed_options
@click.option("--unpack", "unpack_dir", type=click.Path(file_okay=False, path_type=Path),
              help="write each sample's full files to UNPACK_DIR/<name>/<sample>/ and grade nothing "
                   "(a sample stored as a patch becomes the files a student would hand in)")
@click.option("--course", help="the course folder (default: found from here)")
def samples(names: tuple[str, ...], out_dir: Path, jobs: int, seed: int | None, seed_per_student: bool,
            unpack_dir: Path | None, course: str | None) -> None:
    """Grade the shipped sample submissions of every assignment (or of NAMES) and print the gradebooks."""
    from .samples import SampleError, check_expectations, load_expectations, sample_names, unpack_samples

    root = _course(course)
    known = list_assignments(root)
    unknown = [n for n in names if n not in known]
    if unknown:
        err.print(f"[red]no such assignment: {escape(', '.join(unknown))}[/red] (there are: {escape(', '.join(known))})")
        sys.exit(2)
    if unpack_dir is not None:
        for name in names or known:
            a = solution_assignment(root, name)
            with _said_plainly(SampleError, OSError):
                folder = unpack_samples(a, unpack_dir / name)
            out.print(f"{name}: {len(sample_names(a))} samples in {folder.resolve()}")
        return
    seed = _batch_seed(seed, seed_per_student, out_dir)
    problems = []
    for name in names or known:
        a = solution_assignment(root, name)
        with tempfile.TemporaryDirectory(prefix=f"autograder-samples-{name}-") as tmp:
            with _said_plainly(SampleError):
                unpack_samples(a, Path(tmp))
            docs = _grade(name, Path(tmp), out_dir / name, root, jobs, seed, None, None, False)
        out.print(report.gradebook_table(docs, f"{name}: sample submissions"))
        problems += [f"{name}/{p}" for p in check_expectations(docs, load_expectations(a.samples_dir))]
    out.print(_seed_line(seed))
    if problems:
        err.print("[red]samples that did not score as expected:[/red]\n" + escape("\n".join(problems)))
        sys.exit(1)
    out.print(f"every sample scored as expected; results in {out_dir.resolve()}")


@main.command()
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--after-due", is_flag=True, help="the due date has passed: show the after_due tests in full too")
@click.option("--course", help="the course folder (default: found from here)")
def feedback(results_dir: Path, after_due: bool, course: str | None) -> None:
    """Write RESULTS_DIR/feedback/<student>.md and .html for every results document in RESULTS_DIR:
    what students may see (public tests in full, hidden tests as a total only)."""
    from .feedback import write_feedback

    docs, name = _class_results(results_dir)
    written = write_feedback(results_dir, docs, _assignment_named(_course(course), name), after_due=after_due)
    folder = (results_dir / "feedback").resolve()
    out.print(f"feedback for {len(docs)} student(s): {len(written)} files in {folder} "
              f"(<student>.md and .html{'; after_due tests shown' if after_due else ''})", markup=False)


def _class_results(results_dir: Path) -> tuple[list[dict], str]:
    """The results documents of RESULTS_DIR and the one assignment they are of."""
    docs = report.load_results(results_dir)
    if not docs:
        raise click.ClickException(f"no results documents (<student>.json) in {results_dir}: "
                                   "give the --out folder of `autograder grade`")
    names = sorted({d["assignment"] for d in docs})
    if len(names) > 1:
        raise click.ClickException(f"{results_dir} holds results of several assignments ({', '.join(names)}): "
                                   "grade each into a folder of its own")
    return docs, names[0]


def _assignment_named(root: Path, name: str):
    """The assignment of solutions/ whose name is ``name`` (the folder's, or assignment.toml's)."""
    from .config import CONFIG_NAME

    try:
        return solution_assignment(root, name)
    except (FileNotFoundError, ValueError):
        found = [load_assignment(p.parent) for p in sorted((root / "solutions").glob(f"*/{CONFIG_NAME}"))]
        found = [a for a in found if a.name == name]
        if not found:
            raise click.ClickException(f"the results are of assignment {name!r}, which is not in "
                                       f"{root / 'solutions'}") from None
        return found[0]


@main.command("report")
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--course", help="the course folder (default: found from here)")
def class_report(results_dir: Path, course: str | None) -> None:
    """Write RESULTS_DIR/report.html, the class report: scores, pass rate per test, catalogued mistakes,
    crashes and time-outs, time per submission, and near-identical submissions (for the course staff)."""
    docs, name = _class_results(results_dir)
    root = _course(course)
    path = _write_class_report(results_dir, docs, root, _assignment_named(root, name))
    out.print(f"class report: {path.resolve()}", markup=False, soft_wrap=True)


@main.command("export")
@click.argument("platform", type=click.Choice(["canvas", "moodle", "nbgrader", "gradescope", "student"]))
@click.argument("source", metavar="RESULTS_DIR|NAME")
@click.option("--out", "out_file", type=click.Path(path_type=Path),
              help="canvas, moodle: the CSV file to write; gradescope: the autograder .zip; student: a new "
                   "folder, or a .zip")
@click.option("--points", type=click.FloatRange(min=0, min_open=True),
              help="the assignment's maximum on the platform: grades are scaled to it (default: the points as "
                   "graded)")
@click.option("--assignment-column", metavar="HEADER",
              help="canvas: the assignment's column header exactly as your Canvas gradebook export shows it, "
                   "e.g. 'Backprop (12345)' (default: the assignment's title, which Canvas matches by title)")
@click.option("--no-comments", is_flag=True, help="moodle: leave out the Feedback comments column")
@click.option("--seed", type=int, help="gradescope: the class's seed of the random test inputs (default: drawn now, "
                                      "recorded in the bundle)")
@click.option("--no-canary", is_flag=True, help="gradescope: do not grade the reference before each submission")
@click.option("--gradebook", metavar="URL", help="nbgrader: the gradebook database, e.g. sqlite:///course/gradebook.db")
@click.option("--nbgrader-assignment", metavar="NAME",
              help="nbgrader: the assignment in the gradebook that holds the scores (default: "
                   "<assignment>-autograder, one of its own)")
@click.option("--course", help="the course folder (default: found from here)")
def export_grades(platform: str, source: str, out_file: Path | None, points: float | None,
                  assignment_column: str | None, no_comments: bool, seed: int | None, no_canary: bool,
                  gradebook: str | None, nbgrader_assignment: str | None, course: str | None) -> None:
    """Write what a platform imports.

    \b
    canvas, moodle RESULTS_DIR --out FILE.csv: the gradebook import file, from results graded from
      that platform's own download (it carries the students' ids);
    nbgrader RESULTS_DIR --gradebook URL: the scores into nbgrader's gradebook;
    gradescope NAME --out NAME.zip: a Gradescope autograder of assignment NAME;
    student NAME --out DIR|ZIP: the student release of NAME (the grader without solutions, the
      assignment folder, install instructions)."""
    from datetime import datetime, timezone

    from .export import ExportRefused, canvas_csv, moodle_csv

    if platform in ("gradescope", "student"):
        _ship(platform, source, out_file, seed, not no_canary, course)
        return
    results_dir = Path(source)
    if not results_dir.is_dir():
        raise click.BadParameter(f"{source} is not a folder of results", param_hint="RESULTS_DIR")
    if platform == "nbgrader":
        _export_nbgrader(results_dir, gradebook, nbgrader_assignment)
        return
    if out_file is None:
        raise click.UsageError(f"export {platform} needs --out FILE.csv")
    docs, name = _class_results(results_dir)
    with _said_plainly(ExportRefused):
        if platform == "canvas":
            column = assignment_column or _assignment_named(_course(course), name).title
            done = canvas_csv(docs, column, out_file, points=points)
        else:
            # The time of grading: Moodle keeps a grade changed by hand after it.
            graded = max(p.stat().st_mtime for p in Path(results_dir).glob("*.json"))
            done = moodle_csv(docs, out_file, points=points, modified=datetime.fromtimestamp(graded, timezone.utc),
                              comments=not no_comments)
    out.print(f"{platform}: {len(done.written)} grade(s) written to {done.path.resolve()}", markup=False)
    _say_left_out(done.left_out)
    if platform == "canvas" and not assignment_column:
        err.print(Text(f"note: the column is named {column!r}; Canvas matches it to the assignment of that title, "
                       "or makes a new assignment. Pass --assignment-column with the header your Canvas "
                       "gradebook export shows (e.g. 'Backprop (12345)') to be sure.", style="yellow"))
    if points is None and done.written:
        graded = " or ".join(f"{m:g}" for m in done.maxima) or "?"
        if platform == "moodle":
            err.print(Text(f"warning: no --points: the grades are out of {graded}, the points as graded. Moodle "
                           "skips every grade above the assignment's \"Maximum grade\" (100 unless changed), and "
                           "takes the others on its own scale: pass that maximum grade as --points (e.g. "
                           "--points 100) to scale the grades to it.", style="yellow"))
        else:
            err.print(Text(f"warning: no --points: the grades are out of {graded}, the points as graded. Canvas "
                           "takes them as they are against the assignment's \"Points possible\": pass those points "
                           "as --points (e.g. --points 100) to scale the grades to them.", style="yellow"))


def _ship(platform: str, name: str, out_file: Path | None, seed: int | None, canary: bool, course: str | None) -> None:
    """export gradescope / export student."""
    from .ship import ShipError, export_gradescope, export_student

    if out_file is None:
        raise click.UsageError(f"export {platform} needs --out ({name}.zip" + (")" if platform == "gradescope"
                                                                                else " or a new folder)"))
    root = _course(course)
    with _said_plainly(ShipError, FileNotFoundError, ValueError):
        with err.status(f"building the {platform} export of {name}..."):
            if platform == "gradescope":
                done = export_gradescope(root, name, out_file, seed=seed, canary=canary)
            else:
                done = export_student(root, name, out_file)
    out.print(f"{platform}: {len(done.files)} files written to {done.path.resolve()} (engine {done.wheel})",
              markup=False)
    if platform == "gradescope":
        out.print(f"seed: {done.seed}, for every submission", markup=False)
    for note in done.notes:
        out.print(f"note: {note}", markup=False)


def _export_nbgrader(results_dir: Path, gradebook: str | None, assignment: str | None) -> None:
    from .export import ExportRefused, nbgrader_gradebook

    if not gradebook:
        raise click.UsageError("export nbgrader needs --gradebook URL (e.g. sqlite:///course/gradebook.db)")
    docs, name = _class_results(results_dir)
    assignment = assignment or f"{name}-autograder"
    with _said_plainly(ExportRefused):
        done = nbgrader_gradebook(docs, gradebook, assignment)
    out.print(f"nbgrader: {len(done.written)} score(s) written to {gradebook} (assignment {assignment!r}, "
              "notebook 'autograder', grade cell 'autograder')", markup=False)
    _say_left_out(done.left_out)


def _say_left_out(left_out: list[tuple[str, str]]) -> None:
    """The students an export could not write, and why."""
    from .ingest import printable

    for student, why in left_out:
        err.print(Text(f"left out: {printable(student)}: {why}", style="yellow"))


# ------------------------------------------------------------------ instructors


@main.command("new")
@click.argument("name")
@click.option("--title", help="the assignment's title (default: NAME, capitalised)")
@click.option("--course", help="the course folder (default: found from here)")
def new(name: str, title: str | None, course: str | None) -> None:
    """Create solutions/NAME/: a complete, valid assignment to start from (a leaky ReLU layer with its
    tests, mistake catalogue, samples, notebook and oracle test), and release it into assignments/NAME/."""
    from .scaffold import ScaffoldError, create

    root = _course(course)
    with _said_plainly(ScaffoldError):
        written = create(root, name, title)
    for path in written:
        out.print(f"wrote {path.relative_to(root).as_posix()}", markup=False)
    out.print(f"\nNext (docs/instructors.md, \"Adding an assignment, step by step\"): replace the leaky ReLU "
              f"with your exercise, then\n  autograder validate {name} --samples\n  autograder samples {name}\n"
              f"  autograder release {name}\n  python -m pytest tests/test_{name}_reference.py", markup=False)


@main.command()
@click.argument("names", nargs=-1)
@click.option("--check", "check_only", is_flag=True, help="only report differences; exit 1 if any")
@click.option("--course", help="the course folder (default: found from here)")
def release(names: tuple[str, ...], check_only: bool, course: str | None) -> None:
    """Regenerate assignments/ from solutions/ (stubs in place of solutions; hidden tests left out)."""
    from .release import ReleaseError, release_course, release_drift

    root = _course(course)
    with _said_plainly(ReleaseError):
        if check_only:
            drift = release_drift(root, list(names) or None)
            if drift:
                out.print("\n".join(drift), markup=False)
                sys.exit(1)
            out.print("assignments/ is in sync with solutions/")
            return
        written = release_course(root, list(names) or None)
    for name, files in written.items():
        out.print(f"assignments/{name}: {len(files)} files")


@main.command()
@click.argument("assignment")
@click.option("--jobs", "-j", default=0)
@click.option("--seed", type=int, default=0, show_default=True, help="the first seed")
@click.option("--seeds", type=click.IntRange(min=1), default=20, show_default=True,
              help="grade every submission under this many seeds, SEED, SEED + 1, ...")
@click.option("--samples", is_flag=False, flag_value="*", default=None, metavar="[GLOB]",
              help="also the shipped samples (those whose names match GLOB): their verdicts must not "
                   "flip either")
@click.option("--course", help="the course folder (default: found from here)")
@click.option("--verbose", "-v", is_flag=True,
              help="show the failing tests' messages under every row (by default only under the rows that are "
                   "not as expected)")
def validate(assignment: str, jobs: int, seed: int, seeds: int, samples: str | None, course: str | None,
             verbose: bool) -> None:
    """Prove the hidden tests: reference scores 100%, stub 0, every catalogued mistake caught and named,
    and no test's verdict changes with the seed. A row that is not as expected says why."""
    from .release import ReleaseError
    from .samples import SampleError
    from .validate import validate_assignment

    with _said_plainly(SampleError, ReleaseError, FileNotFoundError):
        report_, ok = validate_assignment(_course(course), assignment, jobs=jobs, seed=seed, seeds=seeds,
                                          samples=samples, verbose=verbose)
    out.print(report_)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
