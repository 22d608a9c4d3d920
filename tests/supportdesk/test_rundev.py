"""`make run` keeps its children running: one that dies is started again, with backoff."""

from __future__ import annotations

import logging
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
