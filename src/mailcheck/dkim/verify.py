"""DKIM verification: every signature of a message, with keys fetched through our resolver.

dkimpy alone turns a DNS timeout into a plain ``False`` and a SERVFAIL into "no
key". Here the key records are fetched first, concurrently, through the
:class:`~mailcheck.lookup.Resolver`, so a DNS failure is ``temperror``; the keys
are judged with :func:`mailcheck.dkim.record.parse_dkim_key` (revoked, wrong
type, no sha256, too small: ``permerror``); only then dkimpy's own key parser
(``evaluate_pk``) and signature checks (RSASSA-PKCS1-v1_5, PyNaCl) run on the
record already fetched. Body and header hashes follow ``verify_sig_process`` with
the fast byte-identical canonicalisation of :mod:`mailcheck.dkim.canon` (dkimpy's
regex canonicalisation was half the cost); a differential test keeps the verdicts
equal to ``dkim.verify``'s.

Results follow RFC 8601 §2.7.1: ``pass``, ``fail`` (the signature or body hash
does not match), ``neutral`` (a signature that does not parse), ``temperror``
(DNS could not answer), ``permerror`` (no usable key, a refused algorithm, a
malformed or expired signature).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import enum
import functools
import hashlib
import re
import time
from collections.abc import Mapping
from typing import Any

import dkim
import dkim.crypto
import dkim.util
import nacl.exceptions
from dkim.canonicalization import (
    CanonicalizationPolicy,
    InvalidCanonicalizationPolicyError,
    Relaxed,
)

from mailcheck.dkim.canon import relaxed_body, relaxed_headers, select_headers
from mailcheck.dkim.record import DkimKeyRecord, parse_dkim_key
from mailcheck.dkim.sign import normalize_newlines, split_message
from mailcheck.errors import ParseError, SigningError, TempError
from mailcheck.lookup import Resolver
from mailcheck.model import ToDict

# RFC 8301 §3.1: "rsa-sha1 MUST NOT be used for signing or verifying."
ACCEPTED_ALGORITHMS = frozenset({"rsa-sha256", "ed25519-sha256"})
# RFC 8301 §3.2: verifiers "MUST NOT consider signatures using RSA keys of less than
# 1024 bits as valid signatures".
MIN_RSA_BITS = 1024
# Bytes of b= quoted in the Authentication-Results header.b property (RFC 6008 §4: at least 8).
HEADER_B_LENGTH = 12
_REQUIRED = (b"v", b"a", b"b", b"bh", b"d", b"h", b"s")


class DkimVerdict(enum.StrEnum):
    """The result of one signature (RFC 8601 §2.7.1), named like ``SpfVerdict``."""

    PASS = "pass"
    FAIL = "fail"
    NEUTRAL = "neutral"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


DkimResult = DkimVerdict
"""Deprecated alias of :class:`DkimVerdict` (its former name), kept for one release."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DkimSignatureResult(ToDict):
    """What one DKIM-Signature header came to.

    Attributes:
        result: pass, fail, neutral, temperror or permerror.
        reason: why, in a few words (``None`` for a pass).
        domain: the ``d=`` domain (lower case), ``""`` if unreadable.
        selector: the ``s=`` selector.
        algorithm: the ``a=`` value.
        identity: the ``i=`` value, if any.
        header_b: the start of ``b=``, to tell signatures apart (RFC 6008).
        key_bits: the size of the key used, when one was found.
        testing: the key record carries ``t=y``.
        body_length: the ``l=`` value: only that many body bytes are signed.
    """

    result: DkimVerdict
    reason: str | None = None
    domain: str = ""
    selector: str = ""
    algorithm: str = ""
    identity: str | None = None
    header_b: str = ""
    key_bits: int | None = None
    testing: bool = False
    body_length: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Signature:
    index: int
    tags: dict[bytes, bytes]
    problem: DkimSignatureResult | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Message:
    headers: list[tuple[bytes, bytes]]
    body: bytes


