"""The data model every check returns: severities, statuses, findings, ``to_dict``.

Results are frozen dataclasses holding facts and :class:`Finding` objects; they
convert to plain JSON with :func:`to_dict`, so a control panel can store them.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any


class Severity(enum.StrEnum):
    """How bad a finding is."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error: larger is worse."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class CheckStatus(enum.StrEnum):
    """The verdict of one check or of a whole report.

    ``unknown`` means DNS could not answer somewhere: the check could not be
    completed, which is different from "missing" and from "fail".
    """

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"


class ToDict:
    """Mixin giving a result dataclass its ``to_dict()`` (one generic conversion)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The object as plain JSON data (see :func:`to_dict`)."""
        data: dict[str, Any] = to_dict(self)
        return data


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Finding(ToDict):
    """One thing a check found.

    Attributes:
        code: stable dotted identifier (``spf.lookup-limit``), documented in
            ``docs/findings.md``; control panels key their translations on it.
        severity: ``info``, ``warning`` or ``error``.
        subject: what the finding is about (a domain, a DNS name, an IP).
        message: one English sentence for people; never parse it.
        details: the facts behind the finding, JSON-serialisable.
        fix: the concrete remedy, e.g. the record to publish, or ``None``.
        reference: the RFC section or provider rule, or ``None``.
    """

    code: str
    severity: Severity
    subject: str
    message: str
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fix: str | None = None
    reference: str | None = None

    @property
    def is_temperror(self) -> bool:
        """True for the reserved "could not check" codes (``*.temperror``)."""
        return self.code.endswith(".temperror")


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Worst first; equal severities keep their order (the sort is stable)."""
    return tuple(sorted(findings, key=lambda f: -f.severity.rank))


def status_of(findings: Iterable[Finding]) -> CheckStatus:
    """The status a set of findings implies.

    A certain error outranks an incomplete check: an error is ``fail`` even if
    another part could not be checked; otherwise any ``*.temperror`` makes the
    result ``unknown``; then warnings make it ``warn``.
    """
    items = tuple(findings)
    if any(f.severity is Severity.ERROR and not f.is_temperror for f in items):
        return CheckStatus.FAIL
    if any(f.is_temperror for f in items):
        return CheckStatus.UNKNOWN
    if any(f.severity is Severity.WARNING for f in items):
        return CheckStatus.WARN
    return CheckStatus.PASS


def worst_status(statuses: Iterable[CheckStatus]) -> CheckStatus:
    """Combine statuses: fail > unknown > warn > pass."""
    order = (CheckStatus.FAIL, CheckStatus.UNKNOWN, CheckStatus.WARN)
    found = set(statuses)
    for status in order:
        if status in found:
            return status
    return CheckStatus.PASS


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult(ToDict):
    """Base of every per-check result: a status and its findings (worst first).

    Attributes:
        status: ``pass | warn | fail | unknown``.
        findings: what the check found, worst first.
        error: why the check (or part of it) could not run, naming the server and the
            failure (``"timeout at 127.0.0.1:5399"``); ``None`` when it ran. Show
            ``could not check (<error>)`` for an ``unknown`` check, never "missing".
    """

    status: CheckStatus
    findings: tuple[Finding, ...] = ()
    error: str | None = None


# TempError's text: "<name> <TYPE>: <reason>" (see mailcheck.errors.TempError).
_TEMPERROR_TEXT = re.compile(r"\S+ [A-Z0-9]+: (?P<reason>.+)", re.S)


def error_of(findings: Iterable[Finding]) -> str | None:
    """Why a check could not run: the DNS failure behind its first ``*.temperror`` finding.

    Reads ``details["error"]`` (or the first of ``details["errors"]``) and keeps the
    reason (``"timeout at 127.0.0.1:5399"``); falls back on the finding's message.
    """
    for finding in findings:
        if not finding.is_temperror:
            continue
        error = finding.details.get("error")
        errors = finding.details.get("errors")
        if not isinstance(error, str) and isinstance(errors, list | tuple) and errors:
            error = errors[0]
        if isinstance(error, str) and error:
            match = _TEMPERROR_TEXT.fullmatch(error)
            return match.group("reason") if match else error
        return finding.message
    return None


def to_dict(obj: Any) -> Any:
    """Convert a result (dataclasses, enums, tuples, IPs, bytes) to plain JSON data.

    Dataclass fields whose name starts with an underscore are left out; an exception
    held as a fact (a ``ParseError``) becomes its message.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            field.name: to_dict(getattr(obj, field.name))
            for field in dataclasses.fields(obj)
            if not field.name.startswith("_")
        }
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {str(key): to_dict(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [to_dict(item) for item in obj]
        return sorted(items, key=str) if isinstance(obj, set | frozenset) else items
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "backslashreplace")
    if isinstance(obj, BaseException):
        return str(obj)
    if isinstance(
        obj,
        ipaddress.IPv4Address
        | ipaddress.IPv6Address
        | ipaddress.IPv4Network
        | ipaddress.IPv6Network,
    ):
        return str(obj)
    raise TypeError(f"cannot convert {type(obj).__name__} to JSON data")
