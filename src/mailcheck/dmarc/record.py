"""DMARC policy records (RFC 9989, with RFC 7489's tags understood): a pure parser.

``parse_dmarc(text)`` turns the TXT value at ``_dmarc.<domain>`` into a frozen
:class:`DmarcRecord` or raises :class:`~mailcheck.errors.ParseError` with the
position of the fault. Unknown tags are kept and ignored (RFC 9989 §4.7).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from mailcheck.errors import ParseError
from mailcheck.taglist import parse_tag_list

POLICIES = ("none", "quarantine", "reject")
# RFC 9989 removed these RFC 7489 tags (their effect is explained by the audit).
REMOVED_TAGS = ("pct", "rf", "ri")
_ALIGNMENT = ("r", "s")
_FO = re.compile(r"[01ds](:[01ds])*")
_SIZE = re.compile(r"[0-9]+[kmgt]?", re.I)


@dataclasses.dataclass(frozen=True, slots=True)
class ReportUri:
    """One ``rua``/``ruf`` destination: the URI and the size limit RFC 7489 allowed."""

    uri: str
    size: str | None = None

    @property
    def address(self) -> str | None:
        """The mail address of a ``mailto:`` URI."""
        if not self.uri.lower().startswith("mailto:"):
            return None
        return self.uri[7:]

    @property
    def domain(self) -> str | None:
        """The domain of a ``mailto:`` address, lower case."""
        address = self.address
        return address.rpartition("@")[2].lower() if address and "@" in address else None

    def to_text(self) -> str:
        """The URI as published."""
        return f"{self.uri}!{self.size}" if self.size else self.uri


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DmarcRecord:
    """A parsed DMARC record; absent tags are ``None`` (their defaults are properties)."""

    tags: tuple[tuple[str, str], ...]
    p: str | None = None
    sp: str | None = None
    np: str | None = None
    psd: str | None = None
    t: str | None = None
    adkim: str | None = None
    aspf: str | None = None
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()
    fo: str | None = None
    pct: int | None = None
    rf: str | None = None
    ri: int | None = None

    @property
    def policy(self) -> str:
        """``p``; RFC 9989 §4.7: a record without ``p`` is treated as ``p=none``."""
        return self.p or "none"

    @property
    def subdomain_policy(self) -> str:
        """``sp``, defaulting to ``p``."""
        return self.sp or self.policy

    @property
    def nonexistent_policy(self) -> str:
        """``np`` (RFC 9091), defaulting to ``sp`` then ``p``."""
        return self.np or self.subdomain_policy

    @property
    def testing(self) -> bool:
        """``t=y``: the policy is applied one step lighter (RFC 9989 §4.7)."""
        return self.t == "y"

    @property
    def removed_tags(self) -> tuple[str, ...]:
        """RFC 7489 tags that RFC 9989 removed, as published."""
        return tuple(name for name, _ in self.tags if name in REMOVED_TAGS)

    def to_text(self) -> str:
        """The record as published (tag order kept)."""
        return "; ".join(f"{name}={value}" for name, value in self.tags)


def parse_dmarc(text: str, /) -> DmarcRecord:
    """Parse a DMARC record.

    Raises:
        ParseError: not starting with ``v=DMARC1``, bad tag syntax, a duplicate
            tag, or a known tag with a value outside its grammar.

    Example:
        >>> parse_dmarc("v=DMARC1; p=reject; rua=mailto:d@example.org").policy
        'reject'
    """
    tags = parse_tag_list(text, fold_case=True)
    if not tags or tags[0][0] != "v" or tags[0][1] != "DMARC1":
        raise ParseError(text, 0, "a DMARC record starts with v=DMARC1")
    fields: dict[str, object] = {}
    for name, value, position in tags[1:]:
        checker = _CHECKS.get(name)
        if checker is not None:
            fields[name] = checker(text, value, position)
    return DmarcRecord(tags=tuple((n, v) for n, v, _ in tags), **fields)  # type: ignore[arg-type]


def _choice(options: tuple[str, ...]) -> Callable[[str, str, int], str]:
    def check(text: str, value: str, position: int) -> str:
        if value.lower() not in options:
            raise ParseError(text, position, f"expected one of {', '.join(options)}")
        return value.lower()

    return check


def _uris(text: str, value: str, position: int) -> tuple[ReportUri, ...]:
    uris = []
    for item in value.split(","):
        item = item.strip()
        uri, _, size = item.partition("!")
        if ":" not in uri or not uri.split(":", 1)[1]:
            raise ParseError(text, position, f"{item!r} is not a URI")
        if size and not _SIZE.fullmatch(size):
            raise ParseError(text, position, f"bad size limit {size!r}")
        if uri.lower().startswith("mailto:") and "@" not in uri:
            raise ParseError(text, position, f"{uri!r} has no mail address")
        uris.append(ReportUri(uri, size or None))
    return tuple(uris)


def _number(low: int, high: int) -> Callable[[str, str, int], int]:
    def check(text: str, value: str, position: int) -> int:
        if not value.isdigit() or not low <= int(value) <= high:
            raise ParseError(text, position, f"expected a number from {low} to {high}")
        return int(value)

    return check


def _fo(text: str, value: str, position: int) -> str:
    if not _FO.fullmatch(value.replace(" ", "")):
        raise ParseError(text, position, "fo= takes 0, 1, d, s separated by ':'")
    return value


def _rf(text: str, value: str, position: int) -> str:
    return value


_CHECKS: dict[str, Callable[[str, str, int], Any]] = {
    "p": _choice(POLICIES),
    "sp": _choice(POLICIES),
    "np": _choice(POLICIES),
    "psd": _choice(("y", "n", "u")),
    "t": _choice(("y", "n")),
    "adkim": _choice(_ALIGNMENT),
    "aspf": _choice(_ALIGNMENT),
    "rua": _uris,
    "ruf": _uris,
    "fo": _fo,
    "pct": _number(0, 100),
    "rf": _rf,
    "ri": _number(0, 2**32 - 1),
}
