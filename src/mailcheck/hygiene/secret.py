"""Reading the deployment secret that signs VERP, tracking and unsubscribe tokens.

One file, shared by the Sender (which signs), ``mailcheck bounces ingest`` and the panel's
unsubscribe endpoint (which verify): its bytes, less one trailing line break, so a
secret made with ``head -c 32 /dev/urandom`` or ``openssl rand -hex 32`` both work.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mailcheck.errors import ConfigError
from mailcheck.hygiene.tokens import MIN_SECRET_BYTES

__all__ = ["MAX_SECRET_BYTES", "read_secret"]

MAX_SECRET_BYTES = 4096
"""A longer file is not a secret but a mistake (a key pair, a log)."""


def read_secret(path: str | os.PathLike[str], /) -> bytes:
    """The secret in ``path`` (at least 16 bytes; one trailing ``\\n`` or ``\\r\\n``
    removed).

    Raises:
        ConfigError: unreadable, readable by other users (``chmod 600`` it), too short or
            too long. The message never contains the secret.
    """
    file = Path(path)
    try:
        mode = file.stat().st_mode
        if not mode & (stat.S_IRGRP | stat.S_IROTH):
            with file.open("rb") as handle:
                data = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {file}: {exc.strerror or exc}") from None
    except ValueError:  # a NUL byte in the name
        raise ConfigError(f"cannot read secret file {str(file)!r}: not a file name") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        raise ConfigError(f"secret file {file} is readable by other users: chmod 600 {file}")
    if len(data) > MAX_SECRET_BYTES:
        raise ConfigError(f"secret file {file} is over {MAX_SECRET_BYTES} bytes")
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if len(data) < MIN_SECRET_BYTES:
        raise ConfigError(f"secret file {file} holds under {MIN_SECRET_BYTES} bytes")
    return data
