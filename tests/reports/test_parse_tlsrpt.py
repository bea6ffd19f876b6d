"""SMTP TLS reports (RFC 8460): the RFC's example, reporter shapes, and wrong types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mailcheck.reports import ReportError, TlsPolicyType, TlsReport, ingest_report, parse_tls
from mailcheck.reports.tlsrpt import MAX_FAILURES, MAX_JSON_BYTES, MAX_POLICIES

DATA = Path(__file__).parent / "data"
EXAMPLE = json.loads((DATA / "tlsrpt-rfc8460.json").read_bytes())


def read(name: str) -> TlsReport:
    return parse_tls((DATA / name).read_bytes())


def reason(data: bytes | str) -> str:
    with pytest.raises(ReportError) as caught:
        parse_tls(data)
    return caught.value.reason


def changed(path: tuple[str | int, ...], value: Any) -> bytes:
    """The RFC example with the member at ``path`` set to ``value`` (``...`` deletes it)."""
    document = json.loads(json.dumps(EXAMPLE))
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(document).encode()


def test_rfc8460_example() -> None:
    got = read("tlsrpt-rfc8460.json")
    assert (got.org_name, got.contact_info) == ("Company-X", "sts-reporting@company-x.example")
    assert got.report_id == "5065427c-23d3-47ca-b6e0-946ea0e8c4be"
    # 2016-04-01T00:00:00Z and 23:59:59Z
    assert (got.date_range.begin, got.date_range.end) == (1459468800, 1459555199)
    (policy,) = got.policies
    assert (policy.policy_type, policy.policy_domain) == (TlsPolicyType.STS, "company-y.example")
    assert (policy.successful, policy.failed) == (5326, 303)
    assert policy.mx_hosts == ("*.mail.company-y.example",)
    assert policy.policy_strings[1] == "mode: testing"
    expired, unsupported, validation = policy.failures
    assert (expired.result_type, expired.failed_session_count) == ("certificate-expired", 100)
    assert expired.receiving_ip is None
    assert unsupported.receiving_ip == "203.0.113.56"
    assert unsupported.additional_information is not None
    # The RFC's example spells the member failure-error-code, its schema failure-reason-code.
    assert validation.failure_reason_code == "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    assert got.domains == ("company-y.example",)


def test_google_no_policy_found() -> None:
    got = read("tlsrpt-google.json")
    (policy,) = got.policies
    assert (policy.policy_type, policy.successful, policy.failed) == ("no-policy-found", 57, 0)
    assert (policy.failures, policy.mx_hosts, policy.policy_strings) == ((), (), ())


def test_microsoft_sts_and_tlsa_with_a_lone_mx_host_string() -> None:
    got = read("tlsrpt-microsoft.json")
    sts, tlsa = got.policies
    assert sts.mx_hosts == ("mx1.asso.example",)
    assert sts.failures[0].result_type == "certificate-host-mismatch"
    assert (tlsa.policy_type, tlsa.mx_hosts) == ("tlsa", ("mx1.asso.example",))
    assert got.reporter == "Microsoft Corporation"


def test_ingest_reads_gzipped_json() -> None:
    got = ingest_report((DATA / "tlsrpt-google.json.gz").read_bytes())
    assert got.kind == "tls"
    assert ingest_report(b"\xef\xbb\xbf  " + (DATA / "tlsrpt-google.json").read_bytes()).kind == (
        "tls"
    )


def test_to_dict() -> None:
    data = read("tlsrpt-rfc8460.json").to_dict()
    assert data["policies"][0]["failures"][0]["result_type"] == "certificate-expired"


def test_tolerated() -> None:
    # No contact, no failure-details, dates in lower case with an offset, upper-case type.
    got = parse_tls(
        changed(("contact-info",), ...)
        .replace(b'"2016-04-01T00:00:00Z"', b'"2016-04-01t02:00:00+02:00"')
        .replace(b'"sts"', b'"STS"')
    )
    assert got.contact_info is None
    assert got.date_range.begin == 1459468800
    assert got.policies[0].policy_type == "sts"
    assert parse_tls(changed(("policies", 0, "failure-details"), ...)).policies[0].failures == ()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("policies",), {"policy": {}}),
        (("policies", 0), "sts"),
        (("policies", 0, "policy"), ["sts"]),
        (("policies", 0, "summary"), ...),
        (("policies", 0, "summary", "total-successful-session-count"), "5326"),
        (("policies", 0, "summary", "total-successful-session-count"), -1),
        (("policies", 0, "summary", "total-successful-session-count"), True),
        (("policies", 0, "summary", "total-failure-session-count"), 3.5),
        (("policies", 0, "policy", "policy-domain"), ...),
        (("policies", 0, "policy", "policy-domain"), 42),
        (("policies", 0, "policy", "mx-host"), [1, 2]),
        (("policies", 0, "failure-details"), {"result-type": "x"}),
        (("policies", 0, "failure-details", 0, "result-type"), ...),
        (("policies", 0, "failure-details", 0, "failed-session-count"), None),
        (("date-range",), "yesterday"),
        (("date-range", "start-datetime"), "April 1st"),
        (("date-range", "start-datetime"), 1459468800),
        (("date-range", "end-datetime"), "9999-99-99T00:00:00Z"),
        (("report-id",), ...),
        (("report-id",), ["a"]),
        (("organization-name",), {"name": "x"}),
    ],
)
def test_wrong_types_are_schema_errors(path: tuple[str | int, ...], value: Any) -> None:
    assert reason(changed(path, value)) == "schema"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "json"),
        (b"{", "json"),
        (b"[]", "schema"),
        (b'"report"', "schema"),
        (b'{"report-id": NaN}', "json"),
        (b'{"n": Infinity}', "json"),
        (b"[" * 100_000 + b"]" * 100_000, "json"),
        (b'{"n": 1' + b"0" * 5000 + b"}", "json"),
        (b"\xff\xfe{\x00}\x00", "schema"),  # UTF-16 JSON that is not a report
        (b'{"x": "\xff"}', "json"),
        (b" " * (MAX_JSON_BYTES + 1), "too-large"),
    ],
)
def test_not_reports(data: bytes, expected: str) -> None:
    assert reason(data) == expected


def test_policy_count_is_bounded() -> None:
    many = changed(("policies",), [EXAMPLE["policies"][0]] * (MAX_POLICIES + 1))
    assert reason(many) == "too-many-records"


def test_failure_count_is_bounded_across_policies() -> None:
    detail = EXAMPLE["policies"][0]["failure-details"][0]
    policy = dict(EXAMPLE["policies"][0], **{"failure-details": [detail] * 600})
    fine = changed(("policies",), [policy] * (MAX_FAILURES // 600))
    assert len(parse_tls(fine).policies) == MAX_FAILURES // 600
    assert reason(changed(("policies",), [policy] * (MAX_FAILURES // 600 + 1))) == (
        "too-many-records"
    )
