"""DMARC policy records (RFC 9989, with RFC 7489's tags understood): a pure parser.

``parse_dmarc(text)`` turns the TXT value at ``_dmarc.<domain>`` into a frozen
:class:`DmarcRecord` or raises :class:`~mailcheck.errors.ParseError` with the
position of the fault. Unknown tags are kept and ignored (RFC 9989 §4.7).
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import re
from collections.abc import Callable
from typing import Any

from mailcheck.errors import ParseError
from mailcheck.model import ToDict
from mailcheck.taglist import parse_tag_list

POLICIES = ("none", "quarantine", "reject")
# RFC 9989 removed these RFC 7489 tags (their effect is explained by the audit).
REMOVED_TAGS = ("pct", "rf", "ri")
_ALIGNMENT = ("r", "s")
_FO = re.compile(r"[01ds](:[01ds])*")
_SIZE = re.compile(r"[0-9]+[kmgt]?", re.I)


class DmarcPolicy(enum.StrEnum):
    """What a receiver does with mail that fails DMARC."""

    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"


class DmarcMode(enum.StrEnum):
    """How the policy and the organisational domain are found."""

    TREE = "tree"
    """RFC 9989: the DNS tree walk."""
    PSL = "psl"
    """RFC 7489: the Public Suffix List."""


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
    p: DmarcPolicy | None = None
    sp: DmarcPolicy | None = None
    np: DmarcPolicy | None = None
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
    def policy(self) -> DmarcPolicy:
        """``p``; RFC 9989 §4.7: a record without ``p`` is treated as ``p=none``."""
        return self.p or DmarcPolicy.NONE

    @property
    def subdomain_policy(self) -> DmarcPolicy:
        """``sp``, defaulting to ``p``."""
        return self.sp or self.policy

    @property
    def nonexistent_policy(self) -> DmarcPolicy:
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
    """Parse a DMARC record, strictly.

    Raises:
        ParseError: not starting with ``v=DMARC1``, bad tag syntax, a duplicate
            tag, or a known tag with a value outside its grammar (the first one;
            :func:`lint_dmarc` reports them all).

    Example:
        >>> parse_dmarc("v=DMARC1; p=reject; rua=mailto:d@example.org").policy
        'reject'
    """
    lint = lint_dmarc(text)
    if lint.fatal is not None:
        raise lint.fatal
    if lint.errors:
        first = lint.errors[0]
        raise ParseError(text, first.position, first.reason)
    assert lint.record is not None
    return lint.record


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DmarcTagError(ToDict):
    """One tag whose value is outside its grammar.

    Attributes:
        tag: the tag name (``p``, ``rua``...).
        value: the value as published.
        position: 0-based offset of the value in the record.
        reason: what is wrong, in a few words.
        repair: the value a correct record would most likely hold (``quarantaine``
            -> ``quarantine``, ``dmarc@example.org`` -> ``mailto:dmarc@example.org``),
            or ``None`` when the tag is best removed.
    """

    tag: str
    value: str
    position: int
    reason: str
    repair: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DmarcLint(ToDict):
    """A DMARC record read as a receiver reads it, with every fault found.

    Attributes:
        text: the record as published.
        record: the record a receiver applies: tags with invalid values dropped (RFC
            7489 §6.3: "syntax errors in the remainder of the record SHOULD be discarded
            in favor of default values"); ``None`` when ``fatal`` is set.
        errors: every tag whose value is outside its grammar, in record order.
        fatal: the text is not a DMARC tag-list at all (no ``v=DMARC1`` first, a
            malformed or duplicate tag): receivers ignore it.
    """

    text: str
    record: DmarcRecord | None = None
    errors: tuple[DmarcTagError, ...] = ()
    fatal: ParseError | None = None

    @property
    def policy_invalid(self) -> bool:
        """``p`` or ``sp`` is invalid: RFC 7489 §6.6.3 has receivers apply ``p=none``
        (or no DMARC processing at all without a valid ``rua``)."""
        return any(e.tag in ("p", "sp") for e in self.errors)

    def repaired_text(self) -> str:
        """The record with each invalid value replaced by its repair, or the tag dropped.

        Every valid tag is kept as published (the user's own report addresses
        included); a missing or unrepairable ``p`` becomes ``p=none``.
        """
        fixes = {e.tag: e.repair for e in self.errors}
        parts = []
        for name, value in self.record.tags if self.record else ():
            if name not in fixes:
                parts.append(f"{name}={value}")
            elif fixes[name] is not None:
                parts.append(f"{name}={fixes[name]}")
        if not any(p.startswith("p=") for p in parts):
            parts.insert(1, "p=none")
        return "; ".join(parts)


def lint_dmarc(text: str, /) -> DmarcLint:
    """Read a DMARC record leniently, reporting every invalid tag rather than the first.

    Example:
        >>> lint = lint_dmarc("v=DMARC1; p=quarantaine; pct=50%; adkim=relaxed")
        >>> [(e.tag, e.repair) for e in lint.errors]
        [('p', 'quarantine'), ('pct', '50'), ('adkim', 'r')]
        >>> lint.repaired_text()
        'v=DMARC1; p=quarantine; pct=50; adkim=r'
    """
    try:
        tags = parse_tag_list(text, fold_case=True)
    except ParseError as exc:
        return DmarcLint(text=text, fatal=exc)
    if not tags or tags[0][0] != "v" or tags[0][1] != "DMARC1":
        return DmarcLint(
            text=text, fatal=ParseError(text, 0, "a DMARC record starts with v=DMARC1")
        )
    fields: dict[str, object] = {}
    errors: list[DmarcTagError] = []
    for name, value, position in tags[1:]:
        checker = _CHECKS.get(name)
        if checker is None:
            continue
        try:
            fields[name] = checker(text, value, position)
        except ParseError as exc:
            errors.append(
                DmarcTagError(
                    tag=name,
                    value=value,
                    position=exc.position,
                    reason=exc.reason,
                    repair=_repair(name, value),
                )
            )
    record = DmarcRecord(tags=tuple((n, v) for n, v, _ in tags), **fields)  # type: ignore[arg-type]
    return DmarcLint(text=text, record=record, errors=tuple(errors))


def _repair(name: str, value: str) -> str | None:
    """The most likely intended value of an invalid tag, or ``None`` (drop the tag)."""
    options = _CHOICES.get(name)
    if options is not None:
        return _closest(value.strip().lower(), options)
    if name in ("pct", "ri"):
        digits = "".join(ch for ch in value if ch.isdigit())
        low, high = (0, 100) if name == "pct" else (0, 2**32 - 1)
        return digits.lstrip("0") or "0" if digits and low <= int(digits) <= high else None
    if name in ("rua", "ruf"):
        return _repair_uris(value)
    return None


def _closest(value: str, options: tuple[str, ...]) -> str | None:
    # "relaxed" -> "r", "quarantaine" -> "quarantine": the option the value starts like.
    starting = [o for o in options if value and (o.startswith(value[:1]))]
    if len(starting) == 1:
        return starting[0]
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _repair_uris(value: str) -> str | None:
    """Keep the user's own addresses: ``dmarc@example.org`` -> ``mailto:dmarc@example.org``."""
    kept = []
    for item in value.split(","):
        uri, _, size = item.strip().partition("!")
        if "@" in uri and ":" not in uri:
            uri = "mailto:" + uri
        if ":" not in uri or not uri.split(":", 1)[1]:
            continue
        if uri.lower().startswith("mailto:") and "@" not in uri:
            continue
        kept.append(f"{uri}!{size}" if size and _SIZE.fullmatch(size) else uri)
    return ",".join(kept) or None


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


_CHOICES: dict[str, tuple[str, ...]] = {
    "p": POLICIES,
    "sp": POLICIES,
    "np": POLICIES,
    "psd": ("y", "n", "u"),
    "t": ("y", "n"),
    "adkim": _ALIGNMENT,
    "aspf": _ALIGNMENT,
}


def _policy(text: str, value: str, position: int) -> DmarcPolicy:
    return DmarcPolicy(_choice(POLICIES)(text, value, position))


_CHECKS: dict[str, Callable[[str, str, int], Any]] = {
    "p": _policy,
    "sp": _policy,
    "np": _policy,
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
