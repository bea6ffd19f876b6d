"""verify_arc and the sealer on their own: RFC 8617 §5.2 steps, DNS failures, hostile chains,
and the arc= result in verify_message's Authentication-Results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck import ZoneResolver
from mailcheck.authresults import read_authentication_results
from mailcheck.dkim import KeyStore
from mailcheck.dkim.arc_seal import ArcSealer
from mailcheck.dkim.arc_verify import ArcVerdict, verify_arc
from mailcheck.errors import SigningError
from mailcheck.lookup import DnsResolver
from mailcheck.verify import verify_message
from tests.arc.arc_helpers import ED_SEALER, LIST, POST, RSA_SEALER, seal_as_list
from tests.conftest import ZONES
from tests.dkim.dkimsign_helpers import ED_KEY
from tests.dnsserver import DnsTestServer

AR = f"Authentication-Results: {LIST}; dkim=none\r\n".encode()
OFFLINE = ZoneResolver(sorted(ZONES.glob("*.zone")))


def sealed_once(sealer: ArcSealer = RSA_SEALER) -> bytes:
    return sealer.seal(AR + POST, timestamp=1796544000)


async def test_no_arc_is_none(resolver: DnsResolver) -> None:
    result = await verify_arc(POST, resolver=resolver)
    assert (result.result, result.instances, result.sets) == (ArcVerdict.NONE, 0, ())
    plain = await verify_message(POST, resolver=resolver)
    assert "; arc=" not in plain.header  # no ARC header field: nothing to report


async def test_verify_message_reports_arc_and_oldest_pass(resolver: DnsResolver) -> None:
    twice = await seal_as_list(await seal_as_list(POST, resolver), resolver, ED_SEALER)
    result = await verify_message(twice, ip="192.0.2.10", resolver=resolver, authserv_id="mx.test")
    assert result.arc is not None
    assert (result.arc.result, result.arc.instances, result.arc.oldest_pass) == ("pass", 2, 0)
    (header,) = read_authentication_results(result.header.encode() + b"\r\n")
    arc = header.result("arc")
    assert arc is not None
    assert arc.result == "pass"
    assert arc.property("header.oldest-pass") == "0"
    assert arc.property("smtp.remote-ip") == "192.0.2.10"
    assert result.to_dict()["arc"]["sets"][1]["algorithm"] == "ed25519-sha256"


async def test_dns_failure_is_temperror_never_fail(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    sealer = ArcSealer(LIST, "flaky", ED_KEY, authserv_id=LIST)
    sealed = sealer.seal(AR + POST)
    assert (await verify_arc(sealed, resolver=resolver)).result is ArcVerdict.PASS
    dns_server.behave("flaky._domainkey.lists.liststest", servfail=True)
    result = await verify_arc(sealed, resolver=DnsResolver([dns_server.address], timeout=1.0))
    assert result.result is ArcVerdict.TEMPERROR
    message = await verify_message(sealed, resolver=DnsResolver([dns_server.address], timeout=1.0))
    assert "arc=temperror" in message.header


async def test_unknown_key_is_fail(resolver: DnsResolver) -> None:
    sealed = ArcSealer(LIST, "nokey", ED_KEY, authserv_id=LIST).seal(AR + POST)
    result = await verify_arc(sealed, resolver=resolver)
    assert result.result is ArcVerdict.FAIL
    assert result.sets[0].ams == "permerror"


def renumber(message: bytes, old: int, new: int) -> bytes:
    return re.sub(rb"(ARC-[A-Za-z-]+: i=)%d;" % old, rb"\g<1>%d;" % new, message)


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda m: renumber(m, 1, 2), "without a gap"),
        (lambda m: renumber(m, 1, 51), "more than 50"),
        (lambda m: m.replace(b"ARC-Seal: i=1;", b"ARC-Seal: i=1; i=x;", 1), "valid i="),
        (lambda m: re.sub(rb"ARC-Seal:[^\n]*\n( [^\n]*\n)*", b"", m, count=1), "exactly one"),
        (lambda m: m.replace(b"cv=none", b"cv=pass"), "claims cv=pass"),
        (lambda m: m.replace(b"cv=none", b"cv=fail"), "cv=fail"),
    ],
)
async def test_malformed_chains_fail(mangle, reason: str) -> None:  # type: ignore[no-untyped-def]
    result = await verify_arc(mangle(sealed_once()), resolver=OFFLINE)
    assert result.result is ArcVerdict.FAIL
    assert reason in (result.reason or "")


async def test_duplicate_set_fails() -> None:
    sealed = sealed_once()
    head = sealed[: sealed.index(b"Authentication-Results:")]
    result = await verify_arc(head + sealed, resolver=OFFLINE)
    assert "exactly one" in (result.reason or "")


def test_sealer_needs_its_own_authentication_results() -> None:
    with pytest.raises(SigningError, match="verify the message first"):
        RSA_SEALER.seal(POST)
    with pytest.raises(SigningError, match="verify the message first"):
        RSA_SEALER.seal(b"Authentication-Results: other.example; dkim=pass\r\n" + POST)


def test_sealer_refuses_an_unverified_or_unchecked_chain() -> None:
    once = sealed_once()
    with pytest.raises(SigningError, match="not verified"):
        RSA_SEALER.seal(once)  # only instance 1's A-R, without arc=
    unchecked = f"Authentication-Results: {LIST}; arc=temperror\r\n".encode() + once
    with pytest.raises(SigningError, match="could not be checked"):
        RSA_SEALER.seal(unchecked)


async def test_a_failed_chain_is_sealed_fail_then_ends(resolver: DnsResolver) -> None:
    tampered = sealed_once().replace(b"Bring bread.", b"Bring cake.")
    sealed = await seal_as_list(tampered, resolver)
    assert b"ARC-Seal: i=2; cv=fail;" in sealed
    assert (await verify_arc(sealed, resolver=resolver)).result is ArcVerdict.FAIL
    # RFC 8617 §5.1: once the newest seal says cv=fail, no further set is added.
    again = f"Authentication-Results: {LIST}; arc=fail\r\n".encode() + sealed
    assert RSA_SEALER.seal(again) == again


def test_fifty_sets_is_the_limit() -> None:
    message = sealed_once()
    message = renumber(message, 1, 50)
    with pytest.raises(SigningError, match="50 ARC Sets"):
        RSA_SEALER.seal(AR + message, chain="pass")


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"authserv_id": "two words"}, "one token"),
        ({"authserv_id": LIST, "headers": ["subject"]}, "From"),
        ({"authserv_id": LIST, "headers": ["from", "arc-seal"]}, "ARC"),
    ],
)
def test_sealer_arguments(kwargs: dict, why: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(SigningError, match=why):
        ArcSealer(LIST, "rsa", ED_KEY, **kwargs)


def test_sealer_repr_has_no_key_material() -> None:
    assert repr(ED_SEALER) == "ArcSealer(domain='lists.liststest', selector='ed', key=ed25519)"


ARC_LINE = st.sampled_from([b"ARC-Seal", b"ARC-Message-Signature", b"ARC-Authentication-Results"])


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(ARC_LINE, st.binary(max_size=120)), max_size=8),
    st.integers(min_value=0, max_value=400),
    st.binary(max_size=8),
)
async def test_hostile_arc_headers_never_raise(
    fields: list[tuple[bytes, bytes]], cut: int, junk: bytes
) -> None:
    sealed = sealed_once()
    extra = b"".join(
        n + b": " + v.replace(b"\r", b"").replace(b"\n", b" ") + b"\r\n" for n, v in fields
    )
    for candidate in (extra + POST, extra + sealed, sealed[:cut] + junk + sealed[cut:]):
        result = await verify_arc(candidate, resolver=OFFLINE)
        assert result.result in ArcVerdict


async def test_a_sealer_from_a_key_store(resolver: DnsResolver, tmp_path: Path) -> None:
    ED_KEY.save(tmp_path / "lists.liststest.ed.pem")
    store = KeyStore.from_directory(tmp_path)
    sealer = ArcSealer.from_signer(store["lists.liststest"], authserv_id=LIST)
    assert (sealer.domain, sealer.selector) == (LIST, "ed")
    assert (await verify_arc(sealed_once(sealer), resolver=resolver)).result is ArcVerdict.PASS


def test_reading_what_gmail_writes_about_a_chain() -> None:
    # The shape of Gmail's ARC-Authentication-Results for a message that came through a list.
    header = (
        b"ARC-Authentication-Results: i=2; mx.google.com;\r\n"
        b"       dkim=pass header.i=@lists.example header.s=2026 header.b=AbCdEf12;\r\n"
        b"       arc=pass (i=1 spf=pass spfdomain=strict.example dkim=pass"
        b" dkdomain=strict.example dmarc=pass fromdomain=strict.example);\r\n"
        b"       spf=pass (google.com: domain of friends-bounces@lists.example designates"
        b" 192.0.2.25 as permitted sender) smtp.mailfrom=friends-bounces@lists.example;\r\n"
        b"       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=lists.example\r\n"
        b'Authentication-Results: mx.members.example; arc=fail reason="ARC-Seal 1 did not'
        b' verify (fail)"\r\n\r\nbody\r\n'
    )
    aar, ar = read_authentication_results(header)
    assert (aar.arc_instance, aar.authserv_id) == (2, "mx.google.com")
    arc = aar.result("arc")
    assert arc is not None
    assert arc.result == "pass"
    assert arc.comment is not None
    assert arc.comment.startswith("i=1 spf=pass")
    failed = ar.result("arc")
    assert failed is not None
    assert (failed.result, failed.reason) == ("fail", "ARC-Seal 1 did not verify (fail)")
