from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from supportdesk.celery import WORKER_FLAGS, app
from tests.supportdesk.test_settings import GOOD_KEY, ROOT, run_manage

pytestmark = pytest.mark.broker


def test_every_beat_entry_names_a_registered_task() -> None:
    app.loader.import_default_modules()
    app.autodiscover_tasks(["reports"], force=True)
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)
    expected = {"sla.tasks.sla_sweep_run", "mail.mailboxes_poll", "sla.reports_monthly_send"}
    assert expected <= scheduled


def test_tasks_acknowledge_late_so_a_killed_worker_loses_nothing() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True


RECOVERY_LIMIT = 120
"""Seconds within which a killed worker's task must run elsewhere (issue 13, item 3)."""

_BROKERS = {
    "amqp": "amqp://guest:guest@127.0.0.1:5672/supportdesk",
    "redis": "redis://127.0.0.1:6379/1",
    "filesystem": "",
}


def _celery_conf(broker_url: str) -> dict[str, Any]:
    """The Celery configuration production settings give for ``broker_url``."""
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "import json; from supportdesk.celery import app; c = app.conf; print(json.dumps({k: "
        "c[k] for k in ('broker_url', 'broker_transport_options', 'task_acks_late', "
        "'task_reject_on_worker_lost', 'worker_prefetch_multiplier', 'task_time_limit', "
        "'broker_connection_retry_on_startup', 'task_default_queue_type', "
        "'task_create_missing_queue_type', 'task_default_exchange_type')}))",
        SECRET_KEY=GOOD_KEY,
        REDIS_URL="",
        CELERY_BROKER_URL=broker_url,
    )
    assert result.returncode == 0, result.stderr
    conf: dict[str, Any] = json.loads(result.stdout)
    return conf


@pytest.mark.parametrize("broker", sorted(_BROKERS))
def test_every_broker_acknowledges_late_one_task_at_a_time(broker: str) -> None:
    conf = _celery_conf(_BROKERS[broker])
    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True
    # The embedded broker has one worker, nobody for a held task to wait for (see below).
    assert conf["worker_prefetch_multiplier"] == (4 if broker == "filesystem" else 1)
    assert conf["broker_connection_retry_on_startup"] is True


def test_rabbitmq_confirms_publishes_into_durable_quorum_queues() -> None:
    conf = _celery_conf(_BROKERS["amqp"])
    assert conf["broker_transport_options"] == {"confirm_publish": True}
    assert conf["task_default_queue_type"] == "quorum"
    assert conf["task_create_missing_queue_type"] == "quorum"
    # Native delayed delivery (countdowns on quorum queues) cannot route through direct ones.
    assert conf["task_default_exchange_type"] == "topic"


def test_redis_redelivers_a_killed_workers_task_within_two_minutes_and_never_a_running_one() -> (
    None
):
    conf = _celery_conf(_BROKERS["redis"])
    options = conf["broker_transport_options"]
    sweep = options["unacked_restore_interval"] * options["unacked_restore_throttle"]
    assert options["visibility_timeout"] + sweep < RECOVERY_LIMIT
    # A task still running when its message became visible again would run twice.
    assert conf["task_time_limit"] < options["visibility_timeout"]


def test_the_embedded_broker_stays_serverless() -> None:
    conf = _celery_conf("")
    assert conf["broker_url"] == "filesystem://"
    assert "data_folder_in" in conf["broker_transport_options"]


def test_the_embedded_broker_never_waits_a_second_between_tasks() -> None:
    # kombu sleeps its polling interval (1 s by default) whenever a poll hands out nothing,
    # and while every prefetch slot is taken: a two-process worker then ran two tasks a second
    # and a 30 s filing burst took an hour to drain (issue 18; make bench-broker).
    conf = _celery_conf("")
    assert conf["broker_transport_options"]["polling_interval"] <= 0.1
    # Slots beyond the two running tasks, so a process that finishes has the next at hand.
    assert conf["worker_prefetch_multiplier"] > 1


def test_an_unknown_broker_stops_start_up_naming_the_variable() -> None:
    result = run_manage("check", SECRET_KEY=GOOD_KEY, CELERY_BROKER_URL="kafka://127.0.0.1")
    assert result.returncode != 0
    assert "Configuration error: CELERY_BROKER_URL" in result.stderr


@pytest.mark.parametrize("url", ["filesystem://", "memory://"])
def test_the_serverless_brokers_may_be_named(url: str) -> None:
    # .ci/schemathesis runs its server on memory:// with eager tasks.
    result = run_manage("check", SECRET_KEY=GOOD_KEY, CELERY_BROKER_URL=url)
    assert result.returncode == 0, result.stderr


def test_every_worker_we_start_runs_without_gossip_and_mingle() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(WORKER_FLAGS) <= set(compose["services"]["worker"]["command"])
    rundev = (ROOT / "supportdesk/management/commands/rundev.py").read_text()
    assert "*WORKER_FLAGS" in rundev
