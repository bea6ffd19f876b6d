"""The SPF record parser (RFC 7208 §4.5, §5, §6, §7, §12): text in, :class:`SpfRecord` out.

Pure: no DNS. Every mechanism, modifier, qualifier, CIDR length and macro is
checked against the ABNF of RFC 7208 §12; a record that does not follow it
raises :class:`~mailcheck.errors.ParseError` with the offset of the bad term.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from mailcheck.errors import ParseError
from mailcheck.spf.macro import Macro, check_macro_string, parse_macro_string

VERSION = "v=spf1"
# RFC 7208 §12: ip4-cidr-length is 0-32, ip6-cidr-length is 0-128.
MAX_IP4_CIDR = 32
MAX_IP6_CIDR = 128

MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
# RFC 7208 §4.6.4: "include", "a", "mx", "ptr" and "exists" and "redirect" cause DNS queries.
DNS_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\Z")
_CIDR_TAIL = re.compile(r"(?:/(\d+))?(?://(\d+))?\Z")
_CIDR_DIGITS = re.compile(r"(?:0|[1-9]\d{0,2})\Z")
_TOPLABEL = re.compile(r"(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\Z")


class Qualifier(enum.StrEnum):
    """A directive's qualifier (RFC 7208 §4.6.2) and the result it gives on a match."""

    PASS = "+"
    FAIL = "-"
    SOFTFAIL = "~"
    NEUTRAL = "?"

    @property
    def result(self) -> str:
        """The check_host() result a match gives: ``pass``, ``fail``, ``softfail``, ``neutral``."""
        return self.name.lower()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Mechanism:
    """A directive: a qualifier and a mechanism (RFC 7208 §5).

    Attributes:
        kind: ``all``, ``include``, ``a``, ``mx``, ``ptr``, ``ip4``, ``ip6`` or ``exists``.
        qualifier: the qualifier (``+`` when none is written).
        explicit_qualifier: whether the qualifier was written.
        domain: the domain-spec as written (macros unexpanded), or ``None``.
        network: the address of ``ip4``/``ip6`` as written, or ``None``.
        cidr4: the IPv4 prefix length written, or ``None``.
        cidr6: the IPv6 prefix length written, or ``None``.
        position: offset of the term in the record text (not compared).
    """

    kind: str
    qualifier: Qualifier = Qualifier.PASS
    explicit_qualifier: bool = False
    domain: str | None = None
    network: str | None = None
    cidr4: int | None = None
    cidr6: int | None = None
    position: int = dataclasses.field(default=0, compare=False)

    @property
    def queries_dns(self) -> bool:
        """Whether the mechanism counts against the 10-lookup limit (RFC 7208 §4.6.4)."""
        return self.kind in DNS_MECHANISMS

    @property
    def macros(self) -> tuple[Macro, ...]:
        """The macros of the domain-spec."""
        return parse_macro_string(self.domain) if self.domain else ()

    def ip_network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        """The network of ``ip4``/``ip6`` (host bits cleared), else ``None``."""
        if self.network is None:
            return None
        prefix = self.cidr4 if self.kind == "ip4" else self.cidr6
        suffix = "" if prefix is None else f"/{prefix}"
        return ipaddress.ip_network(f"{self.network}{suffix}", strict=False)

    def to_text(self) -> str:
        """The term as it would be written in a record."""
        text = (self.qualifier.value if self.explicit_qualifier else "") + self.kind
        if self.network is not None:
            text += f":{self.network}"
        elif self.domain is not None:
            text += f":{self.domain}"
        if self.kind == "ip6":
            return text + ("" if self.cidr6 is None else f"/{self.cidr6}")
        if self.cidr4 is not None:
            text += f"/{self.cidr4}"
        if self.cidr6 is not None:
            text += f"//{self.cidr6}"
        return text


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Modifier:
    """A modifier ``name=value`` (RFC 7208 §6): ``redirect``, ``exp`` or an unknown one.

    Attributes:
        name: the modifier name, lower case.
        value: the macro-string (a domain-spec for ``redirect`` and ``exp``).
        position: offset of the term in the record text (not compared).
    """

    name: str
    value: str
    position: int = dataclasses.field(default=0, compare=False)

    @property
    def queries_dns(self) -> bool:
        """``redirect`` counts against the 10-lookup limit; ``exp`` does not (§4.6.4)."""
        return self.name == "redirect"

    def to_text(self) -> str:
        """The term as it would be written in a record."""
        return f"{self.name}={self.value}"


