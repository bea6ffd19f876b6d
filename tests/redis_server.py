"""A real ``redis-server`` on a free loopback port, for tests and benchmarks.

The server keeps nothing on disk (``--save '' --appendonly no``) and can be stopped and
started again on the same port in the middle of a test, to play "Redis went away".
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

#: The Debian/Ubuntu package that provides the binary (``apt-get install -y redis-server``).
REDIS_PACKAGE = "redis-server"


class RedisServerMissing(RuntimeError):
    """``redis-server`` is not installed: the Redis tests cannot run without it."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int, timeout: float = 0.2) -> bool:
    """True when a Redis server answers ``PING`` on ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisTestServer:
    """A ``redis-server`` child process on ``127.0.0.1:port``.

    Args:
        port: the port to listen on; a free one when omitted. It stays the same across
            ``stop()`` / ``start()`` so clients can reconnect to the same URL.
    """

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisServerMissing(
                f"redis-server is not installed; install it with "
                f"`apt-get install -y {REDIS_PACKAGE}` (the Redis tests never skip)"
            )
        self.binary = binary
        self.port = port or free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="mailcheck-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, *, timeout: float = 10.0) -> RedisTestServer:
        """Start the server and wait until it answers ``PING``."""
        if self.running:
            return self
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self._dir.name,
            "--logfile",
            str(Path(self._dir.name) / "redis.log"),
        ]
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not _ping(self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Kill the server (SIGKILL: no shutdown save) and wait until the port is closed."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> None:
        """Stop then start again on the same port, with an empty data set."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and remove its working directory."""
        self.stop()
        self._dir.cleanup()
