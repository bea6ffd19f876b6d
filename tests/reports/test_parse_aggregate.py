"""DMARC aggregate reports: the corpus of reporter shapes, and what is refused."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcheck.reports import AggregateReport, ReportError, ingest_report, parse_aggregate
from mailcheck.reports.aggregate import (
    MAX_BLOCK_ELEMENTS,
    MAX_DEPTH,
    MAX_GAP_BYTES,
    MAX_OTHER_BLOCKS,
    MAX_RECORDS,
)
from mailcheck.reports.records import MAX_TEXT_CHARS

DATA = Path(__file__).parent / "data"

ROW = (
    b"<record><row><source_ip>192.0.2.%d</source_ip><count>1</count>"
    b"<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>"
    b"</policy_evaluated></row><identifiers><header_from>asso.example</header_from>"
    b"</identifiers><auth_results><spf><domain>asso.example</domain><result>pass</result>"
    b"</spf></auth_results>%s</record>"
)
HEAD = (
    b"<feedback><report_metadata><org_name>t</org_name><report_id>r1</report_id>"
    b"<date_range><begin>1</begin><end>2</end></date_range></report_metadata>"
    b"<policy_published><domain>asso.example</domain><p>none</p></policy_published>"
)


def report(*rows: bytes, head: bytes = HEAD) -> bytes:
    return head + b"".join(rows) + b"</feedback>"


def row(n: int = 1, extra: bytes = b"") -> bytes:
    return ROW % (n, extra)


def read(name: str) -> AggregateReport:
    parsed = parse_aggregate((DATA / name).read_bytes())
    assert isinstance(parsed, AggregateReport)
    return parsed


def reason(source: bytes, **options: int) -> str:
    with pytest.raises(ReportError) as caught:
        parse_aggregate(source, **options)
    return caught.value.reason


# --- the corpus ---------------------------------------------------------------------------


def test_google_no_namespace() -> None:
    got = read("google.xml")
    assert (got.org_name, got.report_id) == ("google.com", "10786245312278549031")
    assert got.email == "noreply-dmarc-support@google.com"
    assert (got.date_range.begin, got.date_range.end) == (1700006400, 1700092799)
    assert got.domain == "asso.example"
    assert (got.policy.p, got.policy.pct, got.policy.np) == ("none", 100, "none")
    assert got.message_count == 42 + 3 + 1204 + 7
    first = got.records[0]
    assert (first.source_ip, first.count, first.disposition) == ("192.0.2.25", 42, "none")
    assert first.dmarc_pass
    assert [(r.domain, r.selector, r.result) for r in first.dkim_results] == [
        ("asso.example", "mail2026", "pass")
    ]
    assert got.records[1].source_ip == "2001:db8::25"
    assert got.records[1].dkim_results == ()
    assert not got.records[3].dmarc_pass
    assert got.records[3].spf_results[0].result == "softfail"


def test_microsoft_several_auth_results_and_extensions() -> None:
    got = read("microsoft.xml")
    assert (got.reporter, got.version, got.policy.fo) == ("Enterprise Outlook", "1.0", "0")
    first, listed = got.records
    # Two <auth_results> blocks in one record: both read.
    assert [r.method for r in first.dkim_results + first.spf_results] == ["dkim", "spf"]
    assert first.spf_results[0].scope == "mfrom"
    assert (first.envelope_to, first.envelope_from) == ("contoso.example", "asso.example")
    assert [(r.type, r.comment) for r in listed.reasons] == [
        ("mailing_list", "arc=pass as.1.lists.example.net=pass")
    ]
    assert [r.domain for r in listed.dkim_results] == ["asso.example", "lists.example.net"]


def test_rfc9990_namespace_and_new_elements() -> None:
    got = read("rfc9990.xml")
    policy = got.policy
    assert (policy.np, policy.testing, policy.discovery_method) == ("reject", "y", "treewalk")
    assert (policy.adkim, policy.aspf, policy.pct) == ("s", "r", None)
    assert got.generator == "ReceiverMTA 4.2"
    assert got.errors == ("multiple DMARC records at _dmarc.old.asso.example",)
    assert got.records[0].disposition == "pass"
    failing = got.records[1]
    assert failing.reasons[0].type == "policy_test_mode"
    assert failing.envelope_from is None  # RFC 9990: present but empty for a null path
    assert failing.dkim_results[0].human_result == "body hash did not verify"
    assert failing.header_from == "news.asso.example"


def test_quirks_bom_case_whitespace_and_missing_org_name() -> None:
    got = read("quirks.xml")
    assert got.org_name == ""
    assert got.reporter == "dmarc@laposte.example"
    assert got.report_id == "laposte.example:asso.example:20231115"
    assert (got.date_range.begin, got.date_range.end) == (1700006400, 1700092799)
    assert got.errors == ("DNS timeout on _dmarc.asso.example",)
    assert got.domain == "asso.example"
    assert (got.policy.adkim, got.policy.aspf, got.policy.p, got.policy.pct) == (
        "r",
        "s",
        "none",
        None,
    )
    first, bare = got.records
    assert (first.source_ip, first.count, first.disposition) == ("2001:db8::25", 9, "none")
    assert (first.dkim, first.spf, first.header_from) == ("pass", "fail", "asso.example")
    assert first.spf_results[0].result == "softfail"
    # A row without policy_evaluated or identifiers is kept, its unknowns empty.
    assert (bare.disposition, bare.dkim, bare.header_from, bare.spf_results) == ("", None, "", ())


def test_windows_1252_declared_encoding() -> None:
    got = read("aol-windows-1252.xml")
    assert got.org_name == "AOL \u2013 Verizon"
    assert got.policy.p == "reject"


def test_mailru_shape() -> None:
    got = read("mailru.xml")
    assert (got.reporter, got.message_count) == ("Mail.Ru", 3)


def test_to_dict_is_plain_json() -> None:
    data = read("rfc9990.xml").to_dict()
    assert data["policy"]["discovery_method"] == "treewalk"
    assert data["records"][1]["reasons"] == [{"type": "policy_test_mode", "comment": "t=y"}]


def test_ingest_reads_plain_xml() -> None:
    assert ingest_report((DATA / "google.xml").read_bytes()).kind == "aggregate"


# --- tolerated oddities -------------------------------------------------------------------


def test_reversed_dates_and_iso_dates() -> None:
    head = HEAD.replace(b"<begin>1</begin><end>2</end>", b"<begin>90</begin><end> 30.0 </end>")
    got = parse_aggregate(report(row(), head=head))
    assert (got.date_range.begin, got.date_range.end) == (30, 90)
    iso = HEAD.replace(
        b"<begin>1</begin><end>2</end>",
        b"<begin>2023-11-15T00:00:00Z</begin><end>2023-11-15t23:59:59+00:00</end>",
    )
    got = parse_aggregate(report(row(), head=iso))
    assert (got.date_range.begin, got.date_range.end) == (1700006400, 1700092799)


def test_spf_result_without_domain_and_empty_reason() -> None:
    # Zoho reports a HELO result with no domain; some reporters an empty <reason>.
    extra = b"<auth_results><spf><result>none</result><scope>helo</scope></spf></auth_results>"
    document = report(row(1, extra)).replace(
        b"</spf></policy_evaluated>",
        b"</spf><reason><type></type><comment></comment></reason></policy_evaluated>",
    )
    got = parse_aggregate(document).records[0]
    assert [(r.domain, r.scope, r.result) for r in got.spf_results][-1] == ("", "helo", "none")
    assert got.reasons == ()


def test_long_values_are_clipped() -> None:
    long = b"x" * (MAX_TEXT_CHARS * 3)
    got = parse_aggregate(report(row(), head=HEAD.replace(b"<org_name>t", b"<org_name>" + long)))
    assert len(got.org_name) == MAX_TEXT_CHARS


def test_auth_results_are_bounded() -> None:
    many = b"<auth_results>" + b"<dkim><domain>d</domain><result>pass</result></dkim>" * 150
    got = parse_aggregate(report(row(1, many + b"</auth_results>")))
    assert len(got.records[0].dkim_results) == 100


# --- refused ------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feedback><report_metadata><org_name>&xxe;</org_name></report_metadata></feedback>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE feedback SYSTEM "http://127.0.0.1:9/evil.dtd">
<feedback/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>
<feedback/>"""


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity"],
)
def test_entities_and_dtds_are_refused(document: bytes) -> None:
    assert reason(document) == "xml"


