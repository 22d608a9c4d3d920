"""Outages fail clearly and heal by themselves: Redis away, the database connection lost.

The Redis outage runs against a private redis-server on its own free port, started and
stopped here, so the shared server is never touched.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import Client, override_settings

from supportdesk.settings import redis_cache_settings

from ..conftest import PASSWORD, Cast, host_of

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A throw-away redis-server on ``port`` that can be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(200):  # wait for it to accept connections, not for a time
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait()


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(_free_port())
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()


def _log_in(client: Client, username: str) -> int:
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    return response.status_code


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
def test_pages_and_the_login_keep_working_while_redis_is_down_and_after(cast: Cast) -> None:
    with private_redis() as redis:
        cache = redis_cache_settings(f"redis://127.0.0.1:{redis.port}/0")
        with override_settings(CACHES={"default": cache}):
            host = host_of(cast.tenant_a)
            before = Client(HTTP_HOST=host)
            assert _log_in(before, "a-agent") == 302
            assert before.get("/agent/queue/").status_code == 200

            redis.stop()
            assert before.get("/agent/queue/").status_code == 200, "a signed-in page, Redis down"
            during = Client(HTTP_HOST=host)
            assert _log_in(during, "a-customer") == 302, "the login, Redis down"
            assert during.get("/portal/").status_code == 200
            assert before.post("/accounts/logout/").status_code == 302
            assert before.get("/agent/queue/").status_code == 302, "signed out while Redis was down"

            redis.start()
            assert during.get("/portal/").status_code == 200, "Redis back"
            after = Client(HTTP_HOST=host)
            assert _log_in(after, "a-agent") == 302
            assert after.get("/agent/queue/").status_code == 200
