"""The class report: one self-contained HTML page about a graded batch, for the course staff.

``write_class_report`` reads the results documents of a batch (and the graded copies
in ``.staging/``) and writes ``report.html`` beside them: summary numbers, the score
histogram, the pass rate of each test (public and hidden marked), how many students made
each catalogued mistake, crashes, time-outs and limit hits per test, the time per
submission, and the submissions whose code is near-identical.

The page carries everything inside it: figures are PNGs drawn with matplotlib's Agg
renderer and inlined as ``data:`` URIs, the style sheet is inline, and nothing is
fetched from anywhere, so the file can be mailed or archived as it is. Every piece of
text that comes from a submission or a document (ids, names, test names, code) is
HTML-escaped.

Similarity uses copydetect (an implementation of the winnowing of MOSS): each
student's graded modules are tokenised and normalised (names become ``V``/``F``,
comments and layout are dropped, strings become ``S``) and fingerprinted; the
fingerprints of the reference solution and of the released stub are removed as
boilerplate, so that code every student received (the stub), or a copy of the
reference, makes no pair. What two students still share is reported as a share of
each one's remaining code.
"""
from __future__ import annotations

import base64
import html
import io
import itertools
import posixpath
import stat
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .config import Assignment
from .ingest import file_name, printable
from .report import GRADED, GRADER_ERROR, UNGRADABLE, groups, replaced_whole

REPORT_NAME = "report.html"
# A pair is listed when one student's remaining code (after the boilerplate is removed) is at
# least this much found in the other's, and they share at least MIN_OVERLAP normalised characters.
SIMILARITY_THRESHOLD = 0.5
MIN_OVERLAP = 100
NOISE = 25  # copydetect's k: the shortest match (normalised characters) that counts
MAX_MODULE_BYTES = 512 * 1024  # a larger module is left out of the comparison (and said so)
MAX_PAIRS_WITH_CODE = 20  # pairs shown with their highlighted code

VISIBILITY = {"visible": "public", "hidden": "hidden", "after_due_date": "after due"}
VISIBILITY_COLOUR = {"public": "#1f77b4", "hidden": "#7f7f7f", "after due": "#9467bd"}
# What went wrong in a test, beyond a wrong answer: the kinds the crash table counts.
INCIDENTS = ("time-out", "limit", "crash", "not run", "grader error")
INCIDENT_WORDS = {
    "time-out": "time-out (a call took longer than its limit)",
    "limit": "limit hit (memory, CPU time, file size or output)",
    "crash": "crash (the worker died or sent an unreadable reply)",
    "not run": "not run (the submission's time budget was used up)",
    "grader error": "grader error (not the student's fault)",
}
INCIDENT_COLOUR = {"time-out": "#ff7f0e", "limit": "#d62728", "crash": "#8c564b", "not run": "#bcbd22",
                   "grader error": "#e377c2"}
LIMIT_MARKS = ("memory limit", "of CPU time", "file larger than", "printed more than")


# ------------------------------------------------------------------ reading results


def _percent(doc: dict) -> float:
    max_score = doc.get("max_score") or 0
    return 100.0 * doc.get("score", 0) / max_score if max_score else 0.0


def _short_name(name: str) -> str:
    """A test's pytest name, without the docstring line the judge appends after ": "."""
    test, sep, _ = name.partition(": ")
    return test if sep and " " not in test else name


def incident(test: dict) -> str | None:
    """The kind of incident a test's result records (one of INCIDENTS), or None."""
    outcome = test.get("outcome")
    if outcome == "budget":
        return "not run"
    if outcome == "error":
        return "grader error"
    if outcome != "crashed":
        return None
    output = str(test.get("output", ""))
    if "took longer than" in output:
        return "time-out"
    if any(mark in output for mark in LIMIT_MARKS):
        return "limit"
    return "crash"


@dataclass
class TestRow:
    key: str
    name: str
    visibility: str
    max_score: float
    gpu: bool
    passed: int = 0
    counted: int = 0  # results that say something of the student: not skipped, not a grader error
    outcomes: Counter = field(default_factory=Counter)
    incidents: Counter = field(default_factory=Counter)
    incident_students: dict = field(default_factory=dict)  # kind -> [student ids]

    @property
    def rate(self) -> float | None:
        return self.passed / self.counted if self.counted else None


def test_rows(docs: list[dict]) -> list[TestRow]:
    """One row per test of the suite, in collection order, with its outcomes across the class."""
    rows: dict[str, TestRow] = {}
    ordered = sorted(docs, key=lambda d: -len(d.get("tests", [])))  # the fullest run gives the order
    for doc in ordered:
        for test in doc.get("tests", []):
            key = str(test.get("nodeid") or test.get("name"))
            row = rows.get(key)
            if row is None:
                row = rows[key] = TestRow(
                    key=key, name=_short_name(str(test.get("name", key))),
                    visibility=VISIBILITY.get(test.get("visibility"), str(test.get("visibility", "hidden"))),
                    max_score=float(test.get("max_score") or 0), gpu=bool(test.get("gpu")))
            outcome = str(test.get("outcome", test.get("status", "?")))
            row.outcomes[outcome] += 1
            if outcome not in ("skipped", "error"):
                row.counted += 1
                row.passed += outcome == "passed"
            row.max_score = max(row.max_score, float(test.get("max_score") or 0))
            kind = incident(test)
            if kind:
                row.incidents[kind] += 1
                row.incident_students.setdefault(kind, []).append(doc["student"])
    return list(rows.values())


