"""Measuring for the benchmarks: in-process timings, and a bounded HTTP load loop against
gunicorn on a loopback port.

``timed()`` times in-process calls. ``served()`` starts gunicorn the way the Dockerfile does
(three sync workers) on a free port of 127.0.0.1, with the benchmark's database; ``load()``
sends requests from a number of parallel connections until a count or a time is reached,
whichever comes first, and stops by itself.
Traffic only ever goes to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

HOST = "127.0.0.1"


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(p50 ms, p95 ms) of ``runs`` in-process calls after one warm-up."""
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: str = "supportdesk.wsgi:application", **env: str) -> Iterator[int]:
    """gunicorn serving ``app`` on a free loopback port; yields the port, stops it after."""
    port = _free_port()
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DB_CONN_MAX_AGE": "60",
        **env,
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        "3",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=environ)  # noqa: S603 - our own interpreter
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class Result:
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def p(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, int(len(ordered) * share) - 1)] if ordered else 0.0

    def line(self, label: str) -> str:
        return (
            f"  {label:<46} {self.rate:8.1f} req/s   p50 {self.p(0.5):7.1f} ms"
            f"   p95 {self.p(0.95):7.1f} ms   ({self.requests} requests, {self.failures} failed)"
        )


Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers


def load(
    port: int,
    make_request: Callable[[int, int], Request],
    *,
    connections: int,
    max_requests: int,
    max_seconds: float,
    ok: tuple[int, ...] = (200,),
) -> Result:
    """Send ``make_request(connection, n)`` from ``connections`` threads until ``max_requests``
    have been sent or ``max_seconds`` have passed."""
    lock = threading.Lock()
    sent = [0]
    latencies: list[float] = []
    failures = [0]
    stop_at = time.monotonic() + max_seconds

    def worker(index: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            with lock:
                if sent[0] >= max_requests:
                    return
                sent[0] += 1
            method, path, body, headers = make_request(index, n)
            n += 1
            start = time.perf_counter()
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                good = response.status in ok
            except OSError:
                good = False
            finally:
                conn.close()
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                if not good:
                    failures[0] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(len(latencies), time.perf_counter() - began, latencies, failures[0])
