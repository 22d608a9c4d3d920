"""Private brokers for the tests that stop one: the shared servers are never stopped.

A private Redis is ``redis-server`` on a free port with its append-only file in a temp dir;
a private RabbitMQ is a ``rabbitmq-server`` node of its own (RABBITMQ_NODENAME,
RABBITMQ_NODE_PORT, RABBITMQ_DIST_PORT, RABBITMQ_MNESIA_BASE in a temp dir). Both keep their
data across :meth:`stop` and :meth:`start`, as a restarted production broker does.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


class BrokerUnavailable(Exception):
    """A private broker cannot start here; the message says why (the test skips with it)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateBroker:
    """One broker process of our own; ``url`` is what CELERY_BROKER_URL should say."""

    url: str

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self, seconds: float = 90) -> None:
        log = (self.folder / "broker.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed server binary
            self._command(),
            env=self._env(),
            cwd=self.folder,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + seconds
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = (self.folder / "broker.log").read_text(errors="replace")[-600:]
                raise BrokerUnavailable(f"{self._command()[0]} did not start: {tail}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the broker as ``docker stop`` or a service restart does (SIGTERM); a broker
        still up after 30 s is killed."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
        self.process = None


class PrivateRedis(PrivateBroker):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        if shutil.which("redis-server") is None:
            raise BrokerUnavailable("redis-server is not installed")
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        # appendfsync always: a message acknowledged by Redis survives the kill, as in compose.
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--appendfsync", "always",
                "--dir", str(self.folder)]  # fmt: skip


class PrivateRabbitMQ(PrivateBroker):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        if not (RABBITMQ_BIN / "rabbitmq-server").exists():
            raise BrokerUnavailable("rabbitmq-server is not installed")
        self.dist_port = free_port()
        self.node = f"supportdesk-test-{uuid.uuid4().hex[:8]}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        (folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (folder / "enabled_plugins").write_text("[].\n")

    def _command(self) -> list[str]:
        # The script under /usr/lib runs the node as the calling user (the /usr/sbin wrapper
        # would switch to the rabbitmq user, who cannot write our temp dir).
        return [str(RABBITMQ_BIN / "rabbitmq-server")]

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.folder),  # its own Erlang cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbitmq.pid"),
        }
