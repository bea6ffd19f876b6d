"""The message lint: :func:`lint_offline` (no DNS, for the Sender at submission) and
:func:`lint_message` (adds the From domain's DMARC policy and, given the sending IP, its
reverse DNS and the SPF result).
"""

from __future__ import annotations

from collections.abc import Sequence

from mailcheck import codes
from mailcheck.errors import ConfigError
from mailcheck.lint import auth, mime, network, rfc5322
from mailcheck.lint.judge import build_report
from mailcheck.lint.message import MAX_MESSAGE_BYTES, read_message
from mailcheck.lint.profiles import DEFAULT_PROFILES, ProfileSet
from mailcheck.lint.types import LintFacts, LintReport
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import Finding
from mailcheck.reputation.rdns import parse_ip

_SUBJECT = "message"


def lint_offline(
    raw: bytes,
    /,
    *,
    profiles: Sequence[str] = DEFAULT_PROFILES,
    mail_from: str | None = None,
    profile_set: ProfileSet | None = None,
    adkim: str = "r",
    aspf: str = "r",
) -> LintReport:
    """Lint a message without DNS: RFC 5322, MIME, DKIM presence and alignment, SPF
    alignment, one-click unsubscribe. Pure and synchronous: about 0.4 ms for a 24 KB
    newsletter (bench/bench_lint.py).

    Rules that need DNS or the sending IP are listed in each verdict's ``not_checked``.

    Args:
        raw: the whole message (CRLF or LF line endings).
        profiles: profile names (``baseline``, ``gmail-bulk``, ``yahoo-bulk``,
            ``microsoft-bulk``, or a name from ``profile_set``).
        mail_from: the envelope sender (the SPF identity); default: the Return-Path field.
        profile_set: where the names are looked up (default: the built-in profiles).
        adkim, aspf: alignment modes, ``r`` (relaxed, the default) or ``s`` (strict).

    Returns:
        The report: per profile ``accepted``, ``at-risk`` or ``rejected``, and findings.

    Raises:
        ConfigError: ``raw`` is not bytes, an unknown profile, a bad alignment mode.

    Example:
        >>> report = lint_offline(raw, profiles=("gmail-bulk",))  # doctest: +SKIP
        >>> report.summary                                        # doctest: +SKIP
        ('Gmail (gmail-bulk): would be rejected',)
    """
    selected = (profile_set or ProfileSet.builtin()).select(tuple(profiles))
    findings, facts, missing = _offline_findings(_bytes(raw), mail_from, adkim, aspf)
    return build_report(findings, selected, facts, missing=missing | {"ip", "dns", "ip+envelope"})


async def lint_message(
    raw: bytes,
    /,
    *,
    profiles: Sequence[str] = DEFAULT_PROFILES,
    mail_from: str | None = None,
    ip: str | None = None,
    resolver: Resolver | None = None,
    profile_set: ProfileSet | None = None,
) -> LintReport:
    """Lint a message as the big receivers would before it is sent.

    Everything :func:`lint_offline` checks, plus, with a ``resolver``, the From domain's
    DMARC policy (whose ``adkim``/``aspf`` then set the alignment modes) and whether the
    DKIM signatures verify, and, with an ``ip``, the IP's forward-confirmed reverse DNS
    and the SPF result for the envelope sender. A DNS failure is "could not check"
    (``lint.temperror``, ``rdns.temperror``): the profiles it concerns say ``unknown``,
    never ``rejected``.

    Raises:
        ConfigError: ``ip`` without a ``resolver``, an unknown profile, ``raw`` not bytes.
        ParseError: ``ip`` is not an IP address.
    """
    data = _bytes(raw)
    selected = (profile_set or ProfileSet.builtin()).select(tuple(profiles))
    if ip is not None and resolver is None:
        raise ConfigError("lint_message: checking an ip needs a resolver")
    address = str(parse_ip(ip)) if ip is not None else None
    findings, facts, envelope = _offline_findings(data, mail_from, "r", "r")
    missing = set(envelope)
    if address is None:
        missing |= {"ip", "ip+envelope"}
    if resolver is None:
        return build_report(findings, selected, facts, missing=frozenset({*missing, "dns"}))
    sender = _sender(data, mail_from)
    if sender is None:
        missing.add("ip+envelope")
    checks = await network.run_checks(data, facts, ip=address, sender=sender, resolver=resolver)
    record = checks.dmarc_record
    if record is not None and (record.adkim, record.aspf) not in ((None, None), ("r", "r")):
        # The domain's own alignment modes (RFC 9989 adkim/aspf) replace the relaxed default.
        adkim, aspf = record.adkim or "r", record.aspf or "r"
        findings, facts, _ = _offline_findings(data, mail_from, adkim, aspf)
    else:
        adkim = "r"
    extra = network.dkim_findings(checks.dkim, facts, adkim)
    return build_report(
        [*findings, *checks.findings, *extra], selected, facts, missing=frozenset(missing)
    )