async def verify_dkim(
    message: bytes, /, *, resolver: Resolver, now: float | None = None
) -> tuple[DkimSignatureResult, ...]:
    """Verify every DKIM-Signature of a message, top first.

    Args:
        message: the message as received (bare LF line endings are accepted).
        resolver: where key records are asked.
        now: the time to judge ``x=`` expiry against (default: now).

    Returns:
        One result per signature; an empty tuple for an unsigned message.
    """
    data = normalize_newlines(message)
    try:
        header_block, body = split_message(data)
        headers = [(n, v) for n, v in dkim.rfc822_parse(header_block + b"\r\n")[0]]
    except (dkim.DKIMException, SigningError, IndexError):
        # IndexError: dkimpy's parser fails on a message starting with a continuation line.
        return ()
    positions = [i for i, (n, _) in enumerate(headers) if n.lower() == b"dkim-signature"]
    signatures = [_read_signature(i, headers[i][1], now) for i in positions]
    names = {_key_name(s.tags) for s in signatures if s.problem is None}
    records = await _fetch_keys(names, resolver)
    message_parts = _Message(headers=headers, body=body)
    return tuple(_verify_one(message_parts, sig, records) for sig in signatures)


def _read_signature(index: int, value: bytes, now: float | None) -> _Signature:
    try:
        tags = dkim.util.parse_tag_value(re.sub(rb"\r?\n", b"", value))
    except dkim.util.InvalidTagValueList:
        failed = DkimSignatureResult(result=DkimVerdict.NEUTRAL, reason="signature syntax error")
        return _Signature(index, {}, failed)
    base = _describe(tags)
    problem = None
    missing = [t.decode() for t in _REQUIRED if t not in tags]
    algorithm = base.algorithm
    if missing:
        problem = f"signature lacks {', '.join(missing)}"
    elif algorithm not in ACCEPTED_ALGORITHMS:
        problem = f"algorithm {algorithm or '?'} not accepted (RFC 8301)"
    else:
        try:
            dkim.validate_signature_fields(tags)
        except dkim.ValidationError as exc:
            problem = str(exc)[:120]
        except IndexError:
            # dkimpy indexes i= past its start when i= is shorter than d= + 1.
            problem = "i= domain is not d= or a subdomain of it"
        else:
            expiry = tags.get(b"x")
            if expiry is not None and int(expiry) < (time.time() if now is None else now):
                problem = "signature expired"
    if problem is not None:
        return _Signature(index, tags, dataclasses.replace(base, reason=problem))
    return _Signature(index, tags, None)


def _describe(tags: Mapping[bytes, bytes]) -> DkimSignatureResult:
    def text(tag: str) -> str:
        return re.sub(r"\s+", "", tags.get(tag.encode(), b"").decode("ascii", "replace"))

    length = text("l")
    return DkimSignatureResult(
        result=DkimVerdict.PERMERROR,
        domain=text("d").lower(),
        selector=text("s").lower(),
        algorithm=text("a").lower(),
        identity=text("i") or None,
        header_b=text("b")[:HEADER_B_LENGTH],
        body_length=int(length) if length.isdigit() else None,
    )


def _key_name(tags: Mapping[bytes, bytes]) -> str:
    selector = tags[b"s"].decode("ascii", "replace").strip()
    domain = tags[b"d"].decode("ascii", "replace").strip()
    return f"{selector}._domainkey.{domain}".lower().rstrip(".")


_Fetched = tuple[str, ...] | TempError | ParseError


async def _fetch_keys(names: set[str], resolver: Resolver) -> dict[str, _Fetched]:
    async def fetch(name: str) -> _Fetched:
        try:
            answer = await resolver.query(name, "TXT")
        except (TempError, ParseError) as exc:
            return exc
        return answer.texts() if answer.ok else ()

    async with asyncio.TaskGroup() as group:
        tasks = {name: group.create_task(fetch(name)) for name in names}
    return {name: task.result() for name, task in tasks.items()}


def _verify_one(
    message: _Message, sig: _Signature, records: Mapping[str, _Fetched]
) -> DkimSignatureResult:
    if sig.problem is not None:
        return sig.problem
    base = _describe(sig.tags)
    fetched = records[_key_name(sig.tags)]
    if isinstance(fetched, TempError):
        return dataclasses.replace(base, result=DkimVerdict.TEMPERROR, reason="key lookup failed")
    if isinstance(fetched, ParseError):
        return dataclasses.replace(base, reason="signature names an invalid key name")
    key, text, problem = _usable_key(fetched, base)
    if key is None or text is None:
        return dataclasses.replace(base, reason=problem)
    base = dataclasses.replace(base, key_bits=key.key_bits, testing=key.testing)
    if problem is not None:
        return dataclasses.replace(base, reason=problem)
    try:
        public = _dkimpy_key(text)
    except (dkim.DKIMException, ValueError, TypeError):
        return dataclasses.replace(base, reason="key record does not hold a usable key")
    return _check(message, sig, public, base)


