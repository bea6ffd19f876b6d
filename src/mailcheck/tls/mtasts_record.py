"""MTA-STS records, pure: the ``_mta-sts`` TXT record and the policy file (RFC 8461).

No I/O here: text in, frozen records out, or a :class:`~mailcheck.errors.ParseError`
with the position of the fault. Fetching lives in ``mtasts_fetch.py``, judging in
``mtasts.py``.
"""

from __future__ import annotations

import dataclasses
import re

from mailcheck.errors import ParseError
from mailcheck.model import ToDict
from mailcheck.tls.fields import split_fields
from mailcheck.tls.types import MtaStsMode

# RFC 8461 §3.2: "max_age: Max lifetime of the policy (plain-text non-negative integer
# seconds, maximum value of 31557600)."
MAX_AGE_LIMIT = 31_557_600
# RFC 8461 §3.1: sts-id = %s"id=" 1*32(ALPHA / DIGIT)
_ID = re.compile(r"[A-Za-z0-9]{1,32}")
# RFC 8461 §3.1: sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
# RFC 8461 §3.1: sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E) (no "=", ";", space, controls)
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")
# RFC 8461 §3.2: sts-policy-max-age-value = 1*10(DIGIT)
_MAX_AGE = re.compile(r"[0-9]{1,10}")
# A DNS label (LDH, RFC 1123) for mx patterns; the policy holds A-labels.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# RFC 8461 §3.2: policy field names, sts-policy-ext-name (same shape as the TXT's).
_FIELD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
# RFC 8461 §3.2: sts-policy-vchar *(*WSP sts-policy-vchar), vchar = %x21-7E.
_POLICY_VALUE = re.compile(r"[\x21-\x7e](?:[ \t\x21-\x7e]*[\x21-\x7e])?")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MtaStsRecord(ToDict):
    """A ``_mta-sts`` TXT record: ``v=STSv1; id=20260101T000000;``.

    Attributes:
        id: the policy id; senders refetch the policy when it changes.
        extensions: other ``name=value`` fields, in order.
    """

    id: str
    extensions: tuple[tuple[str, str], ...] = ()

    def to_text(self) -> str:
        """The record as it would be published."""
        parts = ["v=STSv1", f"id={self.id}", *(f"{k}={v}" for k, v in self.extensions)]
        return "; ".join(parts) + ";"


def is_mtasts_txt(text: str, /) -> bool:
    """True for a TXT string that claims to be an MTA-STS record.

    RFC 8461 §3.1: "Records that do not begin with "v=STSv1;" are discarded".
    The check is lenient about the ``;`` so that ``v=STSv1 id=x`` is reported as
    broken instead of ignored.
    """
    return text.lstrip(" \t").startswith("v=STSv1")


def parse_mtasts_record(text: str, /) -> MtaStsRecord:
    """Parse a ``_mta-sts`` TXT record (RFC 8461 §3.1).

    Raises:
        ParseError: not ``v=STSv1`` first, no ``id=``, a bad id, a bad field.

    Example:
        >>> parse_mtasts_record("v=STSv1; id=2026a;").id
        '2026a'
    """
    fields = split_fields(text)
    if not fields or fields[0][:2] != ("v", "STSv1"):
        raise ParseError(text, 0, "an MTA-STS record starts with v=STSv1")
    record_id: str | None = None
    extensions: list[tuple[str, str]] = []
    for name, value, position in fields[1:]:
        if name == "id":
            if record_id is not None:
                raise ParseError(text, position, "id= appears twice")
            if not _ID.fullmatch(value):
                raise ParseError(text, position, "id= must be 1 to 32 letters or digits")
            record_id = value
        elif name == "v":
            raise ParseError(text, position, "v= appears twice")
        elif not _EXT_NAME.fullmatch(name) or not _EXT_VALUE.fullmatch(value):
            raise ParseError(text, position, f"bad extension field {name!r}")
        else:
            extensions.append((name, value))
    if record_id is None:
        raise ParseError(text, len(text), "no id= field")
    return MtaStsRecord(id=record_id, extensions=tuple(extensions))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MtaStsPolicy(ToDict):
    """An MTA-STS policy file (``/.well-known/mta-sts.txt``).

    Attributes:
        mode: ``enforce``, ``testing`` or ``none``.
        max_age: seconds a sender may cache the policy.
        mx: the MX patterns (``mail.example.org``, ``*.example.net``), lower case.
        extensions: other ``name: value`` lines, in order.
    """

    mode: MtaStsMode
    max_age: int
    mx: tuple[str, ...] = ()
    extensions: tuple[tuple[str, str], ...] = ()

    def to_text(self) -> str:
        """The policy file, CRLF-separated as RFC 8461 §3.2 writes it."""
        lines = ["version: STSv1", f"mode: {self.mode}"]
        lines += [f"mx: {pattern}" for pattern in self.mx]
        lines.append(f"max_age: {self.max_age}")
        lines += [f"{k}: {v}" for k, v in self.extensions]
        return "\r\n".join(lines) + "\r\n"

    def matches(self, host: str, /) -> bool:
        """True when an ``mx:`` pattern of the policy matches ``host`` (RFC 8461 §4.1)."""
        return any(mx_pattern_matches(pattern, host) for pattern in self.mx)


