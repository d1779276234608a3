"""The real-AWS tests' runner ends the whole process group of `make deploy` on time-out."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.aws.process_group import run_in_own_group


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child of an exited parent is reaped by init; until then it is a zombie, which counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_time_out_ends_the_grandchildren_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    # Like make -> npx cdk -> node: the shell starts a long child and waits for it.
    script = f"sleep 300 & echo $! > {pid_file}; wait"
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_own_group(["bash", "-c", script], timeout=1.0, grace=2.0)
    grandchild = int(pid_file.read_text())
    assert _wait_gone(grandchild)


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    pid_file = tmp_path / "stubborn.pid"
    script = f"trap '' TERM; bash -c \"trap '' TERM; sleep 300\" & echo $! > {pid_file}; wait"
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_own_group(["bash", "-c", script], timeout=1.0, grace=0.5)
    assert _wait_gone(int(pid_file.read_text()))
    assert time.monotonic() - started < 10


def test_the_exit_code_comes_back_when_it_finishes_in_time() -> None:
    assert run_in_own_group(["bash", "-c", "exit 3"], timeout=30) == 3
