"""ARC chain validation (RFC 8617 §5.2): ``cv`` = none, pass or fail, and the oldest pass.

Keys are fetched first, concurrently, through our :class:`~mailcheck.lookup.Resolver`
(as :mod:`mailcheck.dkim.verify` does), so a DNS failure is ``temperror`` ("could not
check"), never ``fail``; they are judged by the same rules as DKIM keys (revoked, wrong
type, RSA under 1024 bits). The signatures are then checked with DKIM's own machinery:
the canonicalisations of :mod:`mailcheck.dkim.canon`, dkimpy's RSASSA-PKCS1-v1_5 and
PyNaCl for Ed25519. dkimpy's ``arc_verify`` is not called here because it refuses
``ed25519-sha256`` sets; the tests check that both give the same verdict on RSA chains,
and that Perl's Mail::DKIM::ARC::Verifier does too.

The steps of §5.2: no ARC header field -> ``none``; sets malformed (a missing field, a
gap, more than 50) -> ``fail``; the newest ARC-Seal says ``cv=fail`` -> ``fail``; set 1
not ``cv=none`` or a later one not ``cv=pass`` -> ``fail``; the newest
ARC-Message-Signature must verify; then ``oldest-pass`` (the oldest instance whose AMS
still verifies, counting down without a gap; 0 when all do); then every ARC-Seal must
verify -> ``pass``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import hashlib
import re

import dkim
import nacl.exceptions
from dkim.canonicalization import (
    CanonicalizationPolicy,
    InvalidCanonicalizationPolicyError,
    Relaxed,
)

from mailcheck.dkim.arc_sets import ArcChain, ArcSet, key_name, read_arc_sets
from mailcheck.dkim.canon import relaxed_body, relaxed_headers, select_headers
from mailcheck.dkim.sign import normalize_newlines, split_message
from mailcheck.dkim.verify import (
    ACCEPTED_ALGORITHMS,
    DkimSignatureResult,
    DkimVerdict,
    _dkimpy_key,
    _fetch_keys,
    _Fetched,
    _usable_key,
)
from mailcheck.errors import SigningError, TempError
from mailcheck.lookup import Resolver
from mailcheck.model import ToDict


class ArcVerdict(enum.StrEnum):
    """The chain validation status (RFC 8617 §4.4), and ``temperror`` when DNS failed."""

    NONE = "none"
    PASS = "pass"
    FAIL = "fail"
    TEMPERROR = "temperror"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ArcSetResult(ToDict):
    """One ARC Set: what it claims and what its signatures came to.

    Attributes:
        instance: ``i=``.
        cv: the ``cv=`` its ARC-Seal claims.
        domain: the ARC-Seal's ``d=``.
        selector: the ARC-Seal's ``s=``.
        algorithm: the ARC-Seal's ``a=``.
        ams: the ARC-Message-Signature's result (``None`` when not checked).
        seal: the ARC-Seal's result (``None`` when not checked).
        results: the ARC-Authentication-Results payload: what that hop found.
    """

    instance: int
    cv: str
    domain: str
    selector: str
    algorithm: str
    ams: DkimVerdict | None = None
    seal: DkimVerdict | None = None
    results: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ArcResult(ToDict):
    """The chain of a message.

    Attributes:
        result: none, pass, fail, or temperror (a key could not be fetched).
        reason: why, in a few words (``None`` for none and pass).
        instances: N, the number of ARC Sets.
        oldest_pass: for a pass, the oldest instance whose AMS still verifies (0: all).
        sets: one entry per set, oldest first.
    """

    result: ArcVerdict
    reason: str | None = None
    instances: int = 0
    oldest_pass: int | None = None
    sets: tuple[ArcSetResult, ...] = ()


async def verify_arc(message: bytes, /, *, resolver: Resolver) -> ArcResult:
    """Validate the ARC chain of a message (see the module docstring)."""
    data = normalize_newlines(message)
    try:
        header_block, body = split_message(data)
        headers = list(dkim.rfc822_parse(header_block + b"\r\n")[0])
    except (dkim.DKIMException, SigningError, IndexError):
        # A header block that does not parse: a chain in it cannot pass.
        head = data.split(b"\r\n\r\n", 1)[0]
        if re.search(rb"(?im)^arc-(seal|message-signature|authentication-results)\s*:", head):
            return ArcResult(result=ArcVerdict.FAIL, reason="the header block does not parse")
        return ArcResult(result=ArcVerdict.NONE)
    chain = read_arc_sets(headers)
    if not chain.present:
        return ArcResult(result=ArcVerdict.NONE)
    if chain.problem is not None:
        return ArcResult(result=ArcVerdict.FAIL, reason=chain.problem, instances=chain.highest)
    names = {n for s in chain.sets for n in (key_name(s.ams_tags), key_name(s.seal_tags)) if n}
    keys = await _fetch_keys(names, resolver)
    return _Validation(chain, headers, body, keys).run()


@dataclasses.dataclass
class _Validation:
    chain: ArcChain
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keys: dict[str, _Fetched]

    def run(self) -> ArcResult:
        sets = self.chain.sets
        described = [_describe(s) for s in sets]
        newest = sets[-1]
        if newest.cv == "fail":
            return self._end(ArcVerdict.FAIL, "the newest ARC-Seal says cv=fail", described)
        for s in sets:
            if s.cv != ("none" if s.instance == 1 else "pass"):
                return self._end(
                    ArcVerdict.FAIL, f"ARC-Seal {s.instance} claims cv={s.cv}", described
                )
        newest_ams = self.ams(newest)
        described[-1] = dataclasses.replace(described[-1], ams=newest_ams)
        if newest_ams is not DkimVerdict.PASS:
            return self._broken(newest_ams, f"ARC-Message-Signature {newest.instance}", described)
        oldest = newest.instance
        for s in reversed(sets[:-1]):
            verdict = self.ams(s)
            described[s.instance - 1] = dataclasses.replace(described[s.instance - 1], ams=verdict)
            if verdict is not DkimVerdict.PASS:
                break
            oldest = s.instance
        oldest_pass = 0 if oldest == 1 else oldest
        for s in reversed(sets):
            verdict = self.seal(s)
            described[s.instance - 1] = dataclasses.replace(described[s.instance - 1], seal=verdict)
            if verdict is not DkimVerdict.PASS:
                return self._broken(verdict, f"ARC-Seal {s.instance}", described)
        return ArcResult(
            result=ArcVerdict.PASS,
            instances=len(sets),
            oldest_pass=oldest_pass,
            sets=tuple(described),
        )

    def _end(self, verdict: ArcVerdict, reason: str, described: list[ArcSetResult]) -> ArcResult:
        return ArcResult(
            result=verdict, reason=reason, instances=len(self.chain.sets), sets=tuple(described)
        )

    def _broken(self, verdict: DkimVerdict, what: str, described: list[ArcSetResult]) -> ArcResult:
        if verdict is DkimVerdict.TEMPERROR:
            return self._end(ArcVerdict.TEMPERROR, f"{what}: key lookup failed", described)
        return self._end(ArcVerdict.FAIL, f"{what} did not verify ({verdict})", described)

    def ams(self, arc: ArcSet) -> DkimVerdict:
        """The AMS of ``arc``: body hash, then the fields it names, then itself (RFC 8617 §5.2)."""
        tags = arc.ams_tags
        if any(t not in tags for t in (b"a", b"b", b"bh", b"d", b"h", b"s")):
            return DkimVerdict.PERMERROR
        try:
            policy = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"relaxed/relaxed"))
            expected = base64.b64decode(re.sub(rb"\s+", b"", tags[b"bh"]), validate=True)
        except (InvalidCanonicalizationPolicyError, binascii.Error, ValueError):
            return DkimVerdict.PERMERROR
        relaxed = policy.body_algorithm is Relaxed
        body = relaxed_body(self.body) if relaxed else policy.canonicalize_body(self.body)
        if hashlib.sha256(body).digest() != expected:
            return DkimVerdict.FAIL
        include = [x.lower() for x in re.split(rb"\s*:\s*", tags[b"h"].strip())]
        if b"arc-seal" in include:
            return DkimVerdict.PERMERROR  # RFC 8617 §4.1.2: the AMS MUST NOT sign ARC-Seal
        canon = (
            relaxed_headers if policy.header_algorithm is Relaxed else policy.canonicalize_headers
        )
        hasher = hashlib.sha256()
        for name, value in select_headers(canon(self.headers), include):
            hasher.update(name + b":" + value)
        ((name, value),) = canon([(arc.ams[0], dkim.RE_BTAG.sub(b"\\1", arc.ams[1]))])
        hasher.update(name + b":" + value.rstrip())
        return self._signed(tags, hasher)

    def seal(self, arc: ArcSet) -> DkimVerdict:
        """The AS of ``arc``: sets 1..i, AAR, AMS, AS each, relaxed; itself with b= empty."""
        if b"h" in arc.seal_tags:
            return DkimVerdict.PERMERROR  # RFC 8617 §4.1.3: "h" is not allowed in an AS
        hasher = hashlib.sha256()
        earlier = [f for s in self.chain.sets[: arc.instance - 1] for f in (s.aar, s.ams, s.seal)]
        for name, value in relaxed_headers([*earlier, arc.aar, arc.ams]):
            hasher.update(name + b":" + value)
        ((name, value),) = relaxed_headers([(arc.seal[0], dkim.RE_BTAG.sub(b"\\1", arc.seal[1]))])
        hasher.update(name + b":" + value.rstrip())
        return self._signed(arc.seal_tags, hasher)

    def _signed(self, tags: dict[bytes, bytes], hasher: hashlib._Hash) -> DkimVerdict:
        algorithm = tags.get(b"a", b"").decode("ascii", "replace").strip().lower()
        name = key_name(tags)
        if algorithm not in ACCEPTED_ALGORITHMS or name is None or b"b" not in tags:
            return DkimVerdict.PERMERROR
        fetched = self.keys.get(name)
        if isinstance(fetched, TempError):
            return DkimVerdict.TEMPERROR
        if fetched is None or not isinstance(fetched, tuple):
            return DkimVerdict.PERMERROR
        sig = DkimSignatureResult(result=DkimVerdict.PERMERROR, algorithm=algorithm)
        key, text, problem = _usable_key(fetched, sig)
        if key is None or text is None or problem is not None:
            return DkimVerdict.PERMERROR
        try:
            signature = base64.b64decode(re.sub(rb"\s+", b"", tags[b"b"]), validate=True)
            pk, ktag = _dkimpy_key(text)
            if ktag == "rsa":
                ok = bool(dkim.RSASSA_PKCS1_v1_5_verify(hasher, signature, pk))
            else:
                pk.verify(hasher.digest(), signature)
                ok = True
        except nacl.exceptions.BadSignatureError:
            ok = False
        except (binascii.Error, ValueError, dkim.DKIMException, nacl.exceptions.CryptoError):
            return DkimVerdict.PERMERROR
        return DkimVerdict.PASS if ok else DkimVerdict.FAIL


def _describe(arc: ArcSet) -> ArcSetResult:
    def text(tag: bytes) -> str:
        return re.sub(r"\s+", "", arc.seal_tags.get(tag, b"").decode("ascii", "replace"))

    payload = re.sub(rb"\s+", b" ", arc.aar[1]).strip().decode("utf-8", "replace")
    return ArcSetResult(
        instance=arc.instance,
        cv=arc.cv,
        domain=text(b"d").lower(),
        selector=text(b"s").lower(),
        algorithm=text(b"a").lower(),
        results=re.sub(r"^i\s*=\s*\d+\s*;\s*", "", payload)[:2000],
    )
