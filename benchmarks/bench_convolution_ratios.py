#!/usr/bin/env python3
"""Are convolution's published REFERENCE_RATIO the reference's own? (docs/benchmarks.md)

Under `autograder check` there is no reference on the student's machine, so the public speed
tests estimate the reference's time as REFERENCE_RATIO[name] times the time of one numpy
product. This measures the reference's ratios (one thread, as in a worker) and exits 1 when one
is off its published value by more than a factor 1.5. Run it on a quiet machine:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_convolution_ratios.py
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


def published() -> dict[str, float]:
    spec = importlib.util.spec_from_file_location("convolution_public_tests", SOLUTION / "tests" / "test_public.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.REFERENCE_RATIO


def main() -> int:
    want = published()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", MEASURE, str(SOLUTION)], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    measured = json.loads(out.stdout)
    off = False
    for name, ratio in want.items():
        factor = measured[name] / ratio
        ok = 1 / 1.5 <= factor <= 1.5
        off |= not ok
        print(f"{name}: measured {measured[name]:.2f}, published {ratio:.2f}, factor {factor:.2f}"
              f"{'' if ok else '  OFF'}")
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
