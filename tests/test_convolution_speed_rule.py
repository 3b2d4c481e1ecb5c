"""The convolution speed rule a student runs is the one graded.

Its public speed tests allow each of im2col, col2im, conv_forward_im2col and
conv_backward_im2col 3x the reference solution's time. When graded, the
reference is timed in a worker of its own; under `autograder check` (no
reference on the student's machine) its time is estimated as
REFERENCE_RATIO[name] times the time of numpy.matmul(w_rows, cols) on the
stated size. These ratios must be the reference's own: measured here, one
thread as in a worker, each within a factor 1.5 of the published one.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
SOLUTION = COURSE / "solutions" / "convolution"

MEASURE = r'''
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import convolution as R
from autograder.probes import best_time
rng = np.random.default_rng(0)
x, w, b = rng.normal(size=(8, 4, 16, 16)), rng.normal(size=(32, 4, 3, 3)), rng.normal(size=32)
dout, param = rng.normal(size=(8, 32, 16, 16)), {"stride": 1, "pad": 1}
cols = R.im2col(x, 3, 3, param)
_, cache = R.conv_forward_im2col(x, w, b, param)
ratios = {name: [] for name in ("im2col", "col2im", "conv_forward_im2col", "conv_backward_im2col")}
for _ in range(3):
    base = best_time(np.matmul, (w.reshape(32, -1), cols), 20)
    times = {"im2col": best_time(R.im2col, (x, 3, 3, param), 10),
             "col2im": best_time(R.col2im, (cols, x.shape, 3, 3, param), 10),
             "conv_forward_im2col": best_time(R.conv_forward_im2col, (x, w, b, param), 10),
             "conv_backward_im2col": best_time(R.conv_backward_im2col, (dout, cache), 10)}
    for name, t in times.items():
        ratios[name].append(t / base)
print(json.dumps({name: sorted(r)[1] for name, r in ratios.items()}))
'''


def _public_tests():
    spec = importlib.util.spec_from_file_location("convolution_public_tests", SOLUTION / "tests" / "test_public.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_estimate_of_the_reference_time_is_the_reference_s():
    published = _public_tests().REFERENCE_RATIO
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    # Up to three measurements: the suite runs in two processes, and a burst of the other one's work
    # can skew one measurement; a wrong published ratio is off in every one.
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", MEASURE, str(SOLUTION)], env=env, capture_output=True,
                             text=True, check=True, timeout=120)
        measured = json.loads(out.stdout)
        assert set(measured) == set(published)
        off = {name: round(measured[name] / published[name], 2) for name in published
               if not 1 / 1.5 <= measured[name] / published[name] <= 1.5}
        if not off:
            break
    assert not off, f"measured / published ratio of the reference's times: {off} (measured {measured})"


def test_the_rule_is_the_same_when_graded_and_when_checked():
    source = (SOLUTION / "tests" / "test_public.py").read_text()
    hidden = "".join(p.read_text() for p in (SOLUTION / "tests").glob("test_*.py") if p.name != "test_public.py")
    assert "MAX_RATIO = 3.0" in source and "reference_worker" in source
    assert "best_time" not in hidden, "the speed tests live in test_public.py: one rule, run by students and graded"
    assert "conv_forward_naive" not in source.split("# --------------------------------------------------------------------- speed")[1], \
        "the speed rule must not time the student's naive code"
