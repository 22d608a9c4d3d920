"""`make run` keeps its children running: one that dies is started again, with backoff."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from supportdesk.management.commands.rundev import Child, Supervisor

# Appends a line to a file on every start, then dies with code 3.
DYING = "import sys; open(sys.argv[1], 'a').write('started\\n'); sys.exit(3)"


def _supervise(tmp_path: Path, *, restarts: int, stable_after: float) -> tuple[list[float], Path]:
    starts = tmp_path / "starts"
    waits: list[float] = []
    child = Child("worker", [sys.executable, "-c", DYING, str(starts)])
    supervisor = Supervisor([child], sleep=waits.append, stable_after=stable_after)
    supervisor.start_all()
    while len(waits) < restarts:
        assert child.process is not None
        child.process.wait()  # the child's own exit, not a time limit
        supervisor.poll_once()
    assert child.process is not None
    child.process.wait()
    return waits, starts


def test_a_child_that_keeps_dying_is_restarted_with_doubling_pauses_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        waits, starts = _supervise(tmp_path, restarts=7, stable_after=60.0)
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    assert starts.read_text().count("started") == 8
    assert "worker exited with code 3" in caplog.text and "again in 16 s" in caplog.text


def test_a_child_that_ran_a_while_before_dying_is_restarted_after_a_second(
    tmp_path: Path,
) -> None:
    waits, _starts = _supervise(tmp_path, restarts=3, stable_after=0.0)
    assert waits == [1, 1, 1]


# A supervisor over one child that sleeps; prints the child's pid once it runs.
SUPERVISING = """
import sys, time
from supportdesk.management.commands.rundev import Child, Supervisor, supervise
child = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"])
supervisor = Supervisor([child])
supervisor.start = (lambda start: lambda c: (start(c), print(c.process.pid, flush=True)))(
    supervisor.start
)
supervise(supervisor, tick=0.05)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent's parent) is not running either.
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" not in status.read_text()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_make_run_with_a_signal_stops_its_children(stop: signal.Signals) -> None:
    process = subprocess.Popen(  # noqa: S603 - fixed command
        [sys.executable, "-c", SUPERVISING],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    child_pid = int(process.stdout.readline())
    assert _alive(child_pid)
    process.send_signal(stop)
    assert process.wait() == 0
    assert not _alive(child_pid)
