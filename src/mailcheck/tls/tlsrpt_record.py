"""The TLS-RPT record, pure: ``_smtp._tls`` TXT (RFC 8460 §3)."""

from __future__ import annotations

import dataclasses
import re

from mailcheck.errors import ParseError
from mailcheck.model import ToDict
from mailcheck.tls.fields import split_fields

# RFC 8460 §3: tlsrpt-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
# RFC 8460 §3: tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")
# RFC 8460 §3: "rua: A URI specifying the endpoint to which aggregate information about
# policy validation results should be sent" — mailto: (§5.3) or https: (§5.4).
_MAILTO = re.compile(r"mailto:[^@\s,;!]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+", re.I)
_HTTPS = re.compile(
    r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[\x21-\x2b\x2d-\x3a\x3c-\x7e]*)?", re.I
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsRptRecord(ToDict):
    """A ``_smtp._tls`` TXT record: ``v=TLSRPTv1; rua=mailto:tls@example.org``.

    Attributes:
        rua: the report destinations, ``mailto:`` or ``https:`` URIs, in order.
        extensions: other ``name=value`` fields.
    """

    rua: tuple[str, ...]
    extensions: tuple[tuple[str, str], ...] = ()

    def to_text(self) -> str:
        """The record as it would be published."""
        fields = ["v=TLSRPTv1", "rua=" + ",".join(self.rua)]
        fields += [f"{k}={v}" for k, v in self.extensions]
        return "; ".join(fields)


def is_tlsrpt_txt(text: str, /) -> bool:
    """True for a TXT string that claims to be a TLS-RPT record (starts ``v=TLSRPTv1``)."""
    return text.lstrip(" \t").startswith("v=TLSRPTv1")


def parse_tlsrpt(text: str, /) -> TlsRptRecord:
    """Parse a TLS-RPT record (RFC 8460 §3).

    Raises:
        ParseError: not ``v=TLSRPTv1`` first, no ``rua=`` (or twice), a destination that
            is not a ``mailto:`` or ``https:`` URI, a bad extension field.

    Example:
        >>> parse_tlsrpt("v=TLSRPTv1; rua=mailto:tls@example.org").rua
        ('mailto:tls@example.org',)
    """
    fields = split_fields(text)
    if not fields or fields[0][:2] != ("v", "TLSRPTv1"):
        raise ParseError(text, 0, "a TLS-RPT record starts with v=TLSRPTv1")
    rua: tuple[str, ...] | None = None
    extensions: list[tuple[str, str]] = []
    for name, value, position in fields[1:]:
        if name == "rua":
            if rua is not None:
                raise ParseError(text, position, "rua= appears twice")
            rua = _destinations(text, value, position)
        elif name == "v":
            raise ParseError(text, position, "v= appears twice")
        elif not _EXT_NAME.fullmatch(name) or not _EXT_VALUE.fullmatch(value):
            raise ParseError(text, position, f"bad extension field {name!r}")
        else:
            extensions.append((name, value))
    if rua is None:
        raise ParseError(text, len(text), "no rua= field")
    return TlsRptRecord(rua=rua, extensions=tuple(extensions))


def _destinations(text: str, value: str, position: int) -> tuple[str, ...]:
    """``tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)``."""
    uris = []
    offset = position
    for part in value.split(","):
        uri = part.strip(" \t")
        if not (_MAILTO.fullmatch(uri) or _HTTPS.fullmatch(uri)):
            raise ParseError(
                text, offset, f"rua destination {uri[:60]!r}: expected mailto: or https:"
            )
        uris.append(uri)
        offset += len(part) + 1
    return tuple(uris)
