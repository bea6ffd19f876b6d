"""A real Dovecot IMAP server on a free loopback port, for the ingestion tests.

A private instance: its own configuration, run directory, log and mail in a temporary
directory, IMAPS only (implicit TLS) with a self-signed certificate the client is given as
its CA, users in a passwd-file. Mail is delivered by writing into the user's Maildir (as an
MDA would) or by IMAP APPEND. The tests never skip when Dovecot is missing: they fail with
what to install (``scripts/need-system`` installs it).
"""

from __future__ import annotations

import getpass
import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.redis_server import free_port
from tests.tls.certs import TestCa

#: The Debian package that provides the server.
DOVECOT_PACKAGE = "dovecot-imapd"
DOVECOT = "/usr/sbin/dovecot"


class DovecotMissing(RuntimeError):
    """Dovecot is not installed: the IMAP tests cannot run without it."""


class DovecotTestServer:
    """A Dovecot child process serving IMAPS on ``127.0.0.1:port``.

    Args:
        users: ``{name: password}``; each gets ``~/Maildir`` under the temporary directory.
    """

    def __init__(self, users: dict[str, str] | None = None) -> None:
        if not os.path.exists(DOVECOT):
            raise DovecotMissing(
                f"Dovecot is not installed ({DOVECOT} missing); install it with "
                f"`apt-get install -y {DOVECOT_PACKAGE}` or run scripts/need-system "
                f"(the IMAP tests never skip)"
            )
        self.users = users or {"reports": "s3cret-pass"}
        self.port = free_port()
        self._tmp = tempfile.TemporaryDirectory(prefix="mailcheck-dovecot-")
        self.dir = Path(self._tmp.name)
        self.dir.chmod(0o755)  # the login process (our user) reads the certificate
        # A test CA and a certificate it issued for localhost: ``cert`` is what a client
        # trusts (the CA), the server presents the chain.
        ca = TestCa(self.dir)
        issued = ca.issue("dovecot", ["localhost", "127.0.0.1"])
        self.cert, self.chain, self.key = ca.cafile, issued.certfile, issued.keyfile
        self.key.chmod(0o600)
        self.config = self.dir / "dovecot.conf"
        self.log = self.dir / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None

    # -- what a test uses ----------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's CA (and checks the name)."""
        return ssl.create_default_context(cafile=str(self.cert))

    def maildir(self, user: str) -> Path:
        """The user's Maildir (``new/``, ``cur/``, ``tmp/``; ``.Folder`` for subfolders)."""
        return self.dir / "home" / user / "Maildir"

    def deliver(self, user: str, raw: bytes) -> Path:
        """Deliver a message into the user's INBOX as an MDA would (tmp/ then new/)."""
        _, _, _, uid, gid = self._accounts()
        box = self.maildir(user)
        for path in (box.parent, box, box / "tmp", box / "new", box / "cur"):
            path.mkdir(exist_ok=True)
            os.chown(path, uid, gid)
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.test"
        tmp = box / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, uid, gid)
        final = box / "new" / name
        tmp.rename(final)
        return final

    # -- lifecycle ------------------------------------------------------------------------------

    def _accounts(self) -> tuple[str, str, str, int, int]:
        """(login user, internal user, its group, mail uid, mail gid).

        Dovecot refuses to run its login and mail processes as root: as root (CI) they run
        as the package's own users; otherwise everything runs as the current user.
        """
        if os.getuid() != 0:
            user = getpass.getuser()
            return user, user, grp.getgrgid(os.getgid()).gr_name, os.getuid(), os.getgid()
        internal = pwd.getpwnam("dovecot")
        return "dovenull", "dovecot", "dovecot", internal.pw_uid, internal.pw_gid

    def _write_config(self) -> None:
        login, user, group, uid, gid = self._accounts()
        (self.dir / "run").mkdir(exist_ok=True)
        (self.dir / "home").mkdir(exist_ok=True)
        passwd = "".join(f"{name}:{{PLAIN}}{secret}::::::\n" for name, secret in self.users.items())
        (self.dir / "passwd").write_text(passwd)
        home = self.dir / "home"
        self.config.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.log}
info_log_path = {self.log}
ssl = required
ssl_cert = <{self.chain}
ssl_key = <{self.key}
disable_plaintext_auth = yes
auth_mechanisms = plain
# The tests that fail a login on purpose need not wait for the answer.
auth_failure_delay = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = {self.dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""
        )
        (self.dir / "state").mkdir(exist_ok=True)
        os.chown(self.dir / "home", uid, gid)

    def start(self, timeout: float = 10.0) -> None:
        """Start Dovecot and wait until it accepts TLS connections."""
        self._write_config()
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                out = (
                    self._process.stdout.read().decode(errors="replace")
                    if self._process.stdout
                    else ""
                )
                raise RuntimeError(f"dovecot exited: {out}{self._log_tail()}")
            try:
                with (
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
                    self.ssl_context().wrap_socket(sock, server_hostname="localhost") as tls,
                ):
                    if tls.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return "\n" + self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server (and wait for it)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        self._tmp.cleanup()