def _usable_key(
    texts: tuple[str, ...], sig: DkimSignatureResult
) -> tuple[DkimKeyRecord | None, str | None, str | None]:
    """(key, its text, a reason it cannot be used) -- the first record that parses wins."""
    if not texts:
        return None, None, "no key for signature"
    for text in texts:
        try:
            key = parse_dkim_key(text)
        except ParseError:
            continue
        return key, text, _key_problem(key, sig)
    return None, None, "key record does not parse"


def _key_problem(key: DkimKeyRecord, sig: DkimSignatureResult) -> str | None:
    if key.revoked:
        return "key revoked"
    if key.key_error is not None:
        return "key record does not hold a usable key"
    expected = "rsa" if sig.algorithm.startswith("rsa-") else "ed25519"
    if key.key_type != expected:
        return f"key type {key.key_type} does not match {sig.algorithm}"
    if key.hash_algorithms and "sha256" not in key.hash_algorithms:
        return "key record does not allow sha256 (h=)"
    if key.service_types and not {"email", "*"} & set(key.service_types):
        return "key record is not for email (s=)"
    if key.key_type == "rsa" and (key.key_bits or 0) < MIN_RSA_BITS:
        return f"RSA key under {MIN_RSA_BITS} bits (RFC 8301)"
    if key.strict and sig.identity:
        identity_domain = sig.identity.rpartition("@")[2].lower()
        if identity_domain != sig.domain:
            return "i= domain differs from d= but the key says t=s"
    return None


@functools.lru_cache(maxsize=1024)
def _dkimpy_key(text: str) -> tuple[Any, str]:
    """dkimpy's key object for a record already fetched and judged (parsed once, kept)."""
    pk, _, ktag, _ = dkim.evaluate_pk(b"key", text.encode("utf-8", "replace"))
    return pk, ktag.decode("ascii")


def _check(
    message: _Message, sig: _Signature, public: tuple[Any, str], base: DkimSignatureResult
) -> DkimSignatureResult:
    """Body hash, header hash and signature, as dkimpy's ``verify_sig_process`` does them.

    The canonicalisations are the fast byte-identical ones of :mod:`mailcheck.dkim.canon`;
    the signature check is dkimpy's (RSASSA-PKCS1-v1_5, or PyNaCl for Ed25519).
    """
    tags = sig.tags
    try:
        policy = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"simple/simple"))
        expected_bh = base64.b64decode(re.sub(rb"\s+", b"", tags[b"bh"]), validate=True)
        signature = base64.b64decode(re.sub(rb"\s+", b"", tags[b"b"]), validate=True)
    except (InvalidCanonicalizationPolicyError, binascii.Error, ValueError):
        return dataclasses.replace(base, reason="malformed c=, bh= or b= tag")
    relaxed = policy.body_algorithm is Relaxed
    body = relaxed_body(message.body) if relaxed else policy.canonicalize_body(message.body)
    if base.body_length is not None:
        body = body[: base.body_length]
    if hashlib.sha256(body).digest() != expected_bh:
        return dataclasses.replace(base, result=DkimVerdict.FAIL, reason="body hash mismatch")
    include = [x.lower() for x in re.split(rb"\s*:\s*", tags[b"h"].strip())]
    if b"from" in include:
        # As dkimpy (its bug 644046): a second From added on top must break the signature.
        include.append(b"from")
    canon = relaxed_headers if policy.header_algorithm is Relaxed else policy.canonicalize_headers
    hasher = hashlib.sha256()
    for name, value in select_headers(canon(message.headers), include):
        hasher.update(name + b":" + value)
    name, value = message.headers[sig.index]
    ((name, value),) = canon([(name, dkim.RE_BTAG.sub(b"\\1", value))])
    hasher.update(name + b":" + value.rstrip())
    pk, ktag = public
    try:
        if ktag == "rsa":
            ok = bool(dkim.RSASSA_PKCS1_v1_5_verify(hasher, signature, pk))
        else:
            pk.verify(hasher.digest(), signature)
            ok = True
    except nacl.exceptions.BadSignatureError:
        ok = False
    except (dkim.crypto.DigestTooLargeError, nacl.exceptions.CryptoError, ValueError):
        return dataclasses.replace(base, reason="signature does not fit the key")
    if ok:
        return dataclasses.replace(base, result=DkimVerdict.PASS)
    return dataclasses.replace(base, result=DkimVerdict.FAIL, reason="signature did not verify")