@dataclass
class Summary:
    """The numbers of the summary, and the statistics the score figure draws: the mean, the median,
    full marks and zero points are over the GRADED results only; the ungradable uploads and the
    grader errors are counted apart (``group``)."""
    submissions: int
    graded: int  # no error: the score is what the code earned
    ungradable: int  # invalid, no_files or another ingest error: scored 0, left out of the statistics
    grader_errors: int  # a grader error in some tests or the whole run: left out of the statistics
    tested: int  # documents whose tests ran (graded, and grader errors with tests)
    mean: float | None
    median: float | None
    mean_points: float | None
    max_score: float | None  # the max score, where every graded document has the same
    full_marks: int
    zeros: int
    seeds: list
    not_graded: str | None


def summarise(docs: list[dict]) -> Summary:
    by_group = groups(docs)
    graded = by_group[GRADED]
    percents = [_percent(d) for d in graded]
    maxima = {d.get("max_score") for d in graded if d.get("max_score")}
    skipped = Counter((d["not_graded"].get("points"), d["not_graded"].get("reason"))
                      for d in docs if isinstance(d.get("not_graded"), dict))
    not_graded = "; ".join(f"{points:g} point(s) in {n} submission(s) ({printable(str(reason))})"
                           for (points, reason), n in skipped.items() if isinstance(points, (int, float))) or None
    return Summary(
        submissions=len(docs),
        graded=len(graded),
        ungradable=len(by_group[UNGRADABLE]),
        grader_errors=len(by_group[GRADER_ERROR]),
        tested=sum(bool(d.get("tests")) for d in docs),
        mean=statistics.fmean(percents) if percents else None,
        median=statistics.median(percents) if percents else None,
        mean_points=statistics.fmean(float(d.get("score") or 0) for d in graded) if graded else None,
        max_score=maxima.pop() if len(maxima) == 1 else None,
        full_marks=sum(bool(d.get("max_score")) and d.get("score") == d.get("max_score") for d in graded),
        zeros=sum(not d.get("score") for d in graded),
        seeds=sorted({d["seed"] for d in docs if isinstance(d.get("seed"), int)}),
        not_graded=not_graded,
    )


def mistake_counts(docs: list[dict], catalogue: list) -> list[tuple[str, str, str, list[str]]]:
    """(name, target, hint, students) for every catalogued mistake, the ones no one made included,
    then for names the documents hold that the catalogue lacks; most frequent first."""
    found: dict[str, list[str]] = {}
    details: dict[str, tuple[str, str]] = {}
    for doc in docs:
        for name in doc.get("mistakes", []):
            found.setdefault(str(name), []).append(doc["student"])
        for test in doc.get("tests", []):
            for m in test.get("mistakes", []):
                if isinstance(m, dict) and m.get("name"):
                    details.setdefault(str(m["name"]), (str(m.get("target", "")), str(m.get("hint", ""))))
    rows = []
    known = set()
    for m in catalogue:
        known.add(m.name)
        rows.append((m.name, m.target, m.hint, sorted(set(found.get(m.name, [])))))
    for name in found:
        if name not in known:
            target, hint = details.get(name, ("", ""))
            rows.append((name, target, hint, sorted(set(found[name]))))
    order = {name: i for i, (name, *_rest) in enumerate(rows)}
    return sorted(rows, key=lambda r: (-len(r[3]), order[r[0]]))


# ------------------------------------------------------------------ similarity


@dataclass
class Pair:
    a: str
    b: str
    share_a: float  # of a's code (boilerplate removed), the part found in b
    share_b: float
    overlap: int  # normalised characters of a's code that match
    code_a: str = ""  # HTML: a's code with the shared parts marked
    code_b: str = ""

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)


@dataclass
class Similarity:
    pairs: list[Pair] = field(default_factory=list)  # above the threshold, most similar first
    scores: list[tuple[float, int]] = field(default_factory=list)  # (score, overlap) of every pair compared
    compared: list[str] = field(default_factory=list)
    not_compared: list[tuple[str, str]] = field(default_factory=list)  # (student, why)
    boilerplate: list[str] = field(default_factory=list)  # file names of the reference and stub used
    problem: str | None = None  # why the comparison could not be made at all
    seconds: float = 0.0