Term = Mechanism | Modifier


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpfRecord:
    """A parsed SPF record.

    Attributes:
        terms: the mechanisms and modifiers in the order written.
    """

    terms: tuple[Term, ...] = ()

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        """The directives, in order."""
        return tuple(t for t in self.terms if isinstance(t, Mechanism))

    @property
    def modifiers(self) -> tuple[Modifier, ...]:
        """The modifiers, in order."""
        return tuple(t for t in self.terms if isinstance(t, Modifier))

    @property
    def redirect(self) -> str | None:
        """The ``redirect=`` domain-spec, or ``None``."""
        return next((m.value for m in self.modifiers if m.name == "redirect"), None)

    @property
    def exp(self) -> str | None:
        """The ``exp=`` domain-spec, or ``None``."""
        return next((m.value for m in self.modifiers if m.name == "exp"), None)

    @property
    def all(self) -> Mechanism | None:
        """The first ``all`` mechanism, or ``None``."""
        return next((m for m in self.mechanisms if m.kind == "all"), None)

    def to_text(self) -> str:
        """The record as text (``v=spf1`` then the terms, single spaces)."""
        return " ".join((VERSION, *(t.to_text() for t in self.terms)))


def is_spf_record(text: str, /) -> bool:
    """Whether a TXT string is an SPF record: ``v=spf1`` alone or followed by a space (§4.5)."""
    head = text[: len(VERSION) + 1].lower()
    return head == VERSION or head == VERSION + " "


def parse_spf(text: str, /) -> SpfRecord:
    """Parse an SPF record.

    Args:
        text: the record, its TXT strings already joined (RFC 7208 §3.3).

    Returns:
        The record's terms.

    Raises:
        ParseError: the record does not follow RFC 7208 §12, with the offset of the fault.
    """
    if not is_spf_record(text):
        raise ParseError(text, 0, "an SPF record starts with 'v=spf1'")
    bad = next((i for i, ch in enumerate(text) if not " " <= ch <= "~"), None)
    if bad is not None:
        raise ParseError(text, bad, "character not allowed in an SPF record")
    terms: list[Term] = []
    seen: set[str] = set()
    for match in re.finditer(r"[^ ]+", text):
        if match.start() == 0:
            continue
        term = _parse_term(text, match.group(), match.start())
        if isinstance(term, Modifier) and term.name in ("redirect", "exp"):
            if term.name in seen:
                # RFC 7208 §6: these two modifiers MUST NOT appear more than once each.
                raise ParseError(text, term.position, f"'{term.name}' appears twice")
            seen.add(term.name)
        terms.append(term)
    return SpfRecord(terms=tuple(terms))


def _parse_term(text: str, term: str, pos: int) -> Term:
    modifier = re.match(r"([A-Za-z][A-Za-z0-9_.-]*)=", term)
    if modifier:
        return _parse_modifier(text, modifier.group(1).lower(), term[modifier.end() :], pos)
    qualifier, explicit = Qualifier.PASS, False
    if term[0] in "+-~?":
        qualifier, explicit, term, pos = Qualifier(term[0]), True, term[1:], pos + 1
    name = re.match(r"[A-Za-z0-9]*", term).group().lower()  # type: ignore[union-attr]
    if name not in MECHANISMS:
        raise ParseError(text, pos, f"unknown mechanism {name or term[:1]!r}")
    rest = term[len(name) :]
    start = pos - 1 if explicit else pos
    fields = _MECHANISM_PARSERS[name](text, rest, pos + len(name))
    return Mechanism(
        kind=name, qualifier=qualifier, explicit_qualifier=explicit, position=start, **fields
    )


