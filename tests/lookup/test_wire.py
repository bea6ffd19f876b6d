"""Query messages built by hand parse as the queries dnspython would build."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rdatatype
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.lookup.wire import EDNS_PAYLOAD, query_wire

labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=63)


@given(
    st.integers(0, 65535),
    st.lists(labels, min_size=1, max_size=6),
    st.sampled_from(["A", "AAAA", "TXT", "MX", "PTR", "CNAME"]),
)
def test_query_wire_parses_back(query_id: int, parts: list[str], rdtype: str) -> None:
    qname = dns.name.from_text(".".join(parts))
    message = dns.message.from_wire(query_wire(query_id, qname, dns.rdatatype.from_text(rdtype)))
    assert message.id == query_id
    assert message.flags & 0x0100  # RD
    assert message.question[0].name == qname
    assert dns.rdatatype.to_text(message.question[0].rdtype) == rdtype
    assert message.edns == 0
    assert message.payload == EDNS_PAYLOAD


def test_same_bytes_as_dnspython() -> None:
    qname = dns.name.from_text("example.org")
    ours = query_wire(4660, qname, dns.rdatatype.TXT)
    theirs = dns.message.make_query(qname, "TXT", use_edns=0, payload=EDNS_PAYLOAD)
    theirs.id = 4660
    theirs.flags = 0x0100
    assert ours == theirs.to_wire()
