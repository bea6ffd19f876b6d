"""A private, real Postfix instance on loopback that turns mail into real DSNs.

Started as root with its own ``config_directory``, ``queue_directory`` and
``data_directory`` in a fresh directory (``postfix -c DIR start-fg``), nothing from
``/etc/postfix`` but the binaries' metadata. It listens on ``127.0.0.1:PORT`` only and
delivers nothing off the machine:

* ``mta.mailcheck.test`` is a local domain (``mydestination``) with no users but root:
  ``local_recipient_maps`` is empty, so smtpd *accepts* ``nosuchuser@mta.mailcheck.test``
  and local(8) then bounces it ("User unknown", ``5.1.1``) — a DSN Postfix writes itself.
* ``lists.mailcheck.test`` is a virtual mailbox domain: ``bounces@`` (and, through
  ``recipient_delimiter = +``, every ``bounces+TOKEN@``) is a Maildir that virtual(8)
  writes, adding ``Delivered-To:`` and ``X-Original-To:`` as it does for a real hoster.

* ``mailboxes=("ana@plain.sending.test", ...)`` adds virtual mailbox domains with those
  Maildirs (:meth:`PostfixTestServer.mailbox`); an unknown user of such a domain is
  accepted too, then bounced by virtual(8).

So a message sent with a VERP return path to a nonexistent user comes back as a DSN in
``maildir`` (``new/``), exactly as a hoster's bounce mailbox would receive it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from tests.redis_server import free_port

#: The Debian/Ubuntu package that provides Postfix (``scripts/need-system`` installs it).
POSTFIX_PACKAGE = "postfix"
LOCAL_DOMAIN = "mta.mailcheck.test"
BOUNCE_DOMAIN = "lists.mailcheck.test"

_SERVICES = [
    # service type private unpriv chroot wakeup maxproc command: the daemons a local
    # delivery and a bounce need, none chrooted (the instance has no chroot jail).
    "{listen} inet n - n - - smtpd",
    "pickup unix n - n 60 1 pickup",
    "cleanup unix n - n - 0 cleanup",
    "qmgr unix n - n 300 1 qmgr",
    "rewrite unix - - n - - trivial-rewrite",
    "bounce unix - - n - 0 bounce",
    "defer unix - - n - 0 bounce",
    "trace unix - - n - 0 bounce",
    "verify unix - - n - 1 verify",
    "flush unix n - n 1000? 0 flush",
    "proxymap unix - - n - - proxymap",
    "showq unix n - n - - showq",
    "error unix - - n - - error",
    "retry unix - - n - - error",
    "discard unix - - n - - discard",
    "local unix - n n - - local",
    "virtual unix - n n - - virtual",
    "smtp unix - - n - - smtp",
    "relay unix - - n - - smtp",
    "anvil unix - - n - 1 anvil",
    "scache unix - - n - 1 scache",
    "postlog unix-dgram n - n - 1 postlogd",
]


class PostfixMissing(RuntimeError):
    """Postfix is not installed: the DSN tests cannot run without it (they never skip)."""


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(64).startswith(b"220")
    except OSError:
        return False


class PostfixTestServer:
    """A private Postfix (``postfix -c DIR start-fg``) on ``127.0.0.1:port``.

    Use as a context manager; ``send_to_unknown_user()`` submits one message and
    ``wait_for_bounces()`` returns the DSNs that arrived in :attr:`maildir`.
    """

    def __init__(self, mailboxes: tuple[str, ...] = ()) -> None:
        postfix = shutil.which("postfix") or "/usr/sbin/postfix"
        if not Path(postfix).exists() or not Path("/usr/lib/postfix/sbin/master").exists():
            raise PostfixMissing(
                f"Postfix is not installed; install it with `apt-get install -y "
                f"{POSTFIX_PACKAGE}` or scripts/need-system (the DSN tests never skip)"
            )
        if os.geteuid() != 0:
            raise PostfixMissing("a private Postfix instance must be started as root")
        self.postfix = postfix
        self.port = free_port()
        # Postfix daemons run as the postfix user and must reach the queue: a directory
        # under /tmp with mode 755 (pytest's tmp_path is private to root).
        self.root = Path(tempfile.mkdtemp(prefix="mailcheck-postfix-"))
        self.root.chmod(0o755)
        self.config = self.root / "etc"
        self.maildir = self.root / "vmail" / "bounces"
        #: Addresses with a Maildir of their own (virtual mailbox domains); any other
        #: address of their domains is accepted, then bounced by virtual(8).
        self.mailboxes = mailboxes
        self._process: subprocess.Popen[bytes] | None = None
        self._log = self.root / "postfix.log"

    def _write_config(self) -> None:
        nobody = pwd.getpwnam("nobody")
        for sub in ("etc", "queue", "data", "vmail"):
            (self.root / sub).mkdir(mode=0o755)
        os.chown(self.root / "data", pwd.getpwnam("postfix").pw_uid, -1)
        os.chown(self.root / "vmail", nobody.pw_uid, nobody.pw_gid)
        lines = [f"bounces@{BOUNCE_DOMAIN} bounces/"]
        lines += [f"{address} {self._folder(address)}/" for address in self.mailboxes]
        (self.config / "vmailbox").write_text("\n".join(lines) + "\n")
        domains = sorted({BOUNCE_DOMAIN, *(a.rpartition("@")[2] for a in self.mailboxes)})
        main = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.root / "queue"),
            "data_directory": str(self.root / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": LOCAL_DOMAIN,
            "mydomain": "mailcheck.test",
            "myorigin": LOCAL_DOMAIN,
            "mydestination": LOCAL_DOMAIN,
            "mynetworks": "127.0.0.0/8",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            # Accept any local user at RCPT time, so local(8) bounces the unknown one.
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "recipient_delimiter": "+",
            "virtual_mailbox_domains": ", ".join(domains),
            # Accept unknown users at RCPT time: the bounce comes later, as a DSN.
            "smtpd_reject_unlisted_recipient": "no",
            "virtual_mailbox_base": str(self.root / "vmail"),
            "virtual_mailbox_maps": f"texthash:{self.config / 'vmailbox'}",
            "virtual_minimum_uid": "1",
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "smtpd_peername_lookup": "no",
            "disable_dns_lookups": "yes",
            "smtp_dns_support_level": "disabled",
            "biff": "no",
            "append_dot_mydomain": "no",
            "notify_classes": "",
            "smtputf8_enable": "no",
            # MAILLOG_README: log to stdout under "postfix start-fg" (captured in a file).
            "maillog_file": "/dev/stdout",
        }
        (self.config / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in main.items()))
        listen = f"127.0.0.1:{self.port}"
        services = "".join(line.format(listen=listen) + "\n" for line in _SERVICES)
        (self.config / "master.cf").write_text(services)

    def start(self, *, timeout: float = 30.0) -> PostfixTestServer:
        """Write the configuration, start ``master`` in the foreground, wait for ``220``."""
        self._write_config()
        env = {**os.environ, "MAIL_CONFIG": str(self.config)}
        subprocess.run(  # creates the queue's subdirectories with their owners and modes
            [self.postfix, "-c", str(self.config), "set-permissions"],
            env=env,
            check=False,
            capture_output=True,
        )
        with self._log.open("wb") as log:  # the child keeps its own descriptor
            self._process = subprocess.Popen(
                [self.postfix, "-c", str(self.config), "start-fg"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while not _answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Postfix did not start:\n{self.log()}")
            time.sleep(0.05)
        return self

    @staticmethod
    def _folder(address: str) -> str:
        return address.replace("@", "_at_")

    def mailbox(self, address: str) -> Path:
        """The Maildir of one of :attr:`mailboxes`."""
        return self.root / "vmail" / self._folder(address)

    def log(self) -> str:
        """What Postfix logged so far."""
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def send(self, message: EmailMessage, *, mail_from: str, rcpt_to: str) -> None:
        """Submit one message over SMTP to the instance."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.send_message(message, from_addr=mail_from, to_addrs=[rcpt_to])

    def wait_for_bounces(self, count: int, *, timeout: float = 60.0) -> list[bytes]:
        """The first ``count`` messages delivered to the bounce Maildir (``new/``)."""
        deadline = time.monotonic() + timeout
        new = self.maildir / "new"
        while True:
            files = sorted(new.iterdir()) if new.is_dir() else []
            if len(files) >= count:
                return [path.read_bytes() for path in files]
            if time.monotonic() > deadline:
                raise RuntimeError(f"no DSN arrived after {timeout} s:\n{self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop ``master`` (``postfix stop``), then wait for the process."""
        if self._process is None:
            return
        if self._process.poll() is None:
            subprocess.run(
                [self.postfix, "-c", str(self.config), "stop"], check=False, capture_output=True
            )
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None

    def close(self) -> None:
        """Stop Postfix and remove its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostfixTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
