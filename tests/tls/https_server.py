"""A real HTTPS server on loopback (uvicorn, a tiny ASGI app) serving MTA-STS policies.

The policy served depends on the ``Host`` header: ``mta-sts.<label>.tlstest.test`` gets
the behaviour named ``<label>`` (valid, wrong content type, redirect, oversized, a
server that never answers...). Every request is logged by host.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _policy(mode: str, *mx: str, max_age: int = 604800) -> bytes:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {m}" for m in mx), f"max_age: {max_age}"]
    return ("\r\n".join(lines) + "\r\n").encode()


PLAIN = "text/plain; charset=utf-8"
# label -> (status, content type, body, extra headers)
BEHAVIOURS: dict[str, tuple[int, str, bytes, dict[str, str]]] = {
    "tlstest": (200, PLAIN, _policy("enforce", "*.tlstest.test"), {}),
    "valid": (200, PLAIN, _policy("enforce", "mx1.valid.tlstest.test"), {}),
    "testing": (200, PLAIN, _policy("testing", "*.testing.tlstest.test", "mx9.example.net"), {}),
    "ctype": (200, "text/html", _policy("enforce", "mx1.ctype.tlstest.test"), {}),
    "redirect": (301, "text/html", b"moved", {"location": "https://elsewhere.tlstest.test/"}),
    "big": (200, PLAIN, _policy("enforce", "mx1.big.tlstest.test") + b"x: " + b"y" * 100_000, {}),
    "missing": (404, "text/html", b"not found", {}),
    "syntax": (200, PLAIN, b"<html>welcome</html>", {}),
    "badcert": (200, PLAIN, _policy("enforce", "mx1.badcert.tlstest.test"), {}),
    "uncovered": (200, PLAIN, _policy("enforce", "mx9.uncovered.tlstest.test"), {}),
    "short": (200, PLAIN, _policy("enforce", "mx1.short.tlstest.test", max_age=3600), {}),
}
#: The names the test certificate carries (``badcert``'s is left out on purpose).
CERT_NAMES = [f"mta-sts.{label}.tlstest.test" for label in BEHAVIOURS if label != "tlstest"]
CERT_NAMES = [n for n in CERT_NAMES if "badcert" not in n] + [
    "mta-sts.tlstest.test",
    "mta-sts.slow.tlstest.test",
]


class PolicyServer:
    """uvicorn on 127.0.0.1:<free port> in its own thread."""

    def __init__(self, certfile: str, keyfile: str) -> None:
        self.requests: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
            log_level="error",
            lifespan="off",
            timeout_graceful_shutdown=1,
            access_log=False,
            interface="asgi3",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="policy-https", daemon=True)
        self._hang: asyncio.Event | None = None

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> PolicyServer:
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            threading.Event().wait(0.01)
        raise RuntimeError("the HTTPS test server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(10)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        host = headers.get(b"host", b"").decode().split(":")[0].lower()
        self.requests.append(host)
        label = host.removeprefix("mta-sts.").split(".")[0]
        if label == "slow":
            await asyncio.Event().wait()  # never answers: the client's timeout must end it
        status, content_type, body, extra = BEHAVIOURS.get(
            label, (404, "text/plain", b"unknown host", {})
        )
        head = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        head += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})
