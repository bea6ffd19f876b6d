"""The ARC interop matrix: chains sealed by mailcheck verify with dkimpy's arc_verify and
Perl Mail::DKIM's ARC verifier; chains sealed by Perl verify with ours; tampering fails
everywhere. Every key is served by the tests' DNS server (tests/zones/liststest.zone)."""

from __future__ import annotations

import dkim
import pytest

from mailcheck import DnsResolver
from mailcheck.dkim.arc_verify import ArcVerdict, verify_arc
from mailcheck.verify import verify_message
from tests.arc.arc_helpers import ED_SEALER, LIST, RSA_SEALER, SIGNED_POST, seal_as_list
from tests.arc.perl import perl_seal, perl_verify
from tests.dkim.dkimsign_helpers import DATA, dkimpy_dnsfunc
from tests.dnsserver import DnsTestServer


def dkimpy(message: bytes, server: DnsTestServer) -> tuple[str, list[bool]]:
    cv, results, _ = dkim.arc_verify(message, dnsfunc=dkimpy_dnsfunc(server.address))
    return (cv or b"fail").decode(), [r["ams-valid"] for r in results]


async def test_rsa_chain_sealed_by_us_verifies_everywhere(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    sealed = await seal_as_list(SIGNED_POST, resolver)
    ours = await verify_arc(sealed, resolver=resolver)
    assert (ours.result, ours.instances, ours.oldest_pass) == (ArcVerdict.PASS, 1, 0)
    assert ours.sets[0].results.startswith(f"{LIST}; dkim=pass")
    assert b"ARC-Authentication-Results: i=1; lists.liststest;\r\n dkim=pass" in sealed
    assert dkimpy(sealed, dns_server) == ("pass", [True])
    assert perl_verify(dns_server.port, sealed) == "pass"


async def test_ed25519_chain_sealed_by_us_verifies_with_ours(resolver: DnsResolver) -> None:
    # Neither dkimpy 1.1 nor Mail::DKIM 1.2023 verifies ed25519-sha256 ARC sets (dkimpy:
    # "unknown signature algorithm"; Mail::DKIM's signer: "add ed25519 sometime").
    sealed = await seal_as_list(SIGNED_POST, resolver, ED_SEALER)
    assert b"a=ed25519-sha256" in sealed
    ours = await verify_arc(sealed, resolver=resolver)
    assert ours.result is ArcVerdict.PASS
    assert ours.sets[0].algorithm == "ed25519-sha256"


async def test_chain_sealed_by_perl_verifies_with_ours_then_we_extend_it(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    upstream = b"Authentication-Results: upstream.liststest; dkim=pass header.d=dkimsign.test\r\n"
    by_perl = perl_seal(
        dns_server.port,
        upstream + SIGNED_POST,
        domain="upstream.liststest",
        selector="rsa",
        key=DATA / "dkimsign.test.rsa.pem",
        srvid="upstream.liststest",
    )
    ours = await verify_arc(by_perl, resolver=resolver)
    assert (ours.result, ours.sets[0].domain) == (ArcVerdict.PASS, "upstream.liststest")
    # The list verifies on receipt, then modifies the post (a subject tag), then seals.
    result = await verify_message(by_perl, resolver=resolver, authserv_id=LIST)
    assert result.arc is not None
    assert result.arc.result is ArcVerdict.PASS
    assert "arc=pass header.oldest-pass=0" in result.header
    modified = by_perl.replace(b"Subject: Picnic", b"Subject: [friends] Picnic")
    sealed = RSA_SEALER.seal(result.header.encode() + b"\r\n" + modified)
    twice = await verify_arc(sealed, resolver=resolver)
    assert (twice.result, twice.instances) == (ArcVerdict.PASS, 2)
    assert twice.oldest_pass == 2  # the subject tag broke instance 1's AMS
    assert dkimpy(sealed, dns_server) == ("pass", [True, False])
    assert perl_verify(dns_server.port, sealed) == "pass"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"Bring bread.", b"Bring cake."),  # the body
        (b"Subject: Picnic", b"Subject: Picnic!"),  # a sealed header
        (b"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d=lists",
         b"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/simple;\r\n d=lists"),  # the AMS
        (b"ARC-Authentication-Results: i=1; lists.liststest;\r\n dkim=pass",
         b"ARC-Authentication-Results: i=1; lists.liststest;\r\n dkim=fail"),  # what it said
    ],
)  # fmt: skip
async def test_tampering_fails_everywhere(
    resolver: DnsResolver, dns_server: DnsTestServer, old: bytes, new: bytes
) -> None:
    sealed = await seal_as_list(SIGNED_POST, resolver)
    assert old in sealed
    tampered = sealed.replace(old, new, 1)
    ours = await verify_arc(tampered, resolver=resolver)
    assert ours.result is ArcVerdict.FAIL
    assert dkimpy(tampered, dns_server)[0] == "fail"
    assert perl_verify(dns_server.port, tampered) == "fail"


async def test_a_chain_we_seal_as_failed_is_failed_everywhere(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    tampered = (await seal_as_list(SIGNED_POST, resolver)).replace(b"bread", b"cake")
    sealed = await seal_as_list(tampered, resolver)
    assert b"ARC-Seal: i=2; cv=fail;" in sealed
    assert (await verify_arc(sealed, resolver=resolver)).result is ArcVerdict.FAIL
    assert dkimpy(sealed, dns_server)[0] == "fail"
    assert perl_verify(dns_server.port, sealed) == "fail"
