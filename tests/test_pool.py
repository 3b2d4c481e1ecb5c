"""Pool processes do not outlive the grading process that started them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

DRIVER = textwrap.dedent("""
    import os, sys, time
    from autograder.grade import make_executor
    pool = make_executor(1, "fork", None)
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(600)
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_processes_and_their_fork_servers_end_when_the_grader_is_killed():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True)
    try:
        pool = [int(p) for p in driver.stdout.readline().split()]
        servers = [c for p in pool for c in _children(p)]
        assert len(pool) == 1 and len(servers) == 1, (pool, servers)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 10
        while any(map(_alive, pool + servers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in pool + servers if _alive(p)], "left behind after the grader was killed"
    finally:
        if driver.poll() is None:
            driver.kill()