def _bytes(raw: object) -> bytes:
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    raise ConfigError(f"a message to lint is bytes, not {type(raw).__name__}")


def _envelope_missing(facts: LintFacts) -> frozenset[str]:
    return frozenset() if facts.spf_domain else frozenset({"envelope"})


def _offline_findings(
    raw: bytes, mail_from: str | None, adkim: str, aspf: str
) -> tuple[list[Finding], LintFacts, frozenset[str]]:
    """Every finding that needs no DNS, the facts, and the inputs missing (``envelope``)."""
    if adkim not in ("r", "s") or aspf not in ("r", "s"):
        raise ConfigError("alignment modes are 'r' (relaxed) or 's' (strict)")
    unreadable = _unreadable(raw)
    if unreadable is not None:
        return [unreadable], LintFacts(size=len(raw)), frozenset({"envelope"})
    message = read_message(raw)
    findings = rfc5322.check_structure(message)
    address_findings, from_address = rfc5322.check_addresses(message)
    findings += address_findings
    findings += rfc5322.check_dates_and_ids(message)
    findings += rfc5322.check_lines(message, raw)
    findings += rfc5322.check_header_eight_bit(message)
    findings += mime.check_mime(message)
    signatures, dkim_findings = auth.read_signatures(message)
    findings += dkim_findings
    from_domain = auth.domain_of(from_address)
    spf_domain = auth.envelope_domain(message, mail_from)
    auth_facts = auth.AuthFacts(from_domain, signatures, spf_domain)
    findings += auth.check_alignment(auth_facts, adkim=adkim, aspf=aspf)
    findings += auth.check_unsubscribe(message, signatures)
    lint_facts = LintFacts(
        from_domain=from_domain,
        dkim_domains=tuple(s.domain for s in signatures),
        spf_domain=spf_domain,
        size=len(raw),
        bulk=message.first("list-unsubscribe") is not None or message.first("list-id") is not None,
    )
    return findings, lint_facts, _envelope_missing(lint_facts)


def _unreadable(raw: bytes) -> Finding | None:
    reason = None
    if len(raw) > MAX_MESSAGE_BYTES:
        reason = f"larger than {MAX_MESSAGE_BYTES} bytes"
    elif not raw.strip():
        reason = "empty"
    elif raw.startswith((b"\r\n", b"\n")) or not read_message(raw[:4096]).fields:
        reason = "no header fields"
    if reason is None:
        return None
    return codes.LINT_UNREADABLE.finding(
        _SUBJECT,
        f"The message cannot be read as a message ({reason}).",
        details={"reason": reason, "size": len(raw)},
        fix="Give the whole message as it will be sent: header fields, a blank line, the body.",
    )


def _sender(raw: bytes, mail_from: str | None) -> str | None:
    if mail_from is not None:
        return mail_from.strip() or None
    field = read_message(raw).first("return-path")
    value = field.value.strip("<> \t") if field is not None else ""
    return value if "@" in value else None
