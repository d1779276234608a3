"""Run a command in its own process group, and end the whole group when it runs out of time.

``subprocess.run(timeout=...)`` kills only the direct child: ``make deploy`` would die while the CDK CLI,
node and the pre-flight it started go on, holding the stack. The group is sent SIGTERM first (the CDK CLI
stops its deploy monitor cleanly), then SIGKILL after a grace period.
"""

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

GRACE_SECONDS = 30.0


def run_in_own_group(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    grace: float = GRACE_SECONDS,
) -> int:
    """The command's exit code; on time-out every process of its group is ended and TimeoutExpired raised."""
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env) if env is not None else None, start_new_session=True
    )
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end_group(proc, grace)
        raise
    except BaseException:  # KeyboardInterrupt too: leave nothing running behind pytest
        _end_group(proc, grace)
        raise


def _end_group(proc: "subprocess.Popen[bytes]", grace: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; members that ignored SIGTERM may remain, so the next signal still goes out.
