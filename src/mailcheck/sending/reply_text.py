"""The text of an SMTP reply: masked to one countable line, a provider's own code, a
"try again in N minutes" hint. Pure and linear in its input: a reply is untrusted text of
up to a few KiB, and at most :data:`MAX_REPLY_CHARS` of it is read.
"""

from __future__ import annotations

import re

__all__ = ["MAX_REPLY_CHARS", "mask_line", "provider_code", "retry_hint"]

#: Characters of a reply that normalisation and classification read: providers put their
#: codes in the first line; aiosmtplib lets a reply grow to several 8 KiB lines.
MAX_REPLY_CHARS = 2048

_PROVIDER_CODE_RE = re.compile(
    r"\b(?:OFR\d*_\d+|LPN[A-Z0-9]*_\d+|SFR_IN_\w+|GU_EIB_\d+|(?:RP|SC|DY|OU)-\d{3})\b"
    r"|(?<=\[)(?:TSS?\d+|IPTS\d+|BL\d+|PH\d+|HCM\d+|BS\d+|HME\d+|CS\d+)(?=\])"
    r"|(?<=\()(?:S\d{3,4}|AS\d{3})(?=\))"
    r"|(?<=c=)r\d{4}\b"
)
# Every alternative either starts only at the beginning of a run (a lookbehind refuses the
# middle of one) or is bounded, so a long run is scanned once, not once per position: the
# pattern is linear in its input (the older one, with an unanchored ``[^...]+@`` and a
# ``(?=[\w-]*\d)`` lookahead, was quadratic).
_ADDR_CHARS = r"[^\s<>@\[\](),;:\"]"
_MASK_RE = re.compile(
    r"(?P<keep>^[2-5]\d\d\b|(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])|"
    + _PROVIDER_CODE_RE.pattern
    + rf")|(?P<addr>(?<!{_ADDR_CHARS}){_ADDR_CHARS}+@{_ADDR_CHARS}+)"
    r"|(?P<ip>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])"
    r"|(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:]))"
    r"|(?P<id>(?<![\w-])[\w-]{8,})"
    r"|(?P<n>\d+)",
    re.IGNORECASE,
)
_RETRY_IN_RE = re.compile(
    r"(?:try again|retry|resend|come back|r[ée]essayer|revenez)"
    r"\D{0,20}?(?:in|after|dans)\s+(\d{1,6})\s*"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|heures?)\b",
    re.IGNORECASE,
)


def provider_code(text: str, /) -> str | None:
    """A provider's own code in ``text`` (``OFR004_104``, ``TSS04``, ``S3140``...), or None."""
    m = _PROVIDER_CODE_RE.search(text)
    return m.group(0) if m else None


def _mask(m: re.Match[str]) -> str:
    kind = m.lastgroup
    if kind == "keep" or kind is None:
        return m.group(0)
    if kind == "id":
        # A run of 8+ word characters is an id when it holds a digit; otherwise a word,
        # whose digits (if any) would have been masked as numbers: none here.
        word = m.group(0)
        return "<id>" if any(c.isdigit() for c in word) else word
    return {"addr": "<addr>", "ip": "<ip>"}.get(kind, "<n>")


def mask_line(line: str, /) -> str:
    """``line`` with IPs, addresses, ids and numbers masked, spaces folded, bounded to
    :data:`MAX_REPLY_CHARS`; reply codes, enhanced codes and providers' codes are kept."""
    return " ".join(_MASK_RE.sub(_mask, line[:MAX_REPLY_CHARS]).split())[:MAX_REPLY_CHARS]


def retry_hint(text: str, /) -> float | None:
    """Seconds from a "try again in N minutes" in ``text``, or None."""
    m = _RETRY_IN_RE.search(text[:MAX_REPLY_CHARS])
    if not m:
        return None
    unit = m.group(2).lower()
    factor = 3600.0 if unit.startswith("h") else 60.0 if unit.startswith("m") else 1.0
    return int(m.group(1)) * factor
