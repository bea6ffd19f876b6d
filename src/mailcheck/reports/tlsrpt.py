"""Parse SMTP TLS reports (RFC 8460 §4, JSON) from untrusted bytes.

Every value is type-checked: a count that is not a non-negative integer, a policy that is
not an object, a date that is not RFC 3339 is ``ReportError("schema")``; JSON that does not
parse (or nests absurdly deep, or says ``NaN``) is ``ReportError("json")``. Unknown members
are ignored, strings are clipped to :data:`~mailcheck.reports.records.MAX_TEXT_CHARS`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mailcheck.reports.records import MAX_COUNT, MAX_TEXT_CHARS, DateRangeError, date_range
from mailcheck.reports.types import (
    ReportError,
    TlsFailure,
    TlsPolicyResult,
    TlsReport,
)

__all__ = ["MAX_FAILURES", "MAX_JSON_BYTES", "MAX_POLICIES", "parse_tls"]

MAX_JSON_BYTES = 2 * 1024 * 1024
"""A TLS report has one entry per policy and one per failure kind and host pair: Google's and
Microsoft's are a few KiB. 2 MiB is hundreds of times that, and bounds what ``json.loads``
may build from hostile input (up to some 20 bytes of objects per byte: ``[{},{},...]``)."""

MAX_POLICIES = 1_000  # policies per report; a receiving domain publishes one or two
MAX_FAILURES = 10_000  # failure-details entries in the whole report
_MAX_LIST = 100  # policy-string lines and mx-host patterns kept per policy


def parse_tls(data: bytes | str, /) -> TlsReport:
    """The TLS report in ``data`` (RFC 8460 JSON, UTF-8).

    Example::

        report = parse_tls(Path("google-tlsrpt.json").read_bytes())
        [(p.policy_domain, p.failed) for p in report.policies]

    Raises:
        ReportError: ``too-large`` (over :data:`MAX_JSON_BYTES`), ``json`` (not JSON),
            ``schema`` (JSON that is not a TLS report).
    """
    if len(data) > MAX_JSON_BYTES:
        raise ReportError("too-large", f"a {len(data)}-byte TLS report is over the limit")
    try:
        document = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ReportError("json", "the JSON nests too deep") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many int digits
        raise ReportError("json", f"not a JSON report: {str(exc)[:200]}") from exc
    report = _object(document, "the report")
    dates = _object(report.get("date-range"), "date-range")
    try:
        period = date_range(
            _string(dates.get("start-datetime"), "start-datetime"),
            _string(dates.get("end-datetime"), "end-datetime"),
        )
    except DateRangeError as exc:
        raise ReportError("schema", f"date-range: {exc}") from exc
    report_id = _optional_string(report.get("report-id"), "report-id")
    if not report_id:
        raise ReportError("schema", "no report-id")
    policies = tuple(
        _policy(entry) for entry in _array(report.get("policies"), "policies", MAX_POLICIES)
    )
    if sum(len(policy.failures) for policy in policies) > MAX_FAILURES:
        raise ReportError("too-many-records", f"over {MAX_FAILURES} failure-details entries")
    return TlsReport(
        org_name=_optional_string(report.get("organization-name"), "organization-name") or "",
        report_id=report_id,
        date_range=period,
        contact_info=_optional_string(report.get("contact-info"), "contact-info"),
        policies=policies,
    )


def _refuse_constant(name: str) -> Any:
    raise ReportError("json", f"{name} is not JSON (RFC 8259 §6)")


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ReportError("schema", f"{what} is not an object")
    return value


def _array(value: object, what: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReportError("schema", f"{what} is not an array")
    if len(value) > limit:
        raise ReportError("too-many-records", f"{what}: over {limit} entries")
    return value


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ReportError("schema", f"{what} is not a string")
    return value.strip()[:MAX_TEXT_CHARS]


def _optional_string(value: object, what: str) -> str | None:
    return None if value is None else _string(value, what) or None


def _strings(value: object, what: str) -> tuple[str, ...]:
    """A list of strings; a lone string (some reporters send one) is a list of one."""
    items = [value] if isinstance(value, str) else _array(value, what, MAX_FAILURES)
    return tuple(_string(item, what) for item in items[:_MAX_LIST])


def _count(value: object, what: str) -> int:
    # bool is an int in Python, not in JSON: true is not a session count.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        raise ReportError("schema", f"{what} is not a session count")
    return value


def _policy(entry: object) -> TlsPolicyResult:
    item = _object(entry, "a policies entry")
    policy = _object(item.get("policy"), "policy")
    summary = _object(item.get("summary"), "summary")
    domain = _optional_string(policy.get("policy-domain"), "policy-domain")
    if not domain:
        raise ReportError("schema", "no policy-domain")
    failures = _array(item.get("failure-details"), "failure-details", MAX_FAILURES)
    return TlsPolicyResult(
        policy_type=(_optional_string(policy.get("policy-type"), "policy-type") or "").lower(),
        policy_domain=domain.lower().rstrip("."),
        successful=_count(
            summary.get("total-successful-session-count"), "total-successful-session-count"
        ),
        failed=_count(summary.get("total-failure-session-count"), "total-failure-session-count"),
        policy_strings=_strings(policy.get("policy-string"), "policy-string"),
        mx_hosts=_strings(policy.get("mx-host"), "mx-host"),
        failures=tuple(_failure(detail) for detail in failures),
    )


def _failure(entry: object) -> TlsFailure:
    detail = _object(entry, "a failure-details entry")

    def optional(name: str) -> str | None:
        return _optional_string(detail.get(name), name)

    result_type = optional("result-type")
    if not result_type:
        raise ReportError("schema", "a failure-details entry has no result-type")
    return TlsFailure(
        result_type=result_type.lower(),
        failed_session_count=_count(detail.get("failed-session-count"), "failed-session-count"),
        sending_mta_ip=optional("sending-mta-ip"),
        receiving_mx_hostname=optional("receiving-mx-hostname"),
        receiving_mx_helo=optional("receiving-mx-helo"),
        receiving_ip=optional("receiving-ip"),
        additional_information=optional("additional-information"),
        # RFC 8460 §4.4 names it failure-reason-code; its own example (§5) says
        # failure-error-code, and reporters copied both.
        failure_reason_code=optional("failure-reason-code") or optional("failure-error-code"),
    )
