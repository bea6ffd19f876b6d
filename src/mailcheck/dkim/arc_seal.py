"""ARC sealing (RFC 8617 §5.1) on the DKIM signing core: one ARC Set added to a message.

The sealer records what its own ADMD found: the ``Authentication-Results`` header that
``verify_message`` built with the same ``authserv_id`` becomes the
ARC-Authentication-Results, and its ``arc=`` result the ARC-Seal's ``cv=``. The
ARC-Message-Signature is a DKIM signature with ``i=`` (relaxed/relaxed); the ARC-Seal
signs the ARC Sets. Canonicalisation is :mod:`mailcheck.dkim.canon`'s, the signature is
made by the :class:`~mailcheck.dkim.keys.DkimKey` (OpenSSL), RSA or Ed25519.

dkimpy's ``arc_sign`` is not used underneath: it signs with RSA only (its ``arc_sign``
forces ``rsa-sha256``) in pure Python; this module reuses what ``DkimSigner`` already does.

Example::

    sealer = ArcSealer("lists.example.net", "2026", key, authserv_id="lists.example.net")
    result = await verify_message(post, ip=ip, resolver=resolver, authserv_id=sealer.authserv_id)
    sealed = sealer.seal(result.header.encode() + b"\\r\\n" + post)
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterable

import dkim

from mailcheck.authresults import (
    AuthResultsHeader,
    build_authentication_results,
    read_authentication_results,
)
from mailcheck.dkim.arc_sets import ARC_FIELDS, ARC_MAX_SETS, ArcChain, read_arc_sets
from mailcheck.dkim.canon import relaxed_body, relaxed_headers, select_headers
from mailcheck.dkim.keys import DkimKey
from mailcheck.dkim.names import normalize_selector, normalize_signing_domain
from mailcheck.dkim.sign import (
    SIGNED_HEADERS,
    DkimSigner,
    normalize_newlines,
    parse_headers,
    split_message,
)
from mailcheck.errors import ParseError, SigningError

# What the AMS signs when present: DKIM's list and the DKIM signatures already there.
# RFC 8617 §4.1.2: the AMS "MUST NOT" sign ARC-Seal; Authentication-Results are left out
# too (each ADMD rewrites its own).
AMS_HEADERS: tuple[str, ...] = (*SIGNED_HEADERS, "dkim-signature")
CHAIN_RESULTS = ("none", "pass", "fail")


class ArcSealer:
    """Adds one ARC Set (AAR, AMS, AS) to a message, RSA or Ed25519.

    Args:
        domain: the ``d=`` of the AMS and AS.
        selector: the selector of ``key`` under ``domain``.
        key: a :class:`DkimKey` (from ``load_key``, the ``KeyStore``, ``generate_key``).
        authserv_id: the ``authserv-id`` of this ADMD's Authentication-Results: the one
            whose results are sealed.
        headers: header names the AMS signs when present (default :data:`AMS_HEADERS`).

    Raises:
        SigningError: a bad domain, selector, authserv-id or header name.
    """

    def __init__(
        self,
        domain: str,
        selector: str,
        key: DkimKey,
        *,
        authserv_id: str,
        headers: Iterable[str] = AMS_HEADERS,
    ) -> None:
        try:
            self.domain = normalize_signing_domain(domain)
            self.selector = normalize_selector(selector)
        except ParseError as exc:
            raise SigningError(f"sealer: {exc.reason}") from None
        if not authserv_id or any(c in authserv_id for c in " ;\r\n\t\0"):
            raise SigningError("sealer: authserv_id must be one token (no space or ';')")
        self.authserv_id = authserv_id
        self.key = key
        names = tuple(h.strip().lower() for h in headers)
        if "from" not in names or any(n.encode() in ARC_FIELDS for n in names):
            raise SigningError("sealer: the AMS must sign From and no ARC header field")
        self.headers = names

    @classmethod
    def from_signer(cls, signer: DkimSigner, /, *, authserv_id: str) -> ArcSealer:
        """A sealer with the domain and first key of a DKIM signer (a ``KeyStore`` entry).

        Example::

            sealer = ArcSealer.from_signer(store["lists.example"], authserv_id="lists.example")
        """
        selector, key = signer.keys[0]
        return cls(signer.domain, selector, key, authserv_id=authserv_id)

    def __repr__(self) -> str:
        key = self.key.type.value
        return f"ArcSealer(domain={self.domain!r}, selector={self.selector!r}, key={key})"

    def seal(
        self, message: bytes, /, *, chain: str | None = None, timestamp: int | None = None
    ) -> bytes:
        """The message with a new ARC Set on top (unchanged if the chain has ended, §5.1).

        Args:
            message: the message, with this ADMD's Authentication-Results on it.
            chain: the chain validation status to seal (``none``, ``pass``, ``fail``);
                default: the ``arc=`` result in this ADMD's Authentication-Results.
            timestamp: the ``t=`` value (default: now).

        Raises:
            SigningError: no Authentication-Results from ``authserv_id``, a chain present
                but not verified (no ``arc=`` result, or ``temperror``: seal later), more
                than 50 sets, or a message DKIM would refuse to sign (no From...).
        """
        data = normalize_newlines(message)
        return b"".join(self.arc_set(data, chain=chain, timestamp=timestamp)) + data

    def arc_set(
        self, message: bytes, /, *, chain: str | None = None, timestamp: int | None = None
    ) -> tuple[bytes, ...]:
        """The three new header lines (ARC-Seal, ARC-Message-Signature,
        ARC-Authentication-Results, top first, each ending in CRLF), or ``()`` when the
        most recent ARC-Seal says ``cv=fail`` (RFC 8617 §5.1: the chain has ended)."""
        data = normalize_newlines(message)
        header_block, body = split_message(data)
        _, headers = parse_headers(header_block)
        arcs = read_arc_sets(headers)
        if arcs.sets and arcs.sets[-1].cv == "fail":
            return ()
        instance = arcs.highest + 1
        if instance > ARC_MAX_SETS:
            raise SigningError(f"the message already has {ARC_MAX_SETS} ARC Sets")
        # A malformed chain is a failed one: sealed cv=fail, covering the new set only.
        cv = "fail" if arcs.problem is not None else self._chain(headers, arcs, chain)
        now = str(int(time.time()) if timestamp is None else int(timestamp)).encode("ascii")
        aar = (
            b"ARC-Authentication-Results",
            b" i=%d; " % instance + self._results(headers) + b"\r\n",
        )
        ams = self._ams(headers, body, instance, now)
        earlier = [] if cv == "fail" else [f for s in arcs.sets for f in (s.aar, s.ams, s.seal)]
        seal = self._seal([*earlier, aar, ams], instance, cv, now)
        return tuple(name + b":" + value for name, value in (seal, ams, aar))

    def _chain(self, headers: list[tuple[bytes, bytes]], arcs: ArcChain, chain: str | None) -> str:
        if not arcs.sets:
            return "none"
        if chain is not None:
            if chain not in CHAIN_RESULTS or chain == "none":
                raise SigningError("chain must be pass or fail when the message has ARC Sets")
            return chain
        found = [r.result for h in self._ours(headers) for r in h.results if r.method == "arc"]
        if not found:
            raise SigningError(
                f"the ARC chain was not verified: no arc= result from {self.authserv_id}"
            )
        if found[0] not in ("pass", "fail"):
            raise SigningError(f"the ARC chain could not be checked (arc={found[0]}): seal later")
        return found[0]

    def _ours(self, headers: list[tuple[bytes, bytes]]) -> list[AuthResultsHeader]:
        block = b"".join(n + b":" + v for n, v in headers if n.lower() == b"authentication-results")
        return [
            h
            for h in read_authentication_results(block)
            if h.authserv_id == self.authserv_id and not h.error
        ]

    def _results(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        ours = self._ours(headers)
        if not ours:
            raise SigningError(
                f"no Authentication-Results from {self.authserv_id}: verify the message first"
            )
        # The most recent (top) header of this ADMD (RFC 8617 §4.1.1), one result a line so
        # that many signatures never make a line over 998 characters (RFC 5322 §2.1.1).
        try:
            clauses = [
                build_authentication_results(self.authserv_id, [r]).split("; ", 1)[1]
                for r in ours[0].results
            ]
        except ParseError:
            return " ".join(ours[0].raw.split()).encode("utf-8")
        return ";\r\n ".join([self.authserv_id, *clauses]).encode("utf-8")

    def _ams(
        self, headers: list[tuple[bytes, bytes]], body: bytes, instance: int, now: bytes
    ) -> tuple[bytes, bytes]:
        wanted = {h.encode("ascii") for h in self.headers}
        include = tuple(n.lower() for n, _ in headers if n.lower() in wanted)
        prefix = hashlib.sha256()
        for name, value in select_headers(relaxed_headers(headers), include):
            prefix.update(name + b":" + value)
        body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
        fields = [
            (b"i", b"%d" % instance),
            (b"a", self.key.algorithm.encode("ascii")),
            (b"c", b"relaxed/relaxed"),
            (b"d", self.domain.encode("ascii")),
            (b"s", self.selector.encode("ascii")),
            (b"t", now),
            (b"h", b" : ".join(include)),
            (b"bh", body_hash),
        ]
        return self._signed(b"ARC-Message-Signature", fields, prefix)

    def _seal(
        self, sets: list[tuple[bytes, bytes]], instance: int, cv: str, now: bytes
    ) -> tuple[bytes, bytes]:
        # RFC 8617 §5.1.1: the AS signs every ARC Set in instance order, AAR, AMS, AS each
        # (only the new one when cv=fail), relaxed, then itself with b= empty.
        prefix = hashlib.sha256()
        for name, value in relaxed_headers(sets):
            prefix.update(name + b":" + value)
        fields = [
            (b"i", b"%d" % instance),
            (b"cv", cv.encode("ascii")),
            (b"a", self.key.algorithm.encode("ascii")),
            (b"d", self.domain.encode("ascii")),
            (b"s", self.selector.encode("ascii")),
            (b"t", now),
        ]
        return self._signed(b"ARC-Seal", fields, prefix)

    def _signed(
        self, name: bytes, fields: list[tuple[bytes, bytes]], prefix: hashlib._Hash
    ) -> tuple[bytes, bytes]:
        """(name, value with b=) -- the header hashed with b= empty, as DkimSigner does."""
        unsigned = b"; ".join(b"=".join(f) for f in fields) + b"; b="
        hasher = prefix.copy()
        ((canon_name, canon_value),) = relaxed_headers([(name, b" " + unsigned)])
        hasher.update(canon_name + b":" + canon_value.rstrip())
        signature = base64.b64encode(self.key.sign_digest(hasher.digest()))
        folded: bytes = dkim.fold(unsigned + signature + b"\r\n", namelen=len(name))
        return name, b" " + folded
