"""The convolution speed rule a student runs is the one graded.

Its public speed tests allow each of im2col, col2im, conv_forward_im2col and
conv_backward_im2col 3x the reference solution's time. When graded, the
reference is timed in a worker of its own; under `autograder check` (no
reference on the student's machine) its time is estimated as
REFERENCE_RATIO[name] times the time of numpy.matmul(w_rows, cols) on the
stated size. These ratios must be the reference's own, each within a factor
1.5 of the published one: that is a timing, measured by
benchmarks/bench_convolution_ratios.py (timed checks live in benchmarks/,
never in the suite, where other tests share the CPUs). Here: the rule itself.
"""
from __future__ import annotations

from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
SOLUTION = COURSE / "solutions" / "convolution"


def test_the_rule_is_the_same_when_graded_and_when_checked():
    source = (SOLUTION / "tests" / "test_public.py").read_text()
    hidden = "".join(p.read_text() for p in (SOLUTION / "tests").glob("test_*.py") if p.name != "test_public.py")
    assert "MAX_RATIO = 3.0" in source and "reference_worker" in source
    assert "best_time" not in hidden, "the speed tests live in test_public.py: one rule, run by students and graded"
    assert "conv_forward_naive" not in source.split("# --------------------------------------------------------------------- speed")[1], \
        "the speed rule must not time the student's naive code"