def test_deep_nesting_is_refused() -> None:
    deep = b"<feedback>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</feedback>"
    assert reason(deep) == "xml"
    assert reason(b"<feedback>" + b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH + b"</feedback>") == (
        "xml"
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (b"", "xml"),
        (b"<feedback>", "xml"),
        (b"not xml at all", "xml"),
        (b"<html><body/></html>", "schema"),
        (b"<feedback/>", "schema"),
        (report(row()).replace(b"<report_id>r1</report_id>", b""), "schema"),
        (report(row()).replace(b"<begin>1</begin>", b""), "schema"),
        (report(row()).replace(b"<begin>1</begin>", b"<begin>yesterday</begin>"), "schema"),
        (report(row()).replace(b"<end>2</end>", b"<end>-5</end>"), "schema"),
        (report(row()).replace(b"<domain>asso.example</domain><p>", b"<p>"), "schema"),
        (report(row()).replace(b"192.0.2.1<", b"192.0.2.300<"), "schema"),
        (report(row()).replace(b"<count>1</count>", b"<count>-1</count>"), "schema"),
        (report(row()).replace(b"<count>1</count>", b"<count>1e9</count>"), "schema"),
        (report(row()).replace(b"<count>1</count>", b"<count>99999999999999</count>"), "schema"),
    ],
)
def test_malformed_reports(document: bytes, expected: str) -> None:
    assert reason(document) == expected


