"""Domain names: normalisation (IDNA) and the organisational domain.

The organisational domain follows RFC 9989's DNS tree walk by default, with
the Public Suffix List mode of RFC 7489 as an option.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import dns.exception
import dns.name

from mailcheck.errors import ParseError

# RFC 1035 §2.3.4: 253 characters in presentation form, labels of 63 octets.
MAX_NAME_LENGTH = 253


def normalize_domain(text: str, /) -> str:
    """A domain as mailcheck stores it: A-labels, lower case, no trailing dot.

    U-labels are converted with IDNA 2008 (``"bücher.example"`` ->
    ``"xn--bcher-kva.example"``).

    Raises:
        ParseError: empty, too long, a bad label, or characters no host name has.
    """
    raw = text.strip()
    if not raw or raw == ".":
        raise ParseError(text, 0, "empty domain name")
    if any(ch.isspace() or ch in "/@:\\,;()<>\"'" for ch in raw):
        bad = next(i for i, ch in enumerate(raw) if ch.isspace() or ch in "/@:\\,;()<>\"'")
        raise ParseError(text, bad, "not a domain name")
    try:
        name = dns.name.from_text(raw, origin=dns.name.root)
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise ParseError(text, 0, f"not a domain name: {exc}") from None
    result = name.to_text(omit_final_dot=True).lower()
    if len(result) > MAX_NAME_LENGTH:
        raise ParseError(text, MAX_NAME_LENGTH, "domain name longer than 253 characters")
    if "." not in result:
        raise ParseError(text, 0, "a single label is not a mail domain")
    return result


# RFC 9989 §4.10: "the DNS Tree Walk ... MUST NOT issue more than 8 queries"; a name with
# more labels is shortened to 7 labels after the first query.
TREE_WALK_MAX_QUERIES = 8
TREE_WALK_JUMP_LABELS = 7


def dmarc_tree_names(domain: str, /) -> tuple[str, ...]:
    """The DNS names the RFC 9989 tree walk asks, in order, for ``domain``.

    The first is ``_dmarc.<domain>``; then, from at most 7 labels, one label is
    removed at a time down to the top-level domain: 8 names at the most.

    Example:
        >>> dmarc_tree_names("a.mail.example.org")
        ('_dmarc.a.mail.example.org', '_dmarc.mail.example.org', '_dmarc.example.org', '_dmarc.org')
    """
    labels = domain.lower().rstrip(".").split(".")
    names = [domain.lower().rstrip(".")]
    rest = labels[1:]
    if len(rest) > TREE_WALK_JUMP_LABELS:
        rest = rest[-TREE_WALK_JUMP_LABELS:]
    while rest:
        names.append(".".join(rest))
        rest = rest[1:]
    return tuple(f"_dmarc.{name}" for name in names[:TREE_WALK_MAX_QUERIES])


def organizational_from_walk(domain: str, /, found: Mapping[str, str | None]) -> str:
    """The organisational domain from what the tree walk found (RFC 9989 §4.10.2), pure.

    Args:
        domain: the domain the walk started from.
        found: for each domain (without ``_dmarc.``) that has a DMARC record, its
            ``psd`` value (``"y"``, ``"n"``, ``"u"`` or ``None`` when absent).

    Walking from the top: a record with ``psd=n`` is the organisational domain;
    below a record with ``psd=y`` the next label down is; otherwise the record
    with the fewest labels; with no record at all, the domain itself.
    """
    walked = [name.removeprefix("_dmarc.") for name in dmarc_tree_names(domain)]
    for index in range(len(walked) - 1, -1, -1):
        name = walked[index]
        if name not in found:
            continue
        psd = found[name]
        if psd == "n":
            return name
        if psd == "y":
            # The organisational domain is one label below the public suffix domain.
            below = domain.split(".")
            return ".".join(below[-(len(name.split(".")) + 1) :]) if index > 0 else domain
    with_record = [name for name in walked if name in found]
    return with_record[-1] if with_record else domain


def organizational_domain_psl(domain: str, /) -> str:
    """The organisational domain by the Public Suffix List (RFC 7489 §3.2)."""
    private = _psl().privatesuffix(domain.lower())
    return str(private) if private else domain.lower()


@functools.cache
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()
