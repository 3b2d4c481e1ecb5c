#!/usr/bin/env python3
"""Check GPU grading on a CUDA machine, offline, in one run (docs/gpu.md).

    python3 scripts/gpu_check.py [--wheels DIR] [--jobs N] [--seed S] [--validate] [ASSIGNMENT...]

Installs the project (no network: pip builds it with the machine's setuptools; the wheels in
DIR, e.g. pyseccomp, are installed beside it), grades every shipped sample of every
assignment with the default isolation, and prints per assignment the reference's score, the
status of each of its ``gpu`` tests, the stub's score and the seconds the reference's tests
took with and without the ``gpu`` tests. Then it grades each reference sample alone with
``autograder grade``, whose canary must pass on this machine. With ``--validate`` it also runs ``autograder
validate`` (one seed) on each assignment, so that every catalogued mistake is proven caught and
named with the ``gpu`` tests running too (a few more minutes). Exit status 0 when every sample
scored as expected, every reference has full marks with every ``gpu`` test passed, every canary
passed, and every validation passed.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def install(wheels: str | None) -> str:
    site = tempfile.mkdtemp(prefix="autograder-site-")
    extra = sorted(glob.glob(os.path.join(wheels, "*.whl"))) if wheels else []
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
                    "--no-compile", "--target", site, str(ROOT), *extra], check=True)
    return site


def machine() -> str:
    import torch

    if not torch.cuda.is_available():
        return f"torch {torch.__version__}: no CUDA device"
    names = {torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())}
    return (f"torch {torch.__version__} (CUDA {torch.version.cuda}), {torch.cuda.device_count()} x "
            f"{', '.join(sorted(names))}, {os.cpu_count()} CPUs")


def report(results: Path) -> bool:
    ok = True
    for folder in sorted(p for p in results.iterdir() if p.is_dir()):
        ref_path, stub_path = folder / "reference.json", folder / "stub.json"
        if not ref_path.exists():
            continue
        ref = json.loads(ref_path.read_text())
        stub = json.loads(stub_path.read_text()) if stub_path.exists() else None
        gpu = [t for t in ref["tests"] if t.get("gpu")]
        every = sum(t["duration"] for t in ref["tests"])
        without = sum(t["duration"] for t in ref["tests"] if not t.get("gpu"))
        full = ref["score"] == ref["max_score"]
        passed = bool(gpu) and all(t["outcome"] == "passed" for t in gpu)
        ok &= full and passed and (stub is None or stub["score"] == 0)
        stub_text = "" if stub is None else f", stub {stub['score']:g}/{stub['max_score']:g}"
        print(f"\n{folder.name}: reference {ref['score']:g}/{ref['max_score']:g}{stub_text}; "
              f"tests {every:.2f} s with the gpu tests, {without:.2f} s without")
        for t in gpu:
            line = t["output"].splitlines()[0] if t["output"] else ""
            print(f"  gpu {t['outcome']:>9}  {t['nodeid'].split('::', 1)[-1]}" + (f"  ({line[:150]})" if line else ""))
        if not gpu:
            print("  no gpu test in this assignment's results")
        iso = ref.get("isolation", {})
        print(f"  isolation: gpu = {iso.get('gpu')}; memory = {iso.get('memory')}")
    return ok


def canaries(env: dict, names: list[str], seed: int) -> bool:
    """`autograder grade` of each reference sample alone, all at once: each batch's canary (the
    reference graded first, gpu tests included) must pass on this machine, and the batch exit 0."""
    begin = time.monotonic()
    runs = {}
    for name in names:
        subs = Path(tempfile.mkdtemp(prefix=f"autograder-canary-{name}-"))
        solution = ROOT / "solutions" / name
        (subs / "reference").mkdir()
        for module in tomllib.loads((solution / "assignment.toml").read_text())["assignment"]["modules"]:
            shutil.copy(solution / f"{module}.py", subs / "reference")
        runs[name] = subprocess.Popen(
            [sys.executable, "-m", "autograder", "grade", name, str(subs), "--out", str(subs.with_name(subs.name + "-out")),
             "-j", "1", "--seed", str(seed), "--course", str(ROOT)],
            env=env, cwd=tempfile.gettempdir(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ok = True
    for name, run in runs.items():
        output = run.communicate()[0]
        print(f"grade {name} (canary, then the reference): exit {run.returncode}")
        if run.returncode != 0:
            print(output[-3000:])
        ok &= run.returncode == 0
    print(f"canaries: {time.monotonic() - begin:.0f} s")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", help="folder of wheels the machine lacks (installed with the project)")
    parser.add_argument("--jobs", "-j", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--validate", action="store_true", help="also validate each assignment (one seed)")
    parser.add_argument("names", nargs="*", help="assignments (default: all)")
    args = parser.parse_args()
    start = time.monotonic()
    site = install(args.wheels)
    print(f"installed in {time.monotonic() - start:.0f} s; {machine()}", flush=True)
    env = {**os.environ, "PYTHONPATH": site + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = Path(tempfile.mkdtemp(prefix="autograder-gpu-check-"))
    begin = time.monotonic()
    samples = subprocess.run([sys.executable, "-m", "autograder", "samples", "--out", str(out), "--seed",
                              str(args.seed), "-j", str(args.jobs), "--course", str(ROOT), *args.names],
                             env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True)
    graded = len(glob.glob(str(out / "*" / "*.json")))
    print(f"autograder samples: exit {samples.returncode}, {graded} submissions in {time.monotonic() - begin:.0f} s "
          f"(-j {args.jobs})")
    tail = [line for line in samples.stdout.splitlines() if "scored" in line or "expected" in line]
    print("\n".join(tail[-20:]) or samples.stdout[-3000:], samples.stderr[-3000:], sep="\n")
    ok = report(out) and samples.returncode == 0 and canaries(env, args.names or sorted(
        p.name for p in out.iterdir() if p.is_dir()), args.seed)
    if args.validate:
        print()
        for name in args.names or sorted(p.name for p in out.iterdir() if p.is_dir()):
            begin = time.monotonic()
            run = subprocess.run([sys.executable, "-m", "autograder", "validate", name, "--seeds", "1", "--seed",
                                  str(args.seed), "-j", str(args.jobs), "--course", str(ROOT)],
                                 env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True)
            named = run.stdout.count("caught and named")
            print(f"validate {name}: exit {run.returncode}, {named} mistakes caught and named, "
                  f"{time.monotonic() - begin:.0f} s")
            if run.returncode != 0:
                print("\n".join(run.stdout.splitlines()[-15:]), run.stderr[-2000:], sep="\n")
            ok &= run.returncode == 0
    print(f"\n{'OK' if ok else 'NOT OK'}: {time.monotonic() - start:.0f} s in all")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
