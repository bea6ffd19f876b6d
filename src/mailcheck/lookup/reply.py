"""Questions and the replies to them, with a lean parser for the common replies.

``dns.message.from_wire`` builds a ``Name``, an ``Rdata``, an ``RRset`` and several enums
for every record of every section, so parsing a reply cost more than everything else a
question needs. :func:`parse_reply` reads the common replies straight from the bytes
(RFC 1035 §4.1, RFC 6891 §6.1): our question echoed, then A, AAAA, TXT, PTR or CNAME
records in the answer section, SOA or NS records in the authority section, A or AAAA
glue and one plain OPT record in the additional section. It builds dnspython ``Rdata``
objects only for the answer records, as before.

Anything else — another record type or class, EDNS options, an extended rcode, a
question that is not ours, a header that is not a standard response, malformed data —
makes it raise :class:`WireError`, and the caller hands the bytes to dnspython, which
accepts or rejects them exactly as before. The lean parser accepts only replies
dnspython accepts and gives the same :class:`~mailcheck.lookup.answer.DnsAnswer` for
them (a hypothesis test compares both on random and mutated replies): names follow
dnspython's compression rules (a pointer must point before the previous one and the
whole target before the name that points at it, at most 16 hops, 255 bytes in all),
every length is bounds-checked, and the reply must end where its last record ends.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA

from mailcheck.lookup.answer import (
    DEFAULT_NEGATIVE_TTL,
    DnsAnswer,
    answer_from_rrsets,
    answer_from_sets,
    name_text,
)

_IN = dns.rdataclass.IN
_A, _AAAA, _TXT = dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.TXT
_PTR, _CNAME, _NS, _SOA, _OPT = (
    dns.rdatatype.PTR,
    dns.rdatatype.CNAME,
    dns.rdatatype.NS,
    dns.rdatatype.SOA,
    dns.rdatatype.OPT,
)
# dnspython's limit on compression pointers followed for one name.
MAX_POINTER_HOPS = 16
_QR, _OPCODE, _TC = 0x8000, 0x7800, 0x0200
_RR = struct.Struct("!HHIH")
_HEADER = struct.Struct("!HHHHHH")
_SOA_TAIL = struct.Struct("!IIIII")
# Names the fast path builds in wire format itself: plain LDH labels (and "_"), which
# dnspython would take and print unchanged. Anything else goes through dns.name.from_text.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?")
# Answer records are immutable: common ones (127.0.0.x codes, ...) are built once.
_RDATA_CACHE_SIZE = 4096
_rdata_cache: dict[tuple[int, bytes], dns.rdata.Rdata] = {}
# (owner key, type) -> (TTL, records): the answer section as dnspython's RRsets would be.
_Sets = dict[tuple[bytes, int], tuple[int, list[dns.rdata.Rdata]]]


class WireError(ValueError):
    """The lean parser does not take this reply (malformed or unusual): ask dnspython."""


class QueryName:
    """A name to ask, parsed once: its wire form, lookup key and texts.

    Attributes:
        text: the name as dnspython prints it, case kept, no final dot (error messages).
        answer_name: lower case, no final dot, ``"."`` for the root (``DnsAnswer.name``).
        wire: the uncompressed wire form, case kept (what is sent).
        key: ``wire`` in lower case (how names are compared, RFC 4343).
    """

    __slots__ = ("_name", "answer_name", "key", "text", "wire")

    def __init__(self, text: str, wire: bytes, name: dns.name.Name | None = None) -> None:
        self.text = text
        self.answer_name = text.lower() if name is None else name_text(name)
        self.wire = wire
        self.key = wire.lower()
        self._name = name

    @classmethod
    def parse(cls, name: str, fallback: Callable[[str], dns.name.Name]) -> QueryName:
        """``name`` (as the caller wrote it) ready to ask; ``fallback`` parses unusual names.

        Plain ASCII names are encoded here; others (U-labels, escapes, the root) go through
        ``fallback`` (``dns.name.from_text``), which raises for invalid names.
        """
        text = name.strip()
        bare = text[:-1] if text.endswith(".") else text
        if len(bare) <= 253 and _PLAIN_NAME.fullmatch(text):
            labels = bare.encode("ascii").split(b".")
            wire = b"".join([bytes((len(label),)) + label for label in labels]) + b"\x00"
            return cls(bare, wire)
        parsed = fallback(name)
        parsed_wire = parsed.to_wire()
        assert parsed_wire is not None  # to_wire without a file returns the bytes
        return cls(parsed.to_text(omit_final_dot=True), parsed_wire, parsed)

    @property
    def name(self) -> dns.name.Name:
        """The dnspython name (built on first use: TCP, replies dnspython parses)."""
        if self._name is None:
            self._name = dns.name.Name(_labels(self.wire))
        return self._name


class Question:
    """One question as sent: name, type, class IN, and its question-section bytes."""

    __slots__ = ("name", "rdtype", "rdtype_text", "wire")

    def __init__(self, name: QueryName, rdtype: dns.rdatatype.RdataType, rdtype_text: str) -> None:
        self.name = name
        self.rdtype = rdtype
        self.rdtype_text = rdtype_text
        self.wire = name.wire + struct.pack("!HH", rdtype, _IN)


class Reply:
    """A response to one question: its flags, rcode and what it answers."""

    __slots__ = ("flags", "rcode")

    def __init__(self, flags: int, rcode: int) -> None:
        self.flags = flags
        self.rcode = rcode

    def answer(self, question: Question) -> DnsAnswer:  # pragma: no cover - abstract
        """The answer to ``question``.

        Raises:
            TempError: for any rcode but NOERROR and NXDOMAIN, or a CNAME loop.
        """
        raise NotImplementedError


class LeanReply(Reply):
    """A reply read by :func:`parse_reply`."""

    __slots__ = ("negative_ttl", "sets")

    def __init__(self, flags: int, rcode: int, sets: _Sets, negative_ttl: int) -> None:
        super().__init__(flags, rcode)
        self.sets = sets
        self.negative_ttl = negative_ttl

    def answer(self, question: Question) -> DnsAnswer:
        name = question.name
        return answer_from_sets(
            name.key,
            name.answer_name,
            question.rdtype,
            question.rdtype_text,
            self.rcode,
            self.sets,
            name_key,
            self.negative_ttl,
        )


class MessageReply(Reply):
    """A reply parsed by dnspython (unusual replies, TCP)."""

    __slots__ = ("message",)

    def __init__(self, message: dns.message.Message) -> None:
        super().__init__(int(message.flags), message.rcode())
        self.message = message

    def answer(self, question: Question) -> DnsAnswer:
        message = self.message
        return answer_from_rrsets(
            question.name.name,
            question.rdtype,
            dns.rcode.Rcode.make(self.rcode),
            message.answer,
            message.authority,
        )


def name_key(name: dns.name.Name) -> bytes:
    """A dnspython name as :func:`parse_reply` keys names: lower-case wire form."""
    return b"".join([bytes((len(label),)) + label.lower() for label in name.labels])


def _labels(wire: bytes) -> tuple[bytes, ...]:
    labels, pos = [], 0
    while True:
        count = wire[pos]
        labels.append(wire[pos + 1 : pos + 1 + count])
        if count == 0:
            return tuple(labels)
        pos += 1 + count


def read_name(wire: bytes, pos: int, end: int) -> tuple[bytes, int]:
    """The name at ``pos``: (its uncompressed wire form, the offset after it).

    ``end`` bounds the bytes the name itself may use (the message, or the record data);
    compression pointers must point before the previous pointer (RFC 1035 §4.1.4 does
    not require it, dnspython does, and it makes loops impossible), the data they point
    at must end before the place that points at it, and at most 16 are followed.

    Raises:
        WireError: out of bounds, a bad label type or pointer, a name over 255 bytes.
    """
    parts: list[bytes] = []
    start = biggest = pos
    limit = end
    after = -1
    hops = 0
    length = 1
    while True:
        if pos >= limit:
            raise WireError("name runs past its data")
        count = wire[pos]
        if count == 0:
            pos += 1
            break
        if count < 64:
            stop = pos + 1 + count
            if stop > limit:
                raise WireError("label runs past its data")
            parts.append(wire[pos:stop])
            length += count + 1
            pos = stop
        elif count >= 192:
            if pos + 1 >= limit:
                raise WireError("compression pointer runs past its data")
            target = ((count & 0x3F) << 8) | wire[pos + 1]
            if target >= biggest:
                raise WireError("compression pointer does not point backwards")
            hops += 1
            if hops > MAX_POINTER_HOPS:
                raise WireError("too many compression pointers")
            if after < 0:
                after = pos + 2
            biggest = target
            limit = start  # the target must not overlap the name that points at it
            pos = start = target
        else:
            raise WireError("bad label type")
    if length > 255:
        raise WireError("name longer than 255 bytes")
    parts.append(b"\x00")
    return b"".join(parts), (pos if after < 0 else after)


def _cache(rdtype: int, key: bytes, rdata: dns.rdata.Rdata) -> dns.rdata.Rdata:
    if len(_rdata_cache) >= _RDATA_CACHE_SIZE:
        _rdata_cache.clear()
    _rdata_cache[(rdtype, key)] = rdata
    return rdata


def _plain_rdata(rdtype: int, wire: bytes, pos: int, end: int) -> dns.rdata.Rdata:
    if rdtype == _TXT:
        return dns.rdtypes.ANY.TXT.TXT(_IN, _TXT, _txt_strings(wire, pos, end))
    if end - pos != (4 if rdtype == _A else 16):
        raise WireError("bad address length")
    if rdtype == _A:
        return dns.rdtypes.IN.A.A(_IN, _A, wire[pos:end])  # type: ignore[no-untyped-call]
    return dns.rdtypes.IN.AAAA.AAAA(_IN, _AAAA, wire[pos:end])  # type: ignore[no-untyped-call]


def _name_rdata(rdtype: int, raw: bytes) -> dns.rdata.Rdata:
    name = dns.name.Name(_labels(raw))
    if rdtype == _PTR:
        return dns.rdtypes.ANY.PTR.PTR(_IN, _PTR, name)  # type: ignore[no-untyped-call]
    return dns.rdtypes.ANY.CNAME.CNAME(_IN, _CNAME, name)  # type: ignore[no-untyped-call]


def _txt_strings(wire: bytes, pos: int, end: int) -> list[bytes]:
    strings = []
    while pos < end:
        stop = pos + 1 + wire[pos]
        if stop > end:
            raise WireError("TXT string runs past its record")
        strings.append(wire[pos + 1 : stop])
        pos = stop
    if not strings:
        raise WireError("TXT record without strings")
    return strings


def parse_reply(wire: bytes, question: Question) -> LeanReply:
    """Read a reply to ``question`` (its id already matched) without dnspython.

    Raises:
        WireError: the reply is not one the lean parser takes; parse it with dnspython.
    """
    size = len(wire)
    if size < 12:
        raise WireError("short header")
    _, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire)
    if not flags & _QR or flags & _OPCODE or qdcount != 1:
        raise WireError("not a standard response to one question")
    asked = question.wire
    qend = 12 + len(asked)
    name_end = qend - 4
    # Our question, byte for byte but for case (length octets are below "A", so lower()
    # cannot make two different label structures equal).
    if wire[12:name_end].lower() != question.name.key or wire[name_end:qend] != asked[-4:]:
        raise WireError("not our question")
    pos = qend
    sets: _Sets = {}
    seen: dict[tuple[bytes, int], set[bytes]] = {}
    negative_owner: bytes | None = None
    negative_ttl = soa_minimum = 0
    has_opt = False
    for section, count in ((1, ancount), (2, nscount), (3, arcount)):
        for _ in range(count):
            if wire[pos : pos + 2] == b"\xc0\x0c":  # the usual owner: our question's name
                owner, pos = wire[12:name_end], pos + 2
            elif wire[pos : pos + 1] == b"\x00":  # the root (OPT)
                owner, pos = b"\x00", pos + 1
            else:
                owner, pos = read_name(wire, pos, size)
            if pos + 10 > size:
                raise WireError("record header runs past the message")
            rdtype, rdclass, ttl, rdlen = _RR.unpack_from(wire, pos)
            pos += 10
            end = pos + rdlen
            if end > size:
                raise WireError("record data runs past the message")
            if rdtype == _OPT:
                if section != 3 or has_opt or owner != b"\x00" or rdlen:
                    raise WireError("OPT record dnspython must judge")
                has_opt = True
                if ttl >> 16:
                    raise WireError("extended rcode or EDNS version")
                pos = end
                continue
            if rdclass != _IN:
                raise WireError("record class other than IN")
            if ttl > 0x7FFFFFFF:
                ttl = 0  # as dnspython
            if section == 1:
                if rdtype in (_A, _AAAA, _TXT):
                    digest = wire[pos:end]
                    rdata = _rdata_cache.get((rdtype, digest))
                    if rdata is None:
                        rdata = _cache(rdtype, digest, _plain_rdata(rdtype, wire, pos, end))
                elif rdtype in (_PTR, _CNAME):
                    raw, stop = read_name(wire, pos, end)
                    if stop != end:
                        raise WireError("name does not fill its record")
                    digest = raw.lower()
                    rdata = _rdata_cache.get((rdtype, raw))
                    if rdata is None:
                        rdata = _cache(rdtype, raw, _name_rdata(rdtype, raw))
                else:
                    raise WireError("answer record type the lean parser does not read")
                key = (owner.lower(), rdtype)
                entry = sets.get(key)
                if entry is None:
                    sets[key] = (ttl, [rdata])
                    seen[key] = {digest}
                else:
                    records = entry[1]
                    if ttl < entry[0]:
                        sets[key] = entry = (ttl, records)
                    if rdtype == _CNAME:  # a singleton type: the last one stays (dnspython)
                        records[:] = [rdata]
                    elif digest not in seen[key]:
                        seen[key].add(digest)
                        records.append(rdata)
            elif section == 2 and rdtype in (_SOA, _NS):
                _, stop = read_name(wire, pos, end)
                if rdtype == _SOA:
                    _, stop = read_name(wire, stop, end)
                    if stop + 20 != end:
                        raise WireError("SOA record of the wrong length")
                    minimum = _SOA_TAIL.unpack_from(wire, stop)[4]
                    owner_key = owner.lower()
                    if negative_owner is None:
                        negative_owner, negative_ttl, soa_minimum = owner_key, ttl, minimum
                    elif owner_key == negative_owner:
                        negative_ttl, soa_minimum = min(negative_ttl, ttl), minimum
                elif stop != end:
                    raise WireError("name does not fill its record")
            elif section == 3 and rdtype in (_A, _AAAA):
                if rdlen != (4 if rdtype == _A else 16):
                    raise WireError("bad address length")
            else:
                raise WireError("record type the lean parser does not read here")
            pos = end
    if pos != size:
        raise WireError("trailing bytes after the last record")
    if negative_owner is None:
        negative_ttl = DEFAULT_NEGATIVE_TTL
    else:
        negative_ttl = min(negative_ttl, soa_minimum)
    return LeanReply(flags, flags & 0xF, sets, negative_ttl)