def parse_mtasts_policy(text: str, /) -> MtaStsPolicy:
    """Parse an MTA-STS policy file (RFC 8461 §3.2).

    Lines are ``name: value``, separated by CRLF; a bare LF is accepted too, as most
    senders do. Unknown fields are kept as extensions; of a repeated field other than
    ``mx`` the first wins ("only the first instance ... is used").

    Raises:
        ParseError: a line that is not ``name: value``, no ``version: STSv1``, a
            missing or bad ``mode`` or ``max_age``, a bad ``mx`` pattern, or no
            ``mx`` while ``mode`` is not ``none``.
    """
    seen: dict[str, tuple[str, int]] = {}
    patterns: list[str] = []
    extensions: list[tuple[str, str]] = []
    position = 0
    for line in text.replace("\r\n", "\n").split("\n"):
        start = position
        position += len(line) + 1
        if not line.strip(" \t"):
            continue
        name, colon, value = line.partition(":")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not colon or not _FIELD_NAME.fullmatch(name) or not _POLICY_VALUE.fullmatch(value):
            raise ParseError(text, start, f"bad line {line[:40]!r}: expected name: value")
        if name == "mx":
            patterns.append(_mx_pattern(text, value, start))
        elif name in seen:
            continue
        elif name in ("version", "mode", "max_age"):
            seen[name] = (value, start)
        else:
            extensions.append((name, value))
            seen[name] = (value, start)
    return MtaStsPolicy(
        mode=_mode(text, seen, bool(patterns)),
        max_age=_max_age(text, seen),
        mx=tuple(patterns),
        extensions=tuple(extensions),
    )


def _mode(text: str, seen: dict[str, tuple[str, int]], has_mx: bool) -> MtaStsMode:
    version = seen.get("version")
    if version is None or version[0] != "STSv1":
        raise ParseError(text, version[1] if version else 0, "no version: STSv1 line")
    if "mode" not in seen:
        raise ParseError(text, len(text), "no mode: line")
    value, start = seen["mode"]
    try:
        mode = MtaStsMode(value)
    except ValueError:
        raise ParseError(text, start, "mode must be enforce, testing or none") from None
    # RFC 8461 §3.2: mx is required "for each MX host" unless the mode is "none".
    if mode is not MtaStsMode.NONE and not has_mx:
        raise ParseError(text, len(text), f"mode {mode} needs at least one mx: line")
    return mode


def _max_age(text: str, seen: dict[str, tuple[str, int]]) -> int:
    if "max_age" not in seen:
        raise ParseError(text, len(text), "no max_age: line")
    value, start = seen["max_age"]
    if not _MAX_AGE.fullmatch(value) or int(value) > MAX_AGE_LIMIT:
        raise ParseError(text, start, f"max_age must be 0 to {MAX_AGE_LIMIT} seconds")
    return int(value)


def _mx_pattern(text: str, value: str, start: int) -> str:
    """``["*."] Domain`` (RFC 8461 §3.2 sts-policy-mx-value), lower case."""
    pattern = value.lower().rstrip(".")
    host = pattern.removeprefix("*.")
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ParseError(text, start, f"bad mx pattern {value[:60]!r}")
    return pattern


def mx_pattern_matches(pattern: str, host: str, /) -> bool:
    """Whether an MTA-STS ``mx:`` pattern matches an MX host name (RFC 8461 §4.1).

    A wildcard stands for exactly one leftmost label: "``*.example.com``" matches
    ``mx1.example.com`` but neither ``example.com`` nor ``a.b.example.com``.
    Comparison ignores case and a trailing dot.

    Example:
        >>> mx_pattern_matches("*.example.com", "mx1.example.com")
        True
    """
    pattern = pattern.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label) and bool(dot) and rest == pattern[2:]
    return host == pattern
