"""Header fields of a post as raw bytes, and its From read strictly (for rewriting).

The rewrite keeps every other field byte for byte, so the header block is split into
raw fields (name, the whole field with its folding and CRLF) rather than parsed into an
``email.message`` object that would refold or re-encode it.
"""

from __future__ import annotations

import dataclasses
import email.errors
import email.header
import email.utils
import re

from mailcheck.authresults import drop_unsafe_characters
from mailcheck.dkim.sign import normalize_newlines
from mailcheck.errors import ParseError
from mailcheck.lists.types import MitigationError
from mailcheck.lookup.domains import normalize_domain

# A bound on what is read: real header blocks are a few kilobytes; a megabyte is hostile.
MAX_HEADER_BYTES = 1024 * 1024
# The author's name shown in "Name via List" is cut here (a From is not a place for essays,
# and RFC 5322 §2.1.1 caps a line at 998 characters).
MAX_NAME_CHARS = 200
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    """One header field: its lower-case name and its raw bytes (name, value, CRLF)."""

    name: str
    raw: bytes

    @property
    def value(self) -> bytes:
        """The raw value after the colon, folding kept, outer whitespace and CRLF removed."""
        return self.raw.partition(b":")[2].strip()


@dataclasses.dataclass(frozen=True, slots=True)
class Author:
    """The one mailbox of a From field."""

    name: str
    """The display name, encoded words decoded ("" without one)."""
    address: str
    """The address as written (``local@domain``)."""
    domain: str
    """The domain, A-labels, lower case."""


def split_post(message: bytes) -> tuple[list[Field], bytes]:
    """(the header fields, the body) of a message; bare LF becomes CRLF.

    Raises:
        MitigationError: no header block, one over :data:`MAX_HEADER_BYTES`, or a line
            that is neither ``Name: value`` nor a continuation.
    """
    data = normalize_newlines(message)
    if data.startswith(b"\r\n") or not data:
        raise MitigationError("the message has no header fields")
    end = data.find(b"\r\n\r\n")
    head, body = (data + b"\r\n", b"") if end < 0 else (data[: end + 2], data[end + 4 :])
    if len(head) > MAX_HEADER_BYTES:
        raise MitigationError(f"the header block is larger than {MAX_HEADER_BYTES} bytes")
    fields: list[Field] = []
    for number, line in enumerate(head[:-2].split(b"\r\n"), start=1):
        if b"\r" in line or b"\0" in line:
            # Copied into Reply-To or X-Original-From, a bare CR would end a header early.
            raise MitigationError(f"header line {number} holds a bare CR or a NUL")
        if line[:1] in (b" ", b"\t"):
            if not fields:
                raise MitigationError("the header block starts with a continuation line")
            fields[-1] = Field(fields[-1].name, fields[-1].raw + line + b"\r\n")
            continue
        match = _FIELD_NAME.match(line)
        if match is None:
            raise MitigationError(f"header line {number} is not 'Name: value'")
        name = match.group()[:-1].rstrip(b" \t").decode("ascii").lower()
        fields.append(Field(name, line + b"\r\n"))
    return fields, body


def the_from(fields: list[Field]) -> Field:
    """The one From field.

    Raises:
        MitigationError: no From field, or several (RFC 5322 §3.6: exactly one).
    """
    found = [f for f in fields if f.name == "from"]
    if not found:
        raise MitigationError("the message has no From header field (RFC 5322 §3.6)")
    if len(found) > 1:
        raise MitigationError("the message has several From header fields (RFC 5322 §3.6)")
    return found[0]


def read_author(value: bytes) -> Author:
    """The mailbox of a From value (UTF-8 allowed, RFC 6532).

    Raises:
        MitigationError: not UTF-8, not exactly one address, no valid domain, or a display
            name whose encoded words do not decode.
    """
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise MitigationError("the From header field is not UTF-8 (RFC 6532)") from None
    text = re.sub(r"\r\n(?=[ \t])", "", text)
    pairs = [(n, a) for n, a in email.utils.getaddresses([text]) if n or a]
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        raise MitigationError("the From header field must hold exactly one address")
    name, address = pairs[0]
    try:
        domain = normalize_domain(address.rpartition("@")[2])
    except ParseError as exc:
        raise MitigationError(f"the From address has no valid domain ({exc.reason})") from None
    return Author(name=display_name(name), address=address, domain=domain)


def display_name(raw: str) -> str:
    """A display name with its RFC 2047 encoded words decoded, controls dropped, cut short.

    Raises:
        MitigationError: an encoded word names an unknown charset or does not decode.
    """
    try:
        decoded = str(email.header.make_header(email.header.decode_header(raw)))
    except (LookupError, UnicodeError, email.errors.HeaderParseError, ValueError):
        raise MitigationError("the From display name holds an undecodable encoded word") from None
    clean = " ".join(drop_unsafe_characters(decoded).split())
    return clean[:MAX_NAME_CHARS]


def list_mailbox(list_address: str) -> tuple[str, str]:
    """(the list address, its domain) checked as an RFC 5321 mailbox.

    Raises:
        MitigationError: not a plain ``local@domain`` address.
    """
    from mailcheck.address import parse_mailbox

    try:
        mailbox = parse_mailbox(list_address)
    except ParseError as exc:
        raise MitigationError(f"list address: {exc.reason}") from None
    if mailbox.needs_smtputf8:
        raise MitigationError("list address: the local part must be ASCII")
    smtp = mailbox.to_text()
    return smtp, smtp.rpartition("@")[2]
