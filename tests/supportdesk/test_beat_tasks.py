"""Every task beat enqueues runs to success on a real worker over the configured broker, as
beat publishes it (by name). Skipped on the filesystem broker or SQLite."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from supportdesk.celery import app as celery_app
from tests.celery_workers import (
    database_url,
    queue_delete,
    real_worker_test,
    wait_until,
    worker_ready,
    worker_start,
    worker_stop,
)

pytestmark = real_worker_test


def test_every_beat_task_succeeds_on_a_real_worker(tmp_path: Path) -> None:
    queue = f"beat-test-{uuid.uuid4().hex}"
    log_path = tmp_path / "worker.log"
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url()}
    with log_path.open("wb") as log:
        worker = worker_start(queue, name="beat-test", env=env, log=log, loglevel="info")
    try:
        worker_ready("beat-test")
        sent = {
            celery_app.send_task(entry["task"], queue=queue).id: entry["task"]
            for entry in celery_app.conf.beat_schedule.values()
        }

        def finished() -> set[str]:
            text = log_path.read_text(errors="replace")
            return set(re.findall(r"\[([0-9a-f-]{36})\] (?:succeeded|raised|failed)", text))

        wait_until(lambda: set(sent) <= finished(), 120, "every beat task to finish")
    finally:
        worker_stop(worker)
        queue_delete(queue)
    text = log_path.read_text(errors="replace")
    succeeded = set(re.findall(r"\[([0-9a-f-]{36})\] succeeded", text))
    assert succeeded == set(sent), {sent[i] for i in set(sent) - succeeded}
