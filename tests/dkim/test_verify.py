"""DKIM verification: round trips with dkimpy, RFC 8463, DNS failures, key problems."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck import DnsResolver, ZoneResolver
from mailcheck.dkim.sign import DkimSigner
from mailcheck.dkim.verify import DkimResult, verify_dkim
from tests.dkim.dkimsign_helpers import DATA, DOMAIN, ED_KEY, MESSAGE, RSA_KEY
from tests.dnsserver import DnsTestServer

ZONES = Path(__file__).parent.parent / "zones"
DUAL = DkimSigner(DOMAIN, "rsa", RSA_KEY, keys=[("ed", ED_KEY)])


def _signed_with(selector: str, key: object = RSA_KEY) -> bytes:
    return DkimSigner(DOMAIN, selector, key).sign(MESSAGE)  # type: ignore[arg-type]


async def test_our_dual_signatures_pass(resolver: DnsResolver) -> None:
    results = await verify_dkim(DUAL.sign(MESSAGE), resolver=resolver)
    assert [r.result for r in results] == [DkimResult.PASS, DkimResult.PASS]
    assert [r.selector for r in results] == ["rsa", "ed"]
    assert [r.algorithm for r in results] == ["rsa-sha256", "ed25519-sha256"]
    assert results[0].key_bits == 2048
    assert results[0].domain == DOMAIN
    assert results[0].reason is None
    assert results[0].header_b


@pytest.mark.parametrize("algorithm", [b"rsa-sha256", b"ed25519-sha256"])
async def test_dkimpy_signatures_pass(resolver: DnsResolver, algorithm: bytes) -> None:
    if algorithm == b"rsa-sha256":
        selector, privkey = b"rsa", RSA_KEY.private_pem()
    else:
        private = serialization.load_pem_private_key(ED_KEY.private_pem(), None)
        raw = private.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        selector, privkey = b"ed", base64.b64encode(raw)
    signature = dkim.sign(
        MESSAGE, selector, DOMAIN.encode(), privkey, signature_algorithm=algorithm
    )  # dkimpy's defaults: relaxed/simple, its own header list
    results = await verify_dkim(signature + MESSAGE, resolver=resolver)
    assert [r.result for r in results] == [DkimResult.PASS]


async def test_rfc8463_example_passes(resolver: DnsResolver) -> None:
    message = (DATA / "rfc8463-ed25519-signed.eml").read_bytes()
    (result,) = await verify_dkim(message, resolver=resolver)
    assert result.result is DkimResult.PASS
    assert result.domain == "football.example.com"
    assert result.selector == "brisbane"


async def test_tampering_fails(resolver: DnsResolver) -> None:
    signed = DUAL.sign(MESSAGE)
    body = await verify_dkim(signed.replace(b"noon", b"dawn"), resolver=resolver)
    assert {(r.result, r.reason) for r in body} == {(DkimResult.FAIL, "body hash mismatch")}
    added = signed.replace(b"\r\n\r\n", b"\r\nSubject: Pay now\r\n\r\n", 1)
    header = await verify_dkim(added, resolver=resolver)
    assert {r.result for r in header} == {DkimResult.FAIL}


@pytest.mark.parametrize(
    ("selector", "result", "reason"),
    [
        ("revoked", DkimResult.PERMERROR, "key revoked"),
        ("mismatch", DkimResult.FAIL, "signature did not verify"),
        ("sha1only", DkimResult.PERMERROR, "key record does not allow sha256 (h=)"),
        ("nokey", DkimResult.PERMERROR, "key record does not parse"),
        ("absent", DkimResult.PERMERROR, "no key for signature"),
    ],
)
async def test_key_problems(
    resolver: DnsResolver, selector: str, result: DkimResult, reason: str
) -> None:
    (got,) = await verify_dkim(_signed_with(selector), resolver=resolver)
    assert (got.result, got.reason) == (result, reason)


async def test_garbage_key_is_permerror(resolver: DnsResolver) -> None:
    (got,) = await verify_dkim(_signed_with("garbage"), resolver=resolver)
    assert got.result is DkimResult.PERMERROR


async def test_ed25519_signature_against_rsa_key(resolver: DnsResolver) -> None:
    (got,) = await verify_dkim(_signed_with("rsa", ED_KEY), resolver=resolver)
    assert got.result is DkimResult.PERMERROR


async def test_testing_key_is_reported(resolver: DnsResolver) -> None:
    (got,) = await verify_dkim(_signed_with("testing"), resolver=resolver)
    assert got.result is DkimResult.PASS
    assert got.testing


@pytest.mark.parametrize("behaviour", [{"servfail": True}, {"refused": True}, {"drop": True}])
async def test_dns_failure_is_temperror_never_fail(
    dns_server: DnsTestServer, behaviour: dict[str, bool]
) -> None:
    dns_server.behave("rsa._domainkey.dkimsign.test", **behaviour)
    resolver = DnsResolver([dns_server.address], timeout=0.3)
    results = await verify_dkim(DUAL.sign(MESSAGE), resolver=resolver)
    assert [(r.result, r.selector) for r in results] == [
        (DkimResult.TEMPERROR, "rsa"),
        (DkimResult.PASS, "ed"),
    ]


async def test_rsa_sha1_is_refused(resolver: DnsResolver) -> None:
    signature = dkim.sign(
        MESSAGE, b"rsa", DOMAIN.encode(), RSA_KEY.private_pem(), signature_algorithm=b"rsa-sha1"
    )
    (got,) = await verify_dkim(signature + MESSAGE, resolver=resolver)
    assert got.result is DkimResult.PERMERROR
    assert got.algorithm == "rsa-sha1"


async def test_malformed_and_incomplete_signatures(resolver: DnsResolver) -> None:
    message = b"DKIM-Signature: this is not a tag list\r\n" + MESSAGE
    (got,) = await verify_dkim(message, resolver=resolver)
    assert got.result is DkimResult.NEUTRAL
    message = b"DKIM-Signature: v=1; a=rsa-sha256; d=dkimsign.test; s=rsa\r\n" + MESSAGE
    (got,) = await verify_dkim(message, resolver=resolver)
    assert got.result is DkimResult.PERMERROR


async def test_identity_shorter_than_domain(resolver: DnsResolver) -> None:
    # dkimpy's validate_signature_fields raises IndexError on this one.
    signed = _signed_with("rsa").replace(b"i=@dkimsign.test", b"i=dkimsign.test", 1)
    (got,) = await verify_dkim(signed, resolver=resolver)
    assert got.result is DkimResult.PERMERROR


async def test_expired_signature(resolver: DnsResolver) -> None:
    signed = _signed_with("rsa").replace(b"q=dns/txt;", b"q=dns/txt; x=1000;", 1)
    (got,) = await verify_dkim(signed, resolver=resolver)
    assert got.result is DkimResult.PERMERROR


async def test_unsigned_message(resolver: DnsResolver) -> None:
    assert await verify_dkim(MESSAGE, resolver=resolver) == ()


async def test_same_key_asked_once(dns_server: DnsTestServer, resolver: DnsResolver) -> None:
    signed = DkimSigner(DOMAIN, "rsa", RSA_KEY).sign(_signed_with("rsa"))
    results = await verify_dkim(signed, resolver=resolver)
    assert [r.result for r in results] == [DkimResult.PASS, DkimResult.PASS]
    assert dns_server.count("rsa._domainkey.dkimsign.test", "TXT") == 1


_ZONE_RESOLVER = ZoneResolver([ZONES / "dkimsign.test.zone"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80).map(lambda b: b"DKIM-Signature: " + b),
            st.sampled_from(
                [
                    b"DKIM-Signature: v=1; a=rsa-sha256; d=dkimsign.test; s=rsa; h=from; bh=x; b=y",
                    b"DKIM-Signature: v=1; a=ed25519-sha256; d=..; s=rsa; h=from; bh=; b=",
                    b"From: a@dkimsign.test",
                ]
            ),
            st.binary(max_size=40),
        ),
        max_size=5,
    ),
    st.binary(max_size=60),
)
def test_hostile_messages_never_raise(lines: list[bytes], body: bytes) -> None:
    message = b"\r\n".join(lines) + b"\r\n\r\n" + body
    results = asyncio.run(verify_dkim(message, resolver=_ZONE_RESOLVER))
    assert all(r.result is not DkimResult.PASS for r in results)


_RECORDS = {
    b"rsa._domainkey.dkimsign.test.": RSA_KEY.record().encode(),
    b"ed._domainkey.dkimsign.test.": ED_KEY.record().encode(),
}
_SIGNED = DkimSigner(DOMAIN, "rsa", RSA_KEY).sign(MESSAGE)
_SIGNED_SIMPLE = DkimSigner(DOMAIN, "ed", ED_KEY, canonicalization="simple/simple").sign(MESSAGE)


def _dkimpy_says(message: bytes) -> bool:
    try:
        return bool(dkim.verify(message, dnsfunc=lambda name, timeout=5: _RECORDS.get(name)))
    except (dkim.DKIMException, IndexError):  # IndexError: dkimpy's parser on bad input
        return False


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([_SIGNED, _SIGNED_SIMPLE]),
    st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from([b" ", b"\t", b"x", b"\r\n", b""])),
        min_size=1,
        max_size=3,
    ),
)
def test_same_verdict_as_dkimpy(message: bytes, edits: list[tuple[int, bytes]]) -> None:
    for position, insert in edits:
        at = position % len(message)
        message = message[:at] + insert + message[at + (1 if insert == b"" else 0) :]
    results = asyncio.run(verify_dkim(message, resolver=_ZONE_RESOLVER))
    ours = bool(results) and results[0].result is DkimResult.PASS
    assert ours == _dkimpy_says(message)
