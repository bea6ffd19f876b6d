"""What a failure says about the recipient's address: hard, soft, not the recipient's
fault, or unknown, read from the data file ``bounce_codes.toml`` (RFC 3463 codes, with
their sources). Pure: no I/O beyond loading the packaged file once.

Example:
    >>> classify_status("5.1.1").kind
    <BounceClass.HARD: 'hard'>
    >>> classify_reply(550, "5.7.1 Message rejected as spam").kind
    <BounceClass.NOT_RECIPIENT: 'not-recipient'>
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib.resources
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from mailcheck.errors import ConfigError

__all__ = [
    "BounceClass",
    "BounceCodes",
    "BounceVerdict",
    "classify_reply",
    "classify_status",
    "load_bounce_codes",
]

# RFC 3463 §2: "status-code = class "." subject "." detail"; class 2, 4 or 5, subject and
# detail of one to three digits.
_STATUS_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
_PATTERN_RE = re.compile(r"^[245](?:\.\d{1,3}(?:\.(?:\d{1,3}|\*))?|\.\*)$")
# Where a reply carries its enhanced code: first thing after the reply code (RFC 3463 §2,
# RFC 2034 §4: "the enhanced status code ... MUST preface the text part").
_REPLY_STATUS_RE = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})(?=\s|$)")
#: Characters of a reply read for the text patterns (replies are untrusted and unbounded).
MAX_TEXT_CHARS = 2000


class BounceClass(enum.StrEnum):
    """What a failure says about the address (see ``bounce_codes.toml``)."""

    HARD = "hard"
    SOFT = "soft"
    NOT_RECIPIENT = "not-recipient"
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BounceVerdict:
    """The classification of one status code or reply.

    Attributes:
        kind: hard, soft, not-recipient or unknown.
        status: the enhanced status code read (``"5.1.1"``), or None.
        matched: the entry of the data that decided (``"5.1.1"``, ``"5.7.*"``,
            ``"text:user unknown"``), or ``""`` when none did.
        meaning: what the entry says.
        source: the entry's source (RFC section, provider page).
    """

    kind: BounceClass
    status: str | None = None
    matched: str = ""
    meaning: str = ""
    source: str = ""

    @property
    def suppresses(self) -> bool:
        """Whether it suppresses the address at once (only ``hard`` does)."""
        return self.kind is BounceClass.HARD

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dataclasses.asdict(self) | {"kind": str(self.kind)}


@dataclasses.dataclass(frozen=True, slots=True)
class BounceCodes:
    """The loaded data: status pattern -> verdict, and the text patterns of 5xx replies
    without an enhanced code."""

    codes: Mapping[str, BounceVerdict]
    texts: tuple[tuple[str, BounceVerdict], ...]

    def status(self, status: str, /) -> BounceVerdict:
        """The verdict of an enhanced status code (exact, then ``C.S.*``, then ``C.*``)."""
        m = _STATUS_RE.match(status.strip())
        if not m:
            return BounceVerdict(kind=BounceClass.UNKNOWN)
        klass, subject, detail = (str(int(g)) for g in m.groups())
        code = f"{klass}.{subject}.{detail}"
        for pattern in (code, f"{klass}.{subject}.*", f"{klass}.*"):
            found = self.codes.get(pattern)
            if found is not None:
                return dataclasses.replace(found, status=code)
        return BounceVerdict(kind=BounceClass.UNKNOWN, status=code)

    def reply(self, code: int, text: str, /) -> BounceVerdict:
        """The verdict of an SMTP reply: its enhanced code when it has one; else, for a
        5xx, the text patterns; else unknown. A 2xx or 3xx is not a failure."""
        if not 400 <= code < 600:
            return BounceVerdict(kind=BounceClass.NOT_RECIPIENT)
        m = _REPLY_STATUS_RE.match(text)
        if m:
            verdict = self.status(m.group(1))
            # RFC 3463 §2: the class must match the reply code's first digit; a 550 with
            # "4.2.2" is read as a permanent failure of that subject and detail.
            if verdict.status and verdict.status[0] != str(code)[0]:
                verdict = self.status(str(code)[0] + verdict.status[1:])
            return verdict
        if code >= 500:
            lowered = text[:MAX_TEXT_CHARS].lower()
            for needle, verdict in self.texts:
                if needle in lowered:
                    return verdict
        return BounceVerdict(kind=BounceClass.UNKNOWN)


def _verdict(entry: Mapping[str, Any], where: str, matched: str) -> BounceVerdict:
    try:
        kind = BounceClass(entry["kind"])
    except (KeyError, ValueError) as exc:
        raise ConfigError(
            f"bounce codes: {where}: kind must be one of {list(BounceClass)}"
        ) from exc
    return BounceVerdict(kind=kind, matched=matched, meaning=str(entry.get("meaning", "")),
                         source=str(entry.get("source", "")))  # fmt: skip


def load_bounce_codes(text: str | None = None, /) -> BounceCodes:
    """Parse a bounce-codes file (default: the packaged ``bounce_codes.toml``).

    Raises:
        ConfigError: not TOML, a malformed status pattern, an unknown kind, a duplicate
            pattern, an entry without a source.
    """
    if text is None:
        return _default()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"bounce codes: {exc}") from exc
    codes: dict[str, BounceVerdict] = {}
    for i, entry in enumerate(data.get("code", [])):
        pattern = str(entry.get("status", ""))
        where = f"code #{i + 1} ({pattern!r})"
        if not _PATTERN_RE.match(pattern) or (pattern.count(".") == 1 and "*" not in pattern):
            raise ConfigError(f"bounce codes: {where}: status must be C.S.D, C.S.* or C.*")
        if pattern in codes:
            raise ConfigError(f"bounce codes: {where}: listed twice")
        if not entry.get("source"):
            raise ConfigError(f"bounce codes: {where}: every entry cites its source")
        codes[pattern] = _verdict(entry, where, pattern)
    texts = []
    for i, entry in enumerate(data.get("text", [])):
        needle = str(entry.get("contains", "")).lower()
        where = f"text #{i + 1} ({needle!r})"
        if not needle or not entry.get("source"):
            raise ConfigError(f"bounce codes: {where}: needs contains and source")
        texts.append((needle, _verdict(entry, where, f"text:{needle}")))
    return BounceCodes(codes=codes, texts=tuple(texts))


@functools.cache
def _default() -> BounceCodes:
    text = importlib.resources.files(__package__).joinpath("bounce_codes.toml").read_text()
    return load_bounce_codes(text)


def classify_status(status: str, /, *, codes: BounceCodes | None = None) -> BounceVerdict:
    """Classify an RFC 3463 status code (a DSN's ``Status:`` field): see
    :meth:`BounceCodes.status`."""
    return (codes or _default()).status(status)


def classify_reply(code: int, text: str, /, *, codes: BounceCodes | None = None) -> BounceVerdict:
    """Classify an SMTP reply (code and text, the enhanced code first in the text): see
    :meth:`BounceCodes.reply`."""
    return (codes or _default()).reply(code, text)
