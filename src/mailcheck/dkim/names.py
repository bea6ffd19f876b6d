"""DKIM names: one syntax for selectors and signing domains, and where key files go.

Every place that takes a selector or a signing domain from a caller -- the
``mailcheck dkim`` commands, :class:`~mailcheck.dkim.sign.DkimSigner`, the key
store, the record and rotation helpers -- validates it here, before any DNS
name, zone line, ``s=``/``d=`` tag or file name is made from it. A selector is
a DNS name, so it can neither hold a space, a quote or a line break (which
would smuggle text into a printed zone line) nor a ``/`` (which would move a
key file out of its directory).

Example::

    normalize_selector("202611")              # "202611"
    normalize_selector("x/../../escaped")     # ParseError
    key_file_path("keys", "example.org", "202611")  # .../keys/example.org.202611.pem
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mailcheck.errors import KeyFileError, ParseError
from mailcheck.lookup.domains import MAX_NAME_LENGTH, normalize_domain

# RFC 6376 §3.1: selector = sub-domain *( "." sub-domain ), sub-domain being a DNS label
# (RFC 5321 §4.1.2: Let-dig [Ldh-str]). Underscores are accepted too, as deployed
# selectors use them (DNS itself allows any octet, RFC 2181 §11).
_SELECTOR_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?", re.ASCII)
# RFC 6376 §3.5: the d= tag is a domain-name, sub-domain 1*("." sub-domain) (RFC 5321 §4.1.2):
# letters, digits and inner hyphens, at most 63 octets a label (RFC 1035 §2.3.4).
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
# The longest selector or domain quoted back in an error message.
_SHOWN = 60
KEY_FILE_SUFFIX = ".pem"
# A directory created for keys is readable by its owner alone.
KEY_DIRECTORY_MODE = 0o700


def normalize_selector(selector: str, /) -> str:
    """Check a DKIM selector: one or more dot-separated DNS labels; returned unchanged.

    Labels are 1 to 63 letters, digits, hyphens or underscores, not starting or
    ending with a hyphen. Nothing is stripped: a selector with a space, a line
    break, a slash or an empty label is refused, never repaired.

    Raises:
        ParseError: the selector is not of that form (the message quotes it, escaped).
    """
    if not selector:
        raise ParseError(selector, 0, "empty DKIM selector")
    position = 0
    for label in selector.split("."):
        if not _SELECTOR_LABEL.fullmatch(label):
            bad = _first_bad(label, position, selector)
            raise ParseError(
                selector,
                bad,
                f"DKIM selector {_shown(selector)} is not a sequence of DNS labels "
                "(letters, digits, '-', '_', separated by dots)",
            )
        position += len(label) + 1
    return selector


def normalize_signing_domain(domain: str, /) -> str:
    """A DKIM signing domain (``d=``): A-labels, lower case, no trailing dot.

    Raises:
        ParseError: not a domain name of letters, digits and inner hyphens.
    """
    try:
        name = normalize_domain(domain)
    except ParseError as exc:
        raise ParseError(
            domain, exc.position, f"DKIM domain {_shown(domain)}: {exc.reason}"
        ) from None
    if not all(_DOMAIN_LABEL.fullmatch(label) for label in name.split(".")):
        raise ParseError(
            domain,
            0,
            f"DKIM domain {_shown(domain)} is not a host name "
            "(labels of letters, digits and inner hyphens)",
        )
    return name


def record_name(selector: str, domain: str, /) -> str:
    """``selector._domainkey.domain`` (RFC 6376 §3.6.2.1), lower case, no trailing dot.

    Raises:
        ParseError: a bad selector or domain, or a name longer than 253 characters.
    """
    name = f"{normalize_selector(selector)}._domainkey.{normalize_signing_domain(domain)}"
    if len(name) > MAX_NAME_LENGTH:
        raise ParseError(name, MAX_NAME_LENGTH, "DKIM key record name longer than 253 characters")
    return name.lower()


def key_file_path(
    directory: str | os.PathLike[str],
    domain: str,
    selector: str,
    /,
    *,
    create_directory: bool = False,
) -> Path:
    """Where the key of ``selector`` for ``domain`` goes: ``directory/DOMAIN.SELECTOR.pem``.

    Both names are validated first (the selector must be a single label here, since
    :class:`~mailcheck.dkim.keystore.KeyStore` splits file names at the last dot), the
    path is resolved, and a path that would leave ``directory`` (through a symbolic
    link named like the key file) is refused.

    Args:
        directory: the key directory.
        domain: the signing domain.
        selector: the selector.
        create_directory: create ``directory`` (and its parents) when missing; the
            directory itself is created with mode 0700.

    Raises:
        ParseError: a bad selector or domain.
        KeyFileError: the directory cannot be created, or the path leaves it.
    """
    if "." in normalize_selector(selector):
        # KeyStore.from_directory splits DOMAIN.SELECTOR at the last dot.
        raise ParseError(
            selector,
            selector.index("."),
            f"DKIM selector {_shown(selector)}: a key file needs a selector of one label "
            "(DOMAIN.SELECTOR.pem is split at the last dot)",
        )
    name = f"{normalize_signing_domain(domain)}.{selector}{KEY_FILE_SUFFIX}"
    folder = Path(directory)
    if create_directory and not folder.is_dir():
        _make_key_directory(folder)
    folder = folder.resolve()
    path = folder / name
    if path.resolve().parent != folder:
        raise KeyFileError(f"{path}: resolves outside {folder}; refusing to write a key there")
    return path


def _make_key_directory(folder: Path) -> None:
    try:
        folder.mkdir(mode=KEY_DIRECTORY_MODE, parents=True)
        # mkdir's mode is filtered by the umask: set it, so the result never depends on it.
        os.chmod(folder, KEY_DIRECTORY_MODE)
    except FileExistsError:
        if not folder.is_dir():
            raise KeyFileError(f"{folder}: exists and is not a directory") from None
    except OSError as exc:
        raise KeyFileError(f"{folder}: cannot create key directory ({exc.strerror})") from None


def _first_bad(label: str, start: int, selector: str) -> int:
    if not label:
        return min(start, len(selector))
    for index, char in enumerate(label):
        if not (char.isascii() and (char.isalnum() or char in "-_")):
            return start + index
    return start


def _shown(text: str) -> str:
    # repr() escapes line breaks and quotes: the message stays on one line.
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")