def _parse_modifier(text: str, name: str, value: str, pos: int) -> Modifier:
    value_pos = pos + len(name) + 1
    if name in ("redirect", "exp"):
        _check_domain_spec(text, value, value_pos)
    else:
        check_macro_string(text, value, value_pos, exp=False)
    return Modifier(name=name, value=value, position=pos)


_Fields = dict[str, Any]


def _parse_all(text: str, rest: str, pos: int) -> _Fields:
    if rest:
        raise ParseError(text, pos, "'all' takes no argument")
    return {}


def _parse_domain_required(text: str, rest: str, pos: int) -> _Fields:
    if not rest.startswith(":"):
        raise ParseError(text, pos, "a domain is required after ':'")
    _check_domain_spec(text, rest[1:], pos + 1)
    return {"domain": rest[1:]}


def _parse_ptr(text: str, rest: str, pos: int) -> _Fields:
    return _parse_domain_required(text, rest, pos) if rest else {}


def _parse_a_mx(text: str, rest: str, pos: int) -> _Fields:
    tail = _CIDR_TAIL.search(rest)
    assert tail is not None  # the pattern matches the empty tail
    head = rest[: tail.start()]
    fields: _Fields = {}
    if head:
        fields = _parse_domain_required(text, head, pos)
    cidr_pos = pos + tail.start()
    if tail.group(1) is not None:
        fields["cidr4"] = _cidr(text, tail.group(1), cidr_pos + 1, MAX_IP4_CIDR)
    if tail.group(2) is not None:
        fields["cidr6"] = _cidr(text, tail.group(2), tail.start(2) + pos, MAX_IP6_CIDR)
    return fields


def _parse_ip(text: str, rest: str, pos: int, version: int) -> _Fields:
    if not rest.startswith(":"):
        raise ParseError(text, pos, f"ip{version} needs ':' and an address")
    address, slash, prefix = rest[1:].partition("/")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        parsed = None
    if parsed is None or parsed.version != version or "%" in address:
        raise ParseError(text, pos + 1, f"not an IPv{version} address")
    field, limit = ("cidr4", MAX_IP4_CIDR) if version == 4 else ("cidr6", MAX_IP6_CIDR)
    fields: _Fields = {"network": address}
    if slash:
        fields[field] = _cidr(text, prefix, pos + 2 + len(address), limit)
    return fields


def _cidr(text: str, digits: str, pos: int, limit: int) -> int:
    if not _CIDR_DIGITS.match(digits) or int(digits) > limit:
        raise ParseError(text, pos, f"CIDR length must be 0-{limit} without leading zeros")
    return int(digits)


def _parse_ip4(text: str, rest: str, pos: int) -> _Fields:
    return _parse_ip(text, rest, pos, 4)


def _parse_ip6(text: str, rest: str, pos: int) -> _Fields:
    return _parse_ip(text, rest, pos, 6)


_MECHANISM_PARSERS: dict[str, Callable[[str, str, int], _Fields]] = {
    "all": _parse_all,
    "include": _parse_domain_required,
    "exists": _parse_domain_required,
    "a": _parse_a_mx,
    "mx": _parse_a_mx,
    "ptr": _parse_ptr,
    "ip4": _parse_ip4,
    "ip6": _parse_ip6,
}


def _check_domain_spec(text: str, spec: str, pos: int) -> None:
    """RFC 7208 §7.1: domain-spec = macro-string domain-end."""
    if not spec:
        raise ParseError(text, pos, "empty domain-spec")
    macros = check_macro_string(text, spec, pos, exp=False)
    if spec.endswith("}") and macros:
        return  # domain-end is a macro-expand
    body = spec[:-1] if spec.endswith(".") else spec
    label_start = body.rfind(".")
    toplabel = body[label_start + 1 :]
    if label_start < 0 or not _TOPLABEL.match(toplabel):
        raise ParseError(text, pos + label_start + 1, "domain must end in a valid top label")
    if any(not label for label in body.split(".")[:-1]) and "%" not in body:
        raise ParseError(text, pos, "empty label in domain")
