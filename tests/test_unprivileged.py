"""A TA without root: a batch graded by an unprivileged user survives the attacks on the sandbox.

Without root there are no cgroups and no uid of the worker's own: the worker
shares the grader's uid, inside a user namespace. What keeps it from ending
the batch (signals to the judge, to its process group, kill(-1)) is its PID
namespace; what keeps students apart is its IPC namespace and private
/dev/shm. As root, the test runs the grader as ``nobody`` (in a mount
namespace where the folders on the way to the interpreter are open to it).
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.config import solution_assignment
from autograder.samples import unpack_samples

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
GRADED = ["reference", "stub", "attack-kill-ancestors", "attack-shared-memory", "attack-namespace-escape"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the unprivileged sandbox is Linux's"),
]


def _blocked_folders(paths: list[str]) -> dict[str, list[str]]:
    """{folder others cannot cross: [its children on the way to ``paths``]}."""
    blocked: dict[str, set[str]] = {}
    for path in paths:
        parts = Path(os.path.realpath(path)).parts
        for i in range(2, len(parts)):
            folder = str(Path(*parts[:i]))
            if not os.stat(folder).st_mode & 0o001:
                blocked.setdefault(folder, set()).add(parts[i])
    return {folder: sorted(children) for folder, children in blocked.items()}


def _as_nobody(cmd: list[str]) -> list[str]:
    """``cmd`` run by an unprivileged user: as it is when we are not root; as root, as ``nobody``
    inside a mount namespace where each folder it cannot cross (``/root`` for an interpreter
    installed there) is replaced by one that holds only the way through."""
    if os.geteuid() != 0:
        return cmd
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        pytest.skip("needs util-linux's unshare and setpriv to run the grader as nobody")
    script = ["set -e"]
    for n, (folder, children) in enumerate(_blocked_folders([sys.prefix, sys.base_prefix, str(ROOT)]).items()):
        script.append(f"keep=$(mktemp -d)")
        script += [f"mkdir $keep/{c} && mount --bind {folder}/{c} $keep/{c}" for c in children]
        script.append(f"mount -t tmpfs -o mode=0755 tmpfs {folder}")
        script += [f"mkdir {folder}/{c} && mount --move $keep/{c} {folder}/{c}" for c in children]
    script.append(f'exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script), "sh", *cmd]


def _leftovers() -> set[str]:
    """What the graded user left on the machine: its files in /dev/shm, and the attacks' System V objects."""
    user = NOBODY if os.geteuid() == 0 else os.getuid()
    shm = Path("/dev/shm")
    found = {str(p) for p in shm.iterdir() if p.stat().st_uid == user} if shm.is_dir() else set()
    if shutil.which("ipcs"):
        listed = subprocess.run(["ipcs"], capture_output=True, text=True).stdout
        found |= {line.split()[0] for line in listed.splitlines() if line.startswith("0x4147")}
    return found


def test_an_unprivileged_batch_finishes_and_no_attack_scores(tmp_path):
    work = Path(tempfile.mkdtemp(prefix="autograder-unprivileged-"))
    try:
        subs, out = work / "subs", work / "out"
        unpack_samples(solution_assignment(ROOT, "backprop"), subs, GRADED)
        out.mkdir()
        for path in (work, subs, out):
            os.chmod(path, 0o777 if path == out else 0o755)
        if os.geteuid() == 0:
            os.chown(out, NOBODY, NOBODY)
        before = _leftovers()
        cmd = [sys.executable, "-m", "autograder.cli", "grade", "backprop", str(subs), "--out", str(out),
               "-j", "1", "--seed", "1", "--course", str(ROOT)]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(out), "LANG": "C.UTF-8",
               "MPLCONFIGDIR": str(out / ".mpl")}
        env.update({k: v for k, v in os.environ.items() if k == "PYTHONPATH"})  # the engine under test
        run = subprocess.run(_as_nobody(cmd), capture_output=True, text=True, env=env, cwd=str(work), timeout=600)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
        rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
        assert sorted(rows) == sorted(GRADED)
        assert rows["reference"]["score"] == rows["reference"]["max_score"] and float(rows["reference"]["max_score"]) > 0
        assert {name: rows[name]["score"] for name in GRADED if name != "reference"} == \
            {name: "0" for name in GRADED if name != "reference"}
        assert _leftovers() - before == set()
        import json

        isolation = json.loads((out / "reference.json").read_text())["isolation"]
        assert isolation["user"] == "user namespace, same uid outside"
        assert isolation["pid_namespace"].startswith("a PID namespace of its own")
        assert isolation["ipc"].startswith("an IPC namespace of its own")
        assert "no cgroup" in isolation["cpu"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