def test_a_report_wrapped_in_one_element_is_read() -> None:
    # Seen from a real reporter: the report inside the <xs:schema> of the RFC's appendix.
    wrapped = (
        b'<?xml version="1.0"?> <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        b'targetNamespace="http://dmarc.org/dmarc-xml/0.1">\n'
        + report(row(1), row(2))
        + b"\n</xs:schema>"
    )
    parsed = parse_aggregate(wrapped)
    assert [r.source_ip for r in parsed.records] == ["192.0.2.1", "192.0.2.2"]
    assert parsed.domain == "asso.example"
    # One wrapper only, and it must hold <feedback>.
    assert reason(b"<a><b>" + report(row()) + b"</b></a>") == "schema"
    assert reason(b"<xs:schema xmlns:xs='x'><other/></xs:schema>") == "schema"


def test_record_count_is_bounded() -> None:
    document = report(*(row(n) for n in range(4)))
    assert len(parse_aggregate(document, max_records=4).records) == 4
    assert reason(document, max_records=3) == "too-many-records"


class _Generated:
    """A binary stream produced piece by piece, never held whole."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        while len(self._pending) < max(size, 1):
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._pending += piece
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


def test_memory_does_not_grow_with_the_xml() -> None:
    # 2,000 records each carrying 20 KB of ignored extension: 40 MB of XML, read as a stream.
    padding = b"<ext:x xmlns:ext='urn:x'>" + b"p" * 20_000 + b"</ext:x>"
    records = 2_000

    def pieces() -> Iterator[bytes]:
        yield HEAD
        for n in range(records):
            yield row(n % 250, padding)
        yield b"</feedback>"

    tracemalloc.start()
    try:
        got = parse_aggregate(_Generated(pieces()))  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(got.records) == records
    assert peak < 8 * 1024 * 1024, peak  # the XML read is 40 MB


def test_element_count_is_bounded() -> None:
    # 100 MiB of "<a/>" would be 26 million elements: refused at ELEMENTS_PER_RECORD per row.
    swarm = report(*(row(n, b"<a/>" * 5_000) for n in range(3)))
    assert len(parse_aggregate(swarm).records) == 3
    assert reason(swarm, max_records=3) == "xml"  # 15,000 elements over max(3 * 40, 10,000)
    assert len(parse_aggregate(report(row(), b"<a/>" * MAX_OTHER_BLOCKS)).records) == 1
    assert reason(report(row(), b"<a/>" * (MAX_OTHER_BLOCKS + 1))) == "xml"
    crowded_record = report(row(1, b"<a/>" * (MAX_BLOCK_ELEMENTS + 1)))
    assert reason(crowded_record) == "xml"


def test_block_size_is_bounded() -> None:
    # A block's elements are held until it ends: 80 texts of 60 KB in one record are refused.
    texts = (b"<a>" + b"x" * 60_000 + b"</a>") * 80
    assert reason(report(row(1, texts))) == "xml"
    assert reason(report(row(), b"<extension>" + texts + b"</extension>")) == "xml"
    assert parse_aggregate(report(row(1, texts[: len(texts) // 2]))).records


def test_a_text_without_end_is_bounded() -> None:
    endless = HEAD + b"<record><row><source_ip>" + b"1" * (MAX_GAP_BYTES + 100_000)
    assert reason(endless) == "xml"
    long_comment = report(row(), b"<!--" + b"x" * (2 * MAX_GAP_BYTES) + b"-->")
    assert parse_aggregate(report(row(), b"<!--" + b"x" * 1000 + b"-->")).records
    assert reason(long_comment) == "xml"


@pytest.mark.parametrize(
    "encoding", [b"no-such-codec", b"shift_jis", b"utf-32", b"idna", b"rot13", b"zlib", b"cp037"]
)
def test_unusable_declared_encodings(encoding: bytes) -> None:
    document = (DATA / "aol-windows-1252.xml").read_bytes().replace(b"windows-1252", encoding)
    assert reason(document) == "xml"


def test_blank_lines_before_the_declaration() -> None:
    document = b"\xef\xbb\xbf\r\n\n  " + (DATA / "google.xml").read_bytes()
    assert parse_aggregate(document).reporter == "google.com"
    assert ingest_report(document).reporter == "google.com"


@pytest.mark.slow
def test_the_default_record_bound() -> None:
    # MAX_RECORDS plain rows fit the byte and element bounds; one more row is refused.
    def pieces(rows: int) -> Iterator[bytes]:
        yield HEAD
        for n in range(rows):
            yield row(n % 250)
        yield b"</feedback>"

    assert reason(_Generated(pieces(MAX_RECORDS + 1))) == "too-many-records"  # type: ignore[arg-type]
