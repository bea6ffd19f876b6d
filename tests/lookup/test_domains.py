"""Domain normalisation and the organisational domain (RFC 9989 tree walk, PSL)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck import DnsResolver, ParseError
from mailcheck.dmarc import organizational_domain
from mailcheck.lookup.domains import (
    TREE_WALK_MAX_QUERIES,
    dmarc_tree_names,
    normalize_domain,
    organizational_domain_psl,
    organizational_from_walk,
)
from tests.dnsserver import DnsTestServer


def test_normalize() -> None:
    assert normalize_domain("Bücher.Example.") == "xn--bcher-kva.example"
    for bad in ("not a domain", "a..b", "", "localhost", "x@y.z"):
        with pytest.raises(ParseError):
            normalize_domain(bad)


def test_tree_names_jump_to_seven_labels() -> None:
    names = dmarc_tree_names("a.b.c.d.e.f.g.h.i.example.org")
    assert names[0] == "_dmarc.a.b.c.d.e.f.g.h.i.example.org"
    assert names[1] == "_dmarc.e.f.g.h.i.example.org"  # 7 labels
    assert names[-1] == "_dmarc.org"
    assert len(names) == TREE_WALK_MAX_QUERIES


@given(st.lists(st.from_regex(r"[a-z]{1,5}", fullmatch=True), min_size=2, max_size=20))
def test_tree_walk_never_exceeds_eight(labels: list[str]) -> None:
    names = dmarc_tree_names(".".join(labels))
    assert len(names) <= TREE_WALK_MAX_QUERIES
    assert names[-1] == "_dmarc." + labels[-1]


def test_org_domain_rules() -> None:
    start = "a.mail.example.org"
    assert organizational_from_walk(start, {}) == start
    assert organizational_from_walk(start, {"example.org": None}) == "example.org"
    assert organizational_from_walk(start, {"org": "y"}) == "example.org"
    assert organizational_from_walk(start, {"mail.example.org": "n", "example.org": None}) == (
        "mail.example.org"
    )


def test_psl_mode() -> None:
    assert organizational_domain_psl("a.b.example.co.uk") == "example.co.uk"


async def test_org_domain_through_dns(resolver: DnsResolver, dns_server: DnsTestServer) -> None:
    assert (
        await organizational_domain("x.mon.example.dmarctest", resolver=resolver)
        == "example.dmarctest"
    )
    # The walk asked at most 8 names, each once.
    asked = [q for q in dns_server.log if q.name.startswith("_dmarc.")]
    assert len(asked) <= TREE_WALK_MAX_QUERIES
    assert len({q.name for q in asked}) == len(asked)
