"""A real validating resolver for the AD-bit tests: the distribution's unbound.

Started on a free loopback port with a config in a tmp dir: it forwards every question
to the DNS test server and validates with the test zones' trust anchors only.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import dns.exception
import dns.message
import dns.query

UNBOUND = "/usr/sbin/unbound"
#: The Debian/Ubuntu package that provides the binary (``apt-get install -y unbound``).
UNBOUND_PACKAGE = "unbound"


class UnboundMissing(RuntimeError):
    """unbound is not installed: the AD-bit tests cannot run without it."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Unbound:
    """``unbound -d`` with a tmp config; ``address`` is ``127.0.0.1:<port>``."""

    def __init__(self, directory: Path, *, upstream: str, anchors: Sequence[str]) -> None:
        binary = UNBOUND if Path(UNBOUND).exists() else shutil.which("unbound")
        if binary is None:
            raise UnboundMissing(
                f"unbound is not installed: apt-get install -y {UNBOUND_PACKAGE} "
                "(or scripts/need-system)"
            )
        self.binary = binary
        self.port = _free_port()
        self.directory = directory
        host, _, port = upstream.partition(":")
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            f"  port: {self.port}",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{directory}"',
            f'  pidfile: "{directory}/unbound.pid"',
            "  use-syslog: no",
            f'  logfile: "{directory}/unbound.log"',
            "  verbosity: 1",
            "  val-log-level: 2",
            "  do-ip6: no",
            "  access-control: 127.0.0.0/8 allow",
            "  do-not-query-localhost: no",
            "  qname-minimisation: no",
            '  module-config: "validator iterator"',
            "  cache-max-ttl: 1",
            "  cache-max-negative-ttl: 1",
            # unbound answers the RFC 6761 special-use "test." itself (NXDOMAIN): not here.
            '  local-zone: "test." nodefault',
            *(f'  trust-anchor: "{anchor}"' for anchor in anchors),
            "forward-zone:",
            '  name: "."',
            f"  forward-addr: {host}@{port}",
        ]
        self.config = directory / "unbound.conf"
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Unbound:
        self.process = subprocess.Popen(
            [self.binary, "-d", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        query = dns.message.make_query("ready.invalid.", "A")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"unbound exited: {error.strip()[:500]}")
            try:
                dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.2)
                return self
            except (dns.exception.Timeout, OSError):
                continue
        raise RuntimeError("unbound did not answer within 20 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
