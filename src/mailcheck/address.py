"""Mail addresses as SMTP sends them: RFC 5321 §4.1.2 mailboxes, SMTPUTF8 on purpose.

Pure functions, no I/O. :func:`parse_mailbox` takes one address (what ``MAIL FROM`` or
``RCPT TO`` carries, without angle brackets) and returns a :class:`Mailbox` or raises
:class:`~mailcheck.errors.AddressError`; :func:`recipients_from_headers` reads the envelope
recipients of a message from its To, Cc and Bcc fields (as ``sendmail -t`` does) and drops
the Bcc field from the message.

Choices beyond the grammar, each refused with a one-line reason naming the value: an empty
local part (even ``""``), a display name or angle brackets, a list (``a@x,b@y`` is two
addresses), any control or format character (CR, LF, NUL, bidi overrides), a general
address literal other than IPv4 or IPv6. A non-ASCII local part is accepted and flagged
:attr:`Mailbox.needs_smtputf8` (RFC 6531: only a server that announces SMTPUTF8 may get
it); a non-ASCII domain is converted to its A-label (IDNA 2008 with the ``idna`` package
when installed, else Python's IDNA 2003 codec), which works with every server.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import unicodedata

from mailcheck.errors import AddressError

__all__ = ["AddressError", "Mailbox", "parse_mailbox", "recipients_from_headers"]

#: RFC 5321 §4.5.3.1.1: "The maximum total length of a user name or other local-part is
#: 64 octets."
LOCAL_PART_MAX = 64
#: RFC 5321 §4.5.3.1.2: "The maximum total length of a domain name or number is 255 octets."
DOMAIN_MAX = 255
#: RFC 1035 §2.3.4: "labels 63 octets or less".
LABEL_MAX = 63

# RFC 5321 §4.1.2: atext of RFC 5322 §3.2.3 (Dot-string = Atom *("." Atom)).
_ATEXT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
)
# sub-domain = Let-dig [Ldh-str]; Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
# Unicode categories refused everywhere: controls, format (bidi overrides, zero-width),
# surrogates (undecodable bytes), unassigned, private use, and line/paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Co", "Zl", "Zp"})
_WHY = {
    " ": "a space outside quotes",
    ",": "a comma (one address only)",
    "<": "angle brackets (give the bare address)",
    ">": "angle brackets (give the bare address)",
    "@": "more than one @ outside quotes",
    '"': "a quote inside the local part",
    "(": "a comment",
    ")": "a comment",
    "[": "a bracket in the local part",
    "]": "a bracket in the local part",
    ":": "a colon (a group or a source route)",
    ";": "a semicolon",
    "\\": "a backslash outside quotes",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Mailbox:
    """One RFC 5321 mailbox.

    Attributes:
        local: the local part as written on the wire (a Dot-string, or a Quoted-string
            with its quotes and escapes); case is kept (it is the receiver's business).
        domain: the domain lower-cased (Unicode as given), or an address literal
            (``[192.0.2.1]``, ``[IPv6:2001:db8::1]``).
        ascii_domain: ``domain`` with IDNA A-labels (``xn--...``): what goes on the wire.
        needs_smtputf8: the local part is not ASCII: only a server announcing SMTPUTF8
            (RFC 6531) may be given this address.
    """

    local: str
    domain: str
    ascii_domain: str
    needs_smtputf8: bool

    def to_text(self) -> str:
        """``local@domain``; ``parse_mailbox(m.to_text()) == m``."""
        return f"{self.local}@{self.domain}"

    def to_smtp(self) -> str:
        """``local@ascii_domain``: the form for ``MAIL FROM``/``RCPT TO``."""
        return f"{self.local}@{self.ascii_domain}"


def _refused_char(ch: str) -> str | None:
    """Why ``ch`` may appear nowhere in an address, or None."""
    if ch == "\r" or ch == "\n":
        return "a line break"
    if ch == "\x00":
        return "a NUL character"
    category = unicodedata.category(ch)
    if category in _REFUSED_CATEGORIES:
        return f"the control or format character U+{ord(ch):04X}"
    return None


def _quoted_end(text: str, start: int) -> int:
    """Index just past the Quoted-string starting at ``text[start] == '"'``."""
    # QcontentSMTP = qtextSMTP / quoted-pairSMTP; quoted-pairSMTP = %d92 %d32-126
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or not " " <= text[i + 1] <= "~":
                raise AddressError(text, i, "a backslash not followed by a printable character")
            i += 2
            continue
        if ch == '"':
            if i == start + 1:
                raise AddressError(text, start, "an empty local part")
            return i + 1
        i += 1
    raise AddressError(text, start, "an unterminated quoted local part")


def _check_dot_string(text: str, end: int) -> None:
    """Dot-string = Atom *("." Atom), atext plus UTF8-non-ascii (RFC 6531 §3.3)."""
    if end == 0:
        raise AddressError(text, 0, "an empty local part")
    for i in range(end):
        ch = text[i]
        if ch == ".":
            if i == 0 or i == end - 1 or text[i - 1] == ".":
                raise AddressError(text, i, "an empty part between dots in the local part")
        elif ch not in _ATEXT and ord(ch) < 0x80:
            raise AddressError(text, i, _WHY.get(ch, f"the character {ch!r}"))


def _literal(text: str, start: int) -> str:
    """address-literal = "[" ( IPv4-address-literal / IPv6-address-literal ) "]"."""
    inner = text[start + 1 : -1] if text.endswith("]") else None
    if inner is None:
        raise AddressError(text, start, "an address literal without its closing bracket")
    try:
        if inner[:5].lower() == "ipv6:":
            return f"[IPv6:{ipaddress.IPv6Address(inner[5:]).compressed}]"
        return f"[{ipaddress.IPv4Address(inner)}]"
    except ValueError:
        raise AddressError(text, start + 1, "not an IPv4 or IPv6 address literal") from None


def _ascii_domain(text: str, start: int, domain: str) -> str:
    if domain.isascii():
        return domain
    try:
        import idna  # optional: IDNA 2008 when installed
    except ImportError:  # pragma: no cover - the test environment has idna
        try:
            return domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise AddressError(text, start, "a domain with no IDNA A-label") from None
    try:
        return str(idna.encode(domain, uts46=True).decode("ascii"))
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise AddressError(text, start, f"a domain with no IDNA A-label ({exc})") from None


def _domain(text: str, start: int) -> tuple[str, str]:
    """Domain = sub-domain *("." sub-domain); (domain as given lower-cased, A-label form)."""
    domain = text[start:]
    if not domain:
        raise AddressError(text, start, "an empty domain")
    if domain.startswith("["):
        literal = _literal(text, start)
        return literal, literal
    for i, ch in enumerate(domain, start):
        if ch.isascii() and not (ch.isalnum() or ch in ".-"):
            raise AddressError(text, i, _WHY.get(ch, f"the character {ch!r} in the domain"))
    domain = domain.lower()
    ascii_domain = _ascii_domain(text, start, domain)
    if len(ascii_domain) > DOMAIN_MAX:
        raise AddressError(text, start, f"a domain longer than {DOMAIN_MAX} octets")
    position = start
    for label in ascii_domain.split("."):
        if not label:
            raise AddressError(text, position, "an empty label in the domain")
        if len(label) > LABEL_MAX:
            raise AddressError(text, position, f"a domain label longer than {LABEL_MAX}")
        if not _LABEL_RE.fullmatch(label):
            raise AddressError(text, position, f"the domain label {label!r} is not LDH")
        position += len(label) + 1  # exact for ASCII domains, near enough for others
    return domain, ascii_domain


def parse_mailbox(text: str, /) -> Mailbox:
    """Parse one RFC 5321 Mailbox: ``Local-part "@" ( Domain / address-literal )``.

    Raises:
        AddressError: anything else, with a one-line reason naming the value and the
            position (see the module docstring for what is refused beyond the grammar).

    Example:
        >>> parse_mailbox("Jo.Doe@Bücher.Example").to_smtp()
        'Jo.Doe@xn--bcher-kva.example'
    """
    for i, ch in enumerate(text):
        why = _refused_char(ch)
        if why is not None:
            raise AddressError(text, i, why)
    if text.startswith('"'):
        at = _quoted_end(text, 0)
        if at >= len(text) or text[at] != "@":
            raise AddressError(text, at, "no @ after the quoted local part")
    else:
        at = text.find("@")
        if at < 0:
            raise AddressError(text, len(text), "no @")
        _check_dot_string(text, at)
    local = text[:at]
    if len(local.encode("utf-8")) > LOCAL_PART_MAX:
        raise AddressError(text, 0, f"a local part longer than {LOCAL_PART_MAX} octets")
    domain, ascii_domain = _domain(text, at + 1)
    return Mailbox(
        local=local, domain=domain, ascii_domain=ascii_domain, needs_smtputf8=not local.isascii()
    )


_FIELD_NAMES = frozenset({"to", "cc", "bcc"})
_LINE_RE = re.compile(rb"[^\r\n]*(?:\r\n|\n|\r(?!\n)|$)")


def _header_fields(head: bytes) -> list[tuple[int, int, str, str]]:
    """(start, end, lower-cased name, unfolded value) of each field; offsets in bytes."""
    fields: list[tuple[int, int, str, str]] = []
    offset = 0
    for match in _LINE_RE.finditer(head):
        line = match.group()
        if not line:
            break
        text = line.decode("utf-8", "surrogateescape").rstrip("\r\n")
        if line[:1] in (b" ", b"\t") and fields:  # a continuation line (folding)
            start, _, name, value = fields[-1]
            fields[-1] = (start, offset + len(line), name, value + text)
        else:
            name, _, value = text.partition(":")
            fields.append((offset, offset + len(line), name.strip().lower(), value))
        offset += len(line)
    return fields


def _split_addresses(name: str, value: str) -> list[str]:
    """The addr-specs of an RFC 5322 address-list (display names, comments and group
    names dropped; empty elements skipped)."""
    out: list[str] = []
    current: list[str] = []
    angle: list[str] | None = None
    depth = 0  # comment nesting
    quoted = False
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and (quoted or depth):
            (angle if angle is not None else current).append(value[i : i + 2])
            i += 2
            continue
        if quoted:
            quoted = ch != '"'
            (angle if angle is not None else current).append(ch)
        elif depth:
            depth += {"(": 1, ")": -1}.get(ch, 0)
        elif ch == "(":
            depth = 1
        elif ch == '"':
            quoted = True
            (angle if angle is not None else current).append(ch)
        elif angle is not None:
            if ch == ">":
                current, angle = ["<", *angle, ">"], None
            else:
                angle.append(ch)
        elif ch == "<":
            angle = []
        elif ch in ",;":
            out.append("".join(current))
            current = []
        elif ch == ":" and "<" not in current:
            current = []  # a group's display name
        else:
            current.append(ch)
        i += 1
    if quoted or depth or angle is not None:
        what = "quoted string" if quoted else "comment" if depth else "angle bracket"
        raise AddressError(value, len(value), f"{name}: an unterminated {what}")
    out.append("".join(current))
    return [_addr_spec(name, element) for element in out if element.strip()]


def _addr_spec(name: str, element: str) -> str:
    element = element.strip(" \t")
    if element.startswith("<") and element.endswith(">"):
        element = element[1:-1].strip(" \t")
    elif "<" in element:
        element = element[element.index("<") + 1 : -1].strip(" \t")  # after a display name
    try:
        parse_mailbox(element)
    except AddressError as exc:
        raise AddressError(exc.text, exc.position, f"in the {name} field: {exc.reason}") from None
    return element


def recipients_from_headers(raw: bytes, /) -> tuple[list[str], bytes]:
    """The envelope recipients of a message, and the message without its Bcc field.

    Recipients are the addresses of every To, Cc and Bcc field, in order, each once (as
    ``sendmail -t`` does); display names, comments and group names are dropped. The Bcc
    field (with its continuation lines) is removed from the message returned, which is
    otherwise byte for byte ``raw``.

    Raises:
        AddressError: a field holds something that is not a mailbox; the message names
            the field and the address (``To: "Joe Q" <joe q@example.net>`` is refused).

    Example:
        >>> recipients_from_headers(b"To: Jo <jo@a.example>\\r\\nBcc: b@b.example\\r\\n\\r\\nHi")
        (['jo@a.example', 'b@b.example'], b'To: Jo <jo@a.example>\\r\\n\\r\\nHi')
    """
    end = re.search(rb"(\r?\n|\r(?!\n))(?:\r?\n|\r)", raw)
    head_end = len(raw) if end is None else end.end(1)
    if raw.startswith((b"\r\n", b"\n", b"\r")):
        head_end = 0
    recipients: list[str] = []
    kept, last = [], 0
    for start, stop, name, value in _header_fields(raw[:head_end]):
        if name not in _FIELD_NAMES:
            continue
        recipients.extend(_split_addresses(name.capitalize(), value))
        if name == "bcc":
            kept.append(raw[last:start])
            last = stop
    kept.append(raw[last:])
    return list(dict.fromkeys(recipients)), b"".join(kept)
