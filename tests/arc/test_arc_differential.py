"""Differential: our chain verdict equals dkimpy's arc_verify on RSA chains, also after
random damage (hypothesis flips one byte anywhere in a two-hop chain)."""

from __future__ import annotations

import asyncio
import binascii
import functools

import dkim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck import ZoneResolver
from mailcheck.dkim.arc_verify import verify_arc
from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.answer import DnsAnswer, DnsStatus
from tests.arc.arc_helpers import LIST, RSA_SEALER, SIGNED_POST
from tests.conftest import ZONES


class NoSuchName:
    """A resolver for names outside the test zones: they do not exist (as a damaged ``d=``
    would not on the Internet); the zone resolver alone would say "could not check"."""

    async def query(self, name: str, rdtype: str, /) -> DnsAnswer:
        return DnsAnswer(name=name.lower().rstrip("."), rdtype=rdtype, status=DnsStatus.NXDOMAIN)


OFFLINE = ZoneResolver(sorted(ZONES.glob("*.zone")), fallback=NoSuchName())  # type: ignore[arg-type]


@functools.cache
def _record(name: str) -> bytes | None:
    answer = asyncio.run(OFFLINE.query(name, "TXT"))
    texts = answer.texts()
    return texts[0].encode() if texts else None


def dkimpy_txt(name: bytes | str, timeout: float = 5) -> bytes | None:
    text = name.decode() if isinstance(name, bytes) else name
    try:
        return _record(text.rstrip(".").lower())
    except (ParseError, TempError):  # not a DNS name: no key, as dkimpy's own lookup says
        return None


def two_hops() -> bytes:
    first = RSA_SEALER.seal(f"Authentication-Results: {LIST}; dkim=pass\r\n".encode() + SIGNED_POST)
    tagged = first.replace(b"Subject: Picnic", b"Subject: [friends] Picnic")
    return RSA_SEALER.seal(f"Authentication-Results: {LIST}; arc=pass\r\n".encode() + tagged)


CHAIN = two_hops()


def dkimpy_verdict(message: bytes) -> str:
    try:
        dkim.rfc822_parse(message)
    except dkim.DKIMException:
        return "fail"  # arc_verify would raise MessageFormatError: nothing passes
    try:
        cv, _, _ = dkim.arc_verify(message, dnsfunc=dkimpy_txt)
    except binascii.Error:
        # dkimpy 1.1.8 lets a damaged bh= escape arc_verify as binascii.Error (one more
        # reason our verifier does not hand hostile chains to it): that chain cannot pass.
        return "fail"
    return "fail" if cv is None else cv.decode()


def test_the_untouched_chain_passes_in_both() -> None:
    assert dkimpy_verdict(CHAIN) == "pass"
    result = asyncio.run(verify_arc(CHAIN, resolver=OFFLINE))
    assert (result.result, result.oldest_pass) == ("pass", 2)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(CHAIN) - 1), st.integers(min_value=33, max_value=126))
def test_one_damaged_byte_gets_the_same_verdict(position: int, byte: int) -> None:
    damaged = CHAIN[:position] + bytes([byte]) + CHAIN[position + 1 :]
    ours = asyncio.run(verify_arc(damaged, resolver=OFFLINE)).result
    assert str(ours) == dkimpy_verdict(damaged), (
        position,
        chr(byte),
        CHAIN[position - 20 : position + 20],
    )
