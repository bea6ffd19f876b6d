"""The message lint with DNS: :func:`lint_message` adds to :func:`lint_offline` the From
domain's DMARC policy, the DKIM signatures verified, and, given the sending IP, its reverse
DNS and the SPF result. Its blocking twin, ``lint_message_sync``, is in
:mod:`mailcheck.sync_more` with the other packages' twins.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailcheck.errors import ConfigError
from mailcheck.lint import network
from mailcheck.lint.judge import build_report
from mailcheck.lint.offline import as_bytes, envelope_sender, offline_findings
from mailcheck.lint.profiles import DEFAULT_PROFILES, ProfileSet
from mailcheck.lint.types import LintReport
from mailcheck.lookup.resolver import Resolver
from mailcheck.reputation.rdns import parse_ip


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
    data = as_bytes(raw)
    selected = (profile_set or ProfileSet.builtin()).select(tuple(profiles))
    if ip is not None and resolver is None:
        raise ConfigError("lint_message: checking an ip needs a resolver")
    address = str(parse_ip(ip)) if ip is not None else None
    findings, facts, envelope = offline_findings(data, mail_from, "r", "r")
    missing = set(envelope)
    if address is None:
        missing |= {"ip", "ip+envelope"}
    if resolver is None:
        return build_report(findings, selected, facts, missing=frozenset({*missing, "dns"}))
    sender = envelope_sender(data, mail_from)
    if sender is None:
        missing.add("ip+envelope")
    checks = await network.run_checks(data, facts, ip=address, sender=sender, resolver=resolver)
    record = checks.dmarc_record
    if record is not None and (record.adkim, record.aspf) not in ((None, None), ("r", "r")):
        # The domain's own alignment modes (RFC 9989 adkim/aspf) replace the relaxed default.
        adkim, aspf = record.adkim or "r", record.aspf or "r"
        findings, facts, _ = offline_findings(data, mail_from, adkim, aspf)
    else:
        adkim = "r"
    extra = network.dkim_findings(checks.dkim, facts, adkim)
    return build_report(
        [*findings, *checks.findings, *extra], selected, facts, missing=frozenset(missing)
    )
