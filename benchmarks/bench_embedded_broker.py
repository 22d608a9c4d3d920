"""The embedded default (SQLite + kombu's filesystem broker) under a filing burst.

Needs nothing running (``make bench-broker`` does)::

    .venv/bin/python -m benchmarks.bench_embedded_broker [seconds]

On a temporary data directory (SQLite database, ``celery/`` broker folders) it starts, per
candidate, a Celery worker and beat as ``make run`` does (``rundev``'s commands) and gunicorn
on a loopback port, files tickets over the portal API for ``seconds`` (30) at the maximum rate
(8 connections), then waits until the broker folder is empty and every filed ticket's event has
been handled (its agents' notice mails written and sent). Each filing publishes one
``ticket_events_dispatch`` task, which writes one mail per agent (two here) and publishes one
send task each: three messages per ticket.

The baseline is the previous tuning in the same run (kombu's 1 s polling interval, prefetch
multiplier 1); its drain is cut off after ``BASELINE_CAP`` seconds and the time left is
extrapolated at its measured rate. When SQLAlchemy is importable, kombu's SQLAlchemy transport
on a SQLite file runs too. Each prints the CPU the web server and the worker spent per ticket,
the figure the ceiling in docs/operations.md ("Brokers") comes from. Beat runs because events
may reach the worker through it (a relay). Wall-clock figures; no test asserts them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

# Before Django loads: an empty data directory, SQLite and the filesystem broker, whatever
# the shell exports.
DATA = Path(tempfile.mkdtemp(prefix="bench-broker-"))
for _name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"):
    os.environ.pop(_name, None)
os.environ["DATA_DIR"] = str(DATA)
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django_scopes import scope  # noqa: E402

from benchmarks.http_load import load, load_average, served  # noqa: E402
from supportdesk.management.commands.rundev import beat_command, worker_command  # noqa: E402
from supportdesk.models import ApiToken, Tenant, User  # noqa: E402
from tests.conftest import build_cast  # noqa: E402
from tests.tickets.conftest import build_desk  # noqa: E402
from tickets.mail.models import OutboundEmail, OutboundStatus  # noqa: E402
from tickets.models import Ticket  # noqa: E402

SECONDS = 30.0
CONNECTIONS = 8
BASELINE_CAP = 60.0
AGENTS = 2  # the cast's admin and agent, each told of a new ticket
DRAIN_CAP = 300.0
QUEUE = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))


@dataclass
class Candidate:
    label: str
    env: dict[str, str] = field(default_factory=dict)
    worker: list[str] | None = None  # the worker command; rundev's when None
    cap: float = DRAIN_CAP


def queued(candidate: Candidate) -> int:
    """Messages waiting in the candidate's broker."""
    url = candidate.env.get("BENCH_BROKER_URL", "")
    if url.startswith("sqla+sqlite:///"):
        path = url.removeprefix("sqla+sqlite:///")
        if not Path(path).exists():
            return 0
        with closing(sqlite3.connect(path)) as db:
            try:
                row = db.execute("SELECT count(*) FROM kombu_message WHERE visible").fetchone()
                return int(row[0])
            except sqlite3.OperationalError:  # no table before the first message
                return 0
    return sum(1 for name in os.listdir(QUEUE) if name.endswith(".msg"))


def unhandled(tenant: Tenant, first_pk: int) -> tuple[int, int]:
    """(tickets filed since ``first_pk`` without their notice mails, mails not yet sent)."""
    with scope(tenant=tenant):
        tickets = Ticket.objects.filter(pk__gte=first_pk)
        missing = tickets.exclude(pk__in=OutboundEmail.objects.values("ticket_id")).count()
        unsent = OutboundEmail.objects.filter(
            ticket__pk__gte=first_pk, status=OutboundStatus.QUEUED
        ).count()
    return missing, unsent