def _read_code(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _joined(files: list[Path]) -> str:
    """The modules of one submission as one text, each after a comment naming it (comments are
    not compared, so the names cost nothing)."""
    return "".join(f"# ===== {p.name}\n{_read_code(p)}\n" for p in files)


def _graded_folder(top: Path, modules: tuple[str, ...], intake) -> Path:
    """The folder of a student's staged copy that was graded: where ingest put the modules (the
    folder of the first module it matched, as the document's intake records it), else the
    shallowest folder holding one of them."""
    matched = intake.get("matched") if isinstance(intake, dict) else None
    if isinstance(matched, dict):
        for module in modules:
            path = matched.get(f"{module}.py")
            if isinstance(path, str):
                folder = (top / posixpath.dirname(path)).resolve()
                if folder.is_relative_to(top.resolve()):
                    return folder
                break
    for module in modules:
        hits = [p.parent for depth in ("", "*/", "*/*/", "*/*/*/") for p in top.glob(f"{depth}{module}.py")
                if "__MACOSX" not in p.parts]
        if hits:
            return min(hits, key=lambda p: (len(p.parts), str(p)))
    return top


def submission_modules(staging: Path, doc: dict, modules: tuple[str, ...]) -> tuple[list[Path], str | None]:
    """The graded modules of one student in the staging area, or the reason why there are none."""
    top = Path(staging) / file_name(doc["student"])
    if not top.is_dir():
        return [], "no graded copy in .staging"
    folder = _graded_folder(top, modules, doc.get("intake"))
    files, big = [], []
    for module in modules:
        path = folder / f"{module}.py"
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # ingest copies no links; a folder named like a module is not code either
        (big if st.st_size > MAX_MODULE_BYTES else files).append(path)
    if big and not files:
        return [], f"modules larger than {MAX_MODULE_BYTES // 1024} KiB"
    if not files:
        return [], "none of the graded modules (" + ", ".join(f"{m}.py" for m in modules) + ")"
    return files, None


def find_similar(submissions: dict[str, list[Path]], boilerplate: list[Path],
                 threshold: float = SIMILARITY_THRESHOLD, min_overlap: int = MIN_OVERLAP) -> Similarity:
    """Compare every two submissions (student -> module files) with copydetect, the code of the
    ``boilerplate`` files removed; the pairs over ``threshold`` that share ``min_overlap``
    normalised characters or more, most similar first."""
    result = Similarity(compared=sorted(submissions), boilerplate=[p.name for p in boilerplate])
    start = time.monotonic()
    try:
        import numpy as np
        from copydetect import CodeFingerprint, compare_files
        from copydetect.utils import highlight_overlap
    except ImportError as exc:
        result.problem = (f"the copydetect library cannot be imported ({exc}); install it with "
                          "`pip install copydetect` and run `autograder report` again")
        return result
    try:
        # Every k-gram of the boilerplate (window 1), as copydetect's own detector takes it.
        hashes = [CodeFingerprint("boilerplate.py", NOISE, 1, fp=io.StringIO(_read_code(p))).hashes
                  for p in boilerplate]
        known = np.unique(np.array([h for some in hashes for h in some], dtype=np.int64))
        prints = {student: CodeFingerprint("submission.py", NOISE, 1, boilerplate=known,
                                           fp=io.StringIO(_joined(files)))
                  for student, files in sorted(submissions.items())}
        for a, b in itertools.combinations(sorted(prints), 2):
            overlap, (share_a, share_b), _ = compare_files(prints[a], prints[b])
            pair = Pair(a, b, float(share_a), float(share_b), int(overlap))
            result.scores.append((pair.score, pair.overlap))
            if pair.score >= threshold and pair.overlap >= min_overlap:
                result.pairs.append(pair)
        result.pairs.sort(key=lambda p: (-p.score, -p.overlap, p.a, p.b))
        for pair in [p for p in result.pairs[:MAX_PAIRS_WITH_CODE] if p.overlap]:
            _, _, (slices_a, slices_b) = compare_files(prints[pair.a], prints[pair.b])
            pair.code_a, _ = highlight_overlap(prints[pair.a].raw_code, slices_a, "<mark>", "</mark>",
                                               truncate=4, escape_html=True)
            pair.code_b, _ = highlight_overlap(prints[pair.b].raw_code, slices_b, "<mark>", "</mark>",
                                               truncate=4, escape_html=True)
    except Exception as exc:  # noqa: BLE001 - the rest of the report must still be written
        result.pairs, result.scores = [], []
        result.problem = f"copydetect failed: {type(exc).__name__}: {exc}"
    result.seconds = time.monotonic() - start
    return result


def class_similarity(out_dir: Path, docs: list[dict], assignment: Assignment, reference_dir: Path | None,
                     stub_dir: Path | None, threshold: float = SIMILARITY_THRESHOLD) -> Similarity:
    """find_similar over the graded copies in ``out_dir/.staging``, the reference's and the stub's
    modules as boilerplate."""
    staging = Path(out_dir) / ".staging"
    if not staging.is_dir():
        return Similarity(problem=f"the graded copies ({staging}) are gone: the similarity section needs "
                                  "them (grade the class again to have them back)")
    submissions, not_compared = {}, []
    for doc in docs:
        files, why = submission_modules(staging, doc, assignment.modules)
        if files:
            submissions[doc["student"]] = files
        else:
            not_compared.append((doc["student"], why))
    boilerplate = [folder / f"{m}.py" for folder in (reference_dir, stub_dir) if folder is not None
                   for m in assignment.modules if (Path(folder) / f"{m}.py").is_file()]
    result = find_similar(submissions, boilerplate, threshold)
    result.not_compared = not_compared
    result.boilerplate = [_boilerplate_label(p, reference_dir) for p in boilerplate]
    return result


def _boilerplate_label(path: Path, reference_dir: Path | None) -> str:
    kind = "reference" if reference_dir is not None and path.parent == Path(reference_dir) else "stub"
    return f"{path.name} ({kind})"


# ------------------------------------------------------------------ figures


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    # A Figure of its own, not pyplot: no global state, no GUI backend, safe in any process.
    return Figure(figsize=(width, height), layout="constrained")


def _integer_axis(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def score_figure(docs: list[dict], summary: Summary | None = None) -> str:
    """The histogram of the scores: the graded students in blue, the uploads that could not be
    graded stacked in red at 0, the mean and the median of the graded (the summary's own numbers).
    Grader errors are not drawn: the legend says how many."""
    summary = summary or summarise(docs)
    by_group = groups(docs)
    fig = _figure(10, 3.6)
    ax = fig.add_subplot()
    graded = [_percent(d) for d in by_group[GRADED]]
    ungradable = [0.0] * len(by_group[UNGRADABLE])
    bins = [i * 5 for i in range(21)]
    bins[-1] = 100.0001  # full marks fall in the last bin, not past it
    if ungradable:
        ax.hist([graded, ungradable], bins=bins, stacked=True, color=["#1f77b4", "#d62728"],
                label=[f"graded ({len(graded)})", f"could not be graded ({len(ungradable)}; scored 0)"],
                edgecolor="white")
    else:
        ax.hist(graded, bins=bins, color="#1f77b4", label=f"graded ({len(graded)})", edgecolor="white")
    if summary.mean is not None:  # drawn over the bars (zorder): a median of 0 sits on the first bar
        ax.axvline(summary.mean, color="black", linestyle="--", linewidth=1, zorder=3,
                   label=f"mean of the graded {summary.mean:.1f}%")
        ax.axvline(summary.median, color="#2ca02c", linestyle=":", linewidth=2, zorder=3,
                   label=f"median of the graded {summary.median:.1f}%")
    if by_group[GRADER_ERROR]:  # a legend entry only: their partial scores are not the student's
        ax.plot([], [], " ", label=f"not drawn: {len(by_group[GRADER_ERROR])} with a grader error")
    ax.set_xlim(0, 100.5)
    ax.set_xlabel("score (% of the points available)")
    ax.set_ylabel("students")
    _integer_axis(ax.yaxis)
    ax.set_title("Scores")
    fig.legend(loc="outside upper center", ncols=3, frameon=False)  # above the bars, never on them
    return _png(fig)


def _label(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def pass_rate_figure(rows: list[TestRow]) -> str:
    from matplotlib.patches import Patch

    fig = _figure(10, 1.2 + 0.24 * max(len(rows), 1))
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    rates = [100 * r.rate if r.rate is not None else 0 for r in rows]
    colours = [VISIBILITY_COLOUR.get(r.visibility, "#7f7f7f") for r in rows]
    ax.barh(y, rates, color=colours, height=0.7)
    for i, row in enumerate(rows):
        text = f"{100 * row.rate:.0f}%  ({row.passed}/{row.counted})" if row.rate is not None else "not run here"
        ax.text(min(rates[i], 100) + 1, i, text, va="center", fontsize=7.5, color="#333333")
    ax.set_yticks(y, [_label(r.name) for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # collection order, top to bottom
    ax.set_xlim(0, 125)
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    ax.set_xlabel("students who passed (% of those whose result counts)")
    present = [v for v in VISIBILITY_COLOUR if any(r.visibility == v for r in rows)]
    ax.set_title("Pass rate per test")
    fig.legend(handles=[Patch(color=VISIBILITY_COLOUR[v], label=f"{v} test") for v in present],
               loc="outside upper center", ncols=len(present), frameon=False, fontsize=9)
    return _png(fig)


def mistakes_figure(rows: list[tuple[str, str, str, list[str]]], students: int) -> str:
    fig = _figure(10, 1.2 + 0.3 * max(len(rows), 1))
    ax = fig.add_subplot()
    counts = [len(r[3]) for r in rows]
    ax.barh(range(len(rows)), counts, color="#ff7f0e", height=0.7)
    for i, n in enumerate(counts):
        ax.text(n + 0.05, i, str(n), va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [_label(r[0], 70) for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, max(counts + [1]) * 1.12 + 0.5)
    _integer_axis(ax.xaxis)
    ax.set_xlabel(f"students whose results name the mistake (of the {students} whose tests ran)")
    ax.set_title("Catalogued mistakes")
    return _png(fig)


def incidents_figure(rows: list[TestRow]) -> str:
    from matplotlib.patches import Patch

    hit = [r for r in rows if r.incidents]
    fig = _figure(10, 1.4 + 0.26 * len(hit))
    ax = fig.add_subplot()
    left = [0] * len(hit)
    for kind in INCIDENTS:
        widths = [r.incidents.get(kind, 0) for r in hit]
        if any(widths):
            ax.barh(range(len(hit)), widths, left=left, color=INCIDENT_COLOUR[kind], height=0.7)
            left = [a + b for a, b in zip(left, widths)]
    ax.set_yticks(range(len(hit)), [_label(r.name) for r in hit], fontsize=8)
    ax.set_ylim(len(hit) - 0.5, -0.5)
    _integer_axis(ax.xaxis)
    ax.set_xlim(0, max(left) * 1.05 + 0.5)
    ax.set_xlabel("students")
    kinds = [k for k in INCIDENTS if any(r.incidents.get(k) for r in hit)]
    ax.set_title("Crashes, time-outs and limit hits per test")
    fig.legend(handles=[Patch(color=INCIDENT_COLOUR[k], label=k) for k in kinds], loc="outside upper center",
               ncols=len(kinds), frameon=False, fontsize=9)
    return _png(fig)


def time_figure(docs: list[dict], budget: float | None) -> str:
    fig = _figure(10, 3.2)
    ax = fig.add_subplot()
    times = [float(d.get("execution_time") or 0) for d in docs if d.get("tests")]
    top = max(times + [1.0])
    ax.hist(times, bins=min(30, max(5, len(times))), range=(0, top * 1.02), color="#17becf", edgecolor="white")
    if budget and budget <= top * 1.5:
        ax.axvline(budget, color="#d62728", linestyle="--", linewidth=1,
                   label=f"time budget of a submission's calls ({budget:g} s)")
        ax.legend(frameon=False)
    ax.set_xlabel("seconds per submission (judge start to result)")
    ax.set_ylabel("students")
    _integer_axis(ax.yaxis)
    ax.set_title("Time per submission")
    return _png(fig)


def similarity_figure(scores: list[tuple[float, int]], threshold: float, min_overlap: int) -> str:
    fig = _figure(10, 2.8)
    ax = fig.add_subplot()
    enough = [100 * s for s, overlap in scores if overlap >= min_overlap]
    little = [100 * s for s, overlap in scores if overlap < min_overlap]
    ax.hist([enough, little], bins=50, range=(0, 100), stacked=True, color=["#9467bd", "#d9d9d9"],
            edgecolor="white", label=[f"pairs sharing {min_overlap} normalised characters or more",
                                      "pairs sharing less (never listed)"])
    ax.axvline(100 * threshold, color="#d62728", linestyle="--", linewidth=1,
               label=f"listed from {100 * threshold:.0f}%")
    ax.set_yscale("log")
    ax.set_xlim(0, 100)
    ax.set_xlabel("similarity of a pair (% of the more copied one's own code found in the other)")
    ax.set_ylabel("pairs (log scale)")
    ax.legend(frameon=False)
    ax.set_title("Similarity of every pair of submissions")
    return _png(fig)


# ------------------------------------------------------------------ HTML

CSS = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222;
       margin: 0 auto; max-width: 1080px; padding: 1.2em 1.5em 4em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
.sub { color: #666; margin-top: 0; }
nav a { margin-right: 1em; }
img.fig { width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
table.wide { width: 100%; }
th, td { border: 1px solid #ddd; padding: .25em .55em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
table.summary td:first-child { color: #555; }
.public { color: #1f77b4; font-weight: 600; } .hidden { color: #555; } .after { color: #9467bd; }
.note { color: #555; font-size: .92em; }
.problem { background: #fff4e5; border-left: 4px solid #ff9800; padding: .5em .8em; }
details { margin: .5em 0; } summary { cursor: pointer; }
.code { display: grid; grid-template-columns: 1fr 1fr; gap: .6em; }
pre { background: #fafafa; border: 1px solid #e5e5e5; padding: .5em; font-size: .8em; overflow-x: auto;
      white-space: pre; margin: 0; max-height: 32em; }
mark { background: #ffd54f; }
.ids { font-size: .88em; color: #444; } .name { color: #666; } .id { white-space: nowrap; }
td.who { min-width: 14em; }
"""


def _h(text) -> str:
    """Text from a document or a submission, safe in HTML: control characters shown escaped."""
    return html.escape(printable(str(text)), quote=True)


def _img(draw, alt: str, *args) -> str:
    """The figure ``draw(*args)`` makes, inline; a plain sentence if it cannot be drawn (the report
    is written at the end of every batch and must not fail it)."""
    try:
        png = draw(*args)
    except Exception as exc:  # noqa: BLE001
        return f'<p class="problem">The figure "{_h(alt)}" could not be drawn: {_h(type(exc).__name__)}: {_h(exc)}</p>'
    return f'<img class="fig" alt="{_h(alt)}" src="data:image/png;base64,{png}">'


def _person(student: str, names: dict[str, str]) -> str:
    """A student id, with the person's name from the LMS download beside it when the results have one."""
    name = names.get(student)
    return f'{_h(student)} <span class="name">({_h(name)})</span>' if name else _h(student)


def _ids(students: list[str], names: dict[str, str], at_most: int = 25) -> str:
    shown = ", ".join(f'<span class="id">{_person(s, names)}</span>' for s in students[:at_most])
    more = f" and {len(students) - at_most} more" if len(students) > at_most else ""
    return f'<span class="ids">{shown}{more}</span>'


def _vis_class(visibility: str) -> str:
    return {"public": "public", "after due": "after"}.get(visibility, "hidden")


def _summary_html(s: Summary, docs: list[dict]) -> str:
    def pct(v):
        return "-" if v is None else f"{v:.1f}%"

    points = ""
    if s.mean_points is not None and s.max_score:
        points = f" ({s.mean_points:.1f} of {s.max_score:g} points)"
    rows = [
        ("submissions", str(s.submissions)),
        ("graded", str(s.graded)),
        ("could not be graded (invalid upload or no files; scored 0)", str(s.ungradable)),
        ("with a grader error (not the student's fault; `--resume` regrades them)", str(s.grader_errors)),
        ("mean score of the graded", pct(s.mean) + points),
        ("median score of the graded", pct(s.median)),
        ("full marks", str(s.full_marks)),
        ("zero points", str(s.zeros)),
    ]
    if s.seeds:
        rows.append(("seed" if len(s.seeds) == 1 else "seeds",
                     ", ".join(str(x) for x in s.seeds[:5]) + (" ..." if len(s.seeds) > 5 else "")))
    if s.not_graded:
        rows.append(("points not graded on this machine (skipped tests)", s.not_graded))
    body = "".join(f"<tr><td>{_h(k)}</td><td>{_h(v)}</td></tr>" for k, v in rows)
    note = (f'<p class="note">Mean, median, full marks and zero points are over the {s.graded} graded '
            f"submission(s), as is the histogram's blue; the {s.ungradable} that could not be graded (scored 0, "
            f"red in the histogram) and the {s.grader_errors} with a grader error (not drawn) are counted apart, "
            "as in the gradebook.</p>")
    return f'<table class="summary">{body}</table>{note}'


def _tests_html(rows: list[TestRow]) -> str:
    head = ("<tr><th>#</th><th>test</th><th>visibility</th><th class=\"n\">points</th><th class=\"n\">passed</th>"
            "<th class=\"n\">pass rate</th><th>other outcomes</th></tr>")
    body = []
    for i, r in enumerate(rows, 1):
        others = ", ".join(f"{k} {v}" for k, v in r.outcomes.most_common() if k != "passed")
        rate = f"{100 * r.rate:.0f}%" if r.rate is not None else "-"
        body.append(f"<tr><td class=\"n\">{i}</td><td>{_h(r.name)}{' (gpu)' if r.gpu else ''}</td>"
                    f"<td class=\"{_vis_class(r.visibility)}\">{_h(r.visibility)}</td>"
                    f"<td class=\"n\">{r.max_score:g}</td><td class=\"n\">{r.passed} / {r.counted}</td>"
                    f"<td class=\"n\">{rate}</td><td>{_h(others)}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _mistakes_html(rows, names: dict[str, str]) -> str:
    head = "<tr><th>mistake (and the hint students get)</th><th>in</th><th class=\"n\">students</th><th>who</th></tr>"
    body = "".join(f"<tr><td><b>{_h(name)}</b><br><span class=\"note\">{_h(hint)}</span></td>"
                   f"<td><code>{_h(target)}</code></td><td class=\"n\">{len(who)}</td>"
                   f"<td class=\"who\">{_ids(who, names)}</td></tr>"
                   for name, target, hint, who in rows)
    return f"<table class=\"wide\">{head}{body}</table>"


def _incidents_html(docs: list[dict], rows: list[TestRow], names: dict[str, str]) -> str:
    hit = [r for r in rows if r.incidents]
    kinds = [k for k in INCIDENTS if any(r.incidents.get(k) for r in hit)]
    legend = "".join(f"<li><b>{_h(k)}</b>: {_h(INCIDENT_WORDS[k].split(' (', 1)[1].rstrip(')'))}</li>"
                     for k in kinds)
    # Per student: who to look at, and the first message (what the student was told).
    head = ("<tr><th>student</th>" + "".join(f"<th class=\"n\">{_h(k)}</th>" for k in kinds) +
            "<th>first message</th></tr>")
    body = []
    for doc in docs:
        seen = Counter(kind for t in doc.get("tests", []) if (kind := incident(t)))
        if not seen:
            continue
        first = next(t for t in doc["tests"] if incident(t))
        message = str(first.get("output", "")).split("\n", 1)[0]
        message = message if len(message) <= 200 else message[:199] + "…"
        body.append(f"<tr><td>{_person(doc['student'], names)}</td>" +
                    "".join(f"<td class=\"n\">{seen.get(k, 0) or ''}</td>" for k in kinds) +
                    f"<td class=\"note\">{_h(_short_name(str(first.get('name', ''))))}: {_h(message)}</td></tr>")
    per_student = f"<table class=\"wide\">{head}{''.join(body)}</table>"
    head = "<tr><th>test</th>" + "".join(f"<th class=\"n\">{_h(k)}</th>" for k in kinds) + "<th>who</th></tr>"
    body = []
    for r in hit:
        who = sorted({s for k in kinds for s in r.incident_students.get(k, [])})
        body.append(f"<tr><td>{_h(r.name)}</td>" + "".join(f"<td class=\"n\">{r.incidents.get(k, 0) or ''}</td>"
                                                          for k in kinds) + f"<td>{_ids(who, names, 12)}</td></tr>")
    per_test = f"<details><summary>per test</summary><table class=\"wide\">{head}{''.join(body)}</table></details>"
    return f"<ul class=\"note\">{legend}</ul><p>Tests per student:</p>{per_student}{per_test}"


def _slowest_html(docs: list[dict], names: dict[str, str], n: int = 5) -> str:
    graded = sorted((d for d in docs if d.get("tests")), key=lambda d: -float(d.get("execution_time") or 0))[:n]
    if not graded:
        return ""
    times = [float(d.get("execution_time") or 0) for d in docs if d.get("tests")]
    cells = "".join(f"<tr><td>{_person(d['student'], names)}</td>"
                    f"<td class=\"n\">{float(d.get('execution_time') or 0):.1f} s</td>"
                    "</tr>" for d in graded)
    return (f'<p>median {statistics.median(times):.1f} s, longest {max(times):.1f} s, '
            f'{sum(times) / 60:.1f} min in all.</p><table><tr><th>slowest</th><th class="n">time</th></tr>'
            f"{cells}</table>")


def _similarity_html(sim: Similarity, threshold: float, min_overlap: int, names: dict[str, str]) -> str:
    if sim.problem:
        return f'<p class="problem">The similarity section could not be computed: {_h(sim.problem)}</p>'
    parts = [
        f'<p class="note">Compared: {len(sim.compared)} submissions ({len(sim.scores)} pairs) with '
        f"copydetect (winnowing, as in MOSS): names, comments, strings and layout are normalised away, "
        f"and what the reference solution and the released stub contain ("
        f"{_h(', '.join(sim.boilerplate)) or 'none found'}) is removed first, so copies of the stub or of "
        f"the reference make no pair. A pair is listed when at least {100 * threshold:.0f}% of one student's "
        f"remaining code is found in the other's, over at least {min_overlap} normalised characters. "
        f"Similar code is a reason to look, not a verdict. ({sim.seconds:.1f} s)</p>"
    ]
    if sim.not_compared:
        parts.append("<details><summary>" + f"{len(sim.not_compared)} submission(s) not compared" +
                     "</summary><ul>" +
                     "".join(f"<li>{_person(s, names)}: {_h(why)}</li>" for s, why in sim.not_compared) +
                     "</ul></details>")
    if sim.scores:
        parts.append(_img(similarity_figure, "similarity of every pair", sim.scores, threshold, min_overlap))
    if not sim.pairs:
        parts.append("<p><b>No pair of submissions is similar above the threshold.</b></p>")
        return "".join(parts)
    rows = "".join(
        f"<tr><td class=\"n\">{i}</td><td>{_person(p.a, names)}</td><td>{_person(p.b, names)}</td>"
        f"<td class=\"n\">{100 * p.score:.0f}%</td>"
        f"<td class=\"n\">{100 * p.share_a:.0f}%</td><td class=\"n\">{100 * p.share_b:.0f}%</td>"
        f"<td class=\"n\">{p.overlap}</td></tr>" for i, p in enumerate(sim.pairs, 1))
    parts.append("<table class=\"pairs\"><tr><th>#</th><th>student A</th><th>student B</th><th class=\"n\">similarity"
                 "</th><th class=\"n\">of A found in B</th><th class=\"n\">of B found in A</th>"
                 f"<th class=\"n\">shared (normalised chars)</th></tr>{rows}</table>")
    for i, p in enumerate(sim.pairs[:MAX_PAIRS_WITH_CODE], 1):
        parts.append(f"<details><summary>#{i}: {_person(p.a, names)} and {_person(p.b, names)}, {100 * p.score:.0f}% "
                     "(shared code marked)</summary><div class=\"code\">"
                     f"<div><b>{_person(p.a, names)}</b><pre>{p.code_a}</pre></div>"
                     f"<div><b>{_person(p.b, names)}</b><pre>{p.code_b}</pre></div></div></details>")
    if len(sim.pairs) > MAX_PAIRS_WITH_CODE:
        parts.append(f'<p class="note">Code is shown for the first {MAX_PAIRS_WITH_CODE} pairs.</p>')
    return "".join(parts)


def _budget(docs: list[dict], assignment: Assignment) -> float | None:
    """The time budget of a submission, as the results record it (else as the assignment says)."""
    recorded = Counter(d["limits"].get("submission_seconds") for d in docs if isinstance(d.get("limits"), dict))
    recorded.pop(None, None)
    return recorded.most_common(1)[0][0] if recorded else assignment.limits.submission_seconds


def _catalogue(assignment: Assignment) -> tuple[list, str | None]:
    try:
        from .mistakes import load_catalogue

        return load_catalogue(assignment.mistakes_file), None
    except Exception as exc:  # noqa: BLE001 - a broken catalogue still leaves the mistakes the results name
        return [], f"the catalogue ({assignment.mistakes_file.name}) could not be loaded: {type(exc).__name__}: {exc}"


def render_class_report(out_dir: Path, docs: list[dict], assignment: Assignment, reference_dir: Path | None,
                        stub_dir: Path | None, threshold: float = SIMILARITY_THRESHOLD) -> str:
    """The HTML of the class report (see write_class_report)."""
    summary = summarise(docs)
    names = {d["student"]: str(d["name"]) for d in docs if d.get("name")}
    rows = test_rows(docs)
    catalogue, catalogue_problem = _catalogue(assignment)
    mistakes = mistake_counts(docs, catalogue)
    sim = class_similarity(out_dir, docs, assignment, reference_dir, stub_dir, threshold)
    title = f"{assignment.title} ({assignment.name}): class report"
    sections = [
        ("summary", "Summary", _summary_html(summary, docs)),
    ]
    if docs:
        sections.append(("scores", "Scores", _img(score_figure, "histogram of the scores", docs, summary)))
    if rows:
        sections.append(("tests", "Pass rate per test",
                         _img(pass_rate_figure, "pass rate per test", rows) +
                         '<p class="note">Of the students whose result counts: a skipped test or a grader error '
                         "says nothing of the student and is left out.</p>"
                         "<details><summary>as a table</summary>" + _tests_html(rows) + "</details>"))
    body = ""
    if mistakes:
        body = (_img(mistakes_figure, "students per catalogued mistake", mistakes, summary.tested) +
                _mistakes_html(mistakes, names))
    else:
        body = "<p>This assignment has no catalogued mistakes, and no result names one.</p>"
    if catalogue_problem:
        body = f'<p class="problem">{_h(catalogue_problem)}</p>' + body
    sections.append(("mistakes", "Catalogued mistakes", body))
    if any(r.incidents for r in rows):
        body = (_img(incidents_figure, "crashes, time-outs and limit hits per test", rows) +
                _incidents_html(docs, rows, names))
    else:
        body = "<p>No test crashed, timed out, hit a limit or met a grader error.</p>"
    sections.append(("incidents", "Crashes, time-outs and limit hits", body))
    if any(d.get("tests") for d in docs):
        sections.append(("time", "Time per submission",
                         _img(time_figure, "time per submission", docs, _budget(docs, assignment)) +
                         _slowest_html(docs, names)))
    sections.append(("similarity", "Similar submissions", _similarity_html(sim, threshold, MIN_OVERLAP, names)))
    nav = "".join(f'<a href="#{key}">{_h(name)}</a>' for key, name, _ in sections)
    content = "".join(f'<section id="{key}"><h2>{_h(name)}</h2>{body}</section>' for key, name, body in sections)
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_h(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{_h(title)}</h1><p class=\"sub\">{len(docs)} submission(s); written {stamp} by "
            "<code>autograder report</code>. For the course staff: it names students and shows hidden tests.</p>"
            f"<nav>{nav}</nav>{content}</body></html>\n")


def write_class_report(out_dir: Path, docs: list[dict], assignment: Assignment, reference_dir: Path | None,
                       stub_dir: Path | None, threshold: float = SIMILARITY_THRESHOLD) -> Path:
    """Write ``out_dir/report.html``: the class report of a graded batch (atomically: to a
    temporary name first). ``reference_dir`` and ``stub_dir`` hold the reference's and the stub's
    modules, removed from the similarity comparison as boilerplate (either may be None)."""
    out_dir = Path(out_dir)
    page = render_class_report(out_dir, docs, assignment, reference_dir, stub_dir, threshold)
    path = out_dir / REPORT_NAME
    with replaced_whole(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