def _stat(pid: str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and its live descendants."""
    stats = {pid: s for pid in os.listdir("/proc") if pid.isdigit() and (s := _stat(pid))}
    parents = {int(pid): int(s[1]) for pid, s in stats.items()}
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid, fields in stats.items():
        p = int(pid)
        while p not in (root, 0, 1) and p in parents:
            p = parents[p]
        if p == root:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def gunicorn_pid() -> int:
    for pid in os.listdir("/proc"):
        fields = _stat(pid) if pid.isdigit() else None
        if fields and int(fields[1]) == os.getpid():
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
    raise SystemExit("gunicorn is not running")


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    environ = {**os.environ, **env}
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter
            command, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_ready(log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while b" ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start; see {log}")
        time.sleep(0.2)


def run(number: int, candidate: Candidate, tenant: Tenant, key: str, seconds: float) -> None:
    for name in os.listdir(QUEUE):
        (QUEUE / name).unlink()
    log = DATA / f"worker-{number}.log"
    python = sys.executable
    env = {"DJANGO_SETTINGS_MODULE": "benchmarks.broker_settings", **candidate.env}
    worker = start(candidate.worker or worker_command(python), log, env)
    beat = start(beat_command(python), log, env)
    headers = {
        "Host": "127.0.0.1",
        "Authorization": f"Token {key}",
        "Content-Type": "application/json",
    }

    def request(index: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
        body = {"subject": f"Export fails {index}-{n}", "description": "Since the update."}
        return "POST", "/api/v1/portal/tickets/", json.dumps(body).encode(), headers

    def warm(index: int, n: int) -> tuple[str, str, None, dict[str, str]]:
        return "GET", "/api/v1/portal/tickets/?limit=1", None, headers

    try:
        wait_ready(log, worker)
        with scope(tenant=tenant):
            last = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first()
        first_pk = (last or 0) + 1
        with served(**env) as port:
            # Every gunicorn worker loads the application on its first request.
            load(port, warm, connections=CONNECTIONS, max_requests=24, max_seconds=30)
            web = gunicorn_pid()
            cpu_before = tree_cpu(web), tree_cpu(worker.pid)
            result = load(
                port,
                request,
                connections=CONNECTIONS,
                max_requests=10**9,
                max_seconds=seconds,
                ok=(201,),
            )
            burst_load = load_average()
            ended = time.monotonic()
            backlog = queued(candidate)
            missing, unsent = unhandled(tenant, first_pk)
            left = (backlog, missing, unsent)
            while left != (0, 0, 0) and time.monotonic() - ended < candidate.cap:
                time.sleep(0.5)
                left = (queued(candidate), *unhandled(tenant, first_pk))
            drained = time.monotonic() - ended
            cpu_web = tree_cpu(web) - cpu_before[0]
            cpu_worker = tree_cpu(worker.pid) - cpu_before[1]
    finally:
        stop(worker)
        stop(beat)
    filed = result.requests - result.failures
    print(f"\n  {candidate.label}")
    print(
        f"    filed {filed:,} tickets in {result.seconds:.0f} s ({filed / result.seconds:.1f}/s,"
        f" p95 {result.p(0.95):.0f} ms, {result.failures} failed); {burst_load}"
    )
    print(
        f"    at the end of the burst: {backlog:,} messages in the broker folder,"
        f" {missing:,} tickets without their mails, {unsent:,} mails unsent"
    )
    print(
        f"    CPU per ticket: web {cpu_web / filed * 1000:.0f} ms, worker"
        f" {cpu_worker / max(1, filed - left[1]) * 1000:.0f} ms (the worker's main process and"
        " its pool)"
    )
    # Counted in tasks: a ticket without its mails is its dispatch and one send per agent
    # still to run; an unsent mail is its send.
    per_ticket = 1 + AGENTS
    at_end, now = per_ticket * missing + unsent, per_ticket * left[1] + left[2]
    rate = (at_end - now) / drained if drained else 0.0
    if left == (0, 0, 0):
        print(f"    drained in {drained:.1f} s after the burst ({rate:.1f} tasks/s)")
        return
    # Cut off: extrapolate at the rate so far.
    rest = now / rate if rate else float("inf")
    print(
        f"    NOT drained after {drained:.0f} s: {left[0]:,} messages, {left[1]:,} tickets"
        f" without their mails and {left[2]:,} mails unsent; at the {rate:.1f} tasks/s since"
        f" the burst, about {drained + rest:,.0f} s in all"
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else SECONDS
    print(load_average())
    print(f"data directory {DATA} (SQLite, filesystem broker)")
    call_command("migrate", verbosity=0)
    cast = build_cast()
    build_desk(cast)
    tenant = cast.tenant_a
    with scope(tenant=tenant):
        _token, key = ApiToken.issue(
            tenant=tenant, user=User.objects.get(username="a-customer"), name="bench"
        )
    candidates = [
        Candidate("ours: settings.py and rundev as they are"),
        Candidate(
            "baseline: kombu's 1 s polling interval, prefetch multiplier 1",
            env={
                "BENCH_BROKER_OPTIONS": json.dumps({"polling_interval": None}),
                "BENCH_PREFETCH": "1",
            },
            cap=BASELINE_CAP,
        ),
    ]
    if importlib.util.find_spec("sqlalchemy") is not None:
        candidates.append(
            # It hands every transport option to SQLAlchemy's create_engine(), which refuses
            # polling_interval: it polls at kombu's default of 1 s.
            Candidate(
                "kombu's SQLAlchemy transport on a SQLite file (1 s polling), prefetch 4",
                env={"BENCH_BROKER_URL": f"sqla+sqlite:///{DATA / 'broker.sqlite3'}"},
                cap=BASELINE_CAP,
            )
        )
    else:
        print("(kombu's SQLAlchemy transport not measured: SQLAlchemy is not installed)")
    extra = os.environ.get("BENCH_CANDIDATES")
    if extra:
        candidates = [Candidate(**c) for c in json.loads(extra)]
    print(
        f"\nA {seconds:.0f} s burst: POST /api/v1/portal/tickets/ at {CONNECTIONS} connections,"
        " then until every event is handled"
    )
    try:
        for number, candidate in enumerate(candidates):
            run(number, candidate, tenant, key, seconds)
    finally:
        shutil.rmtree(DATA, ignore_errors=True)
    print(f"\n  ({load_average()})")


if __name__ == "__main__":
    main()
