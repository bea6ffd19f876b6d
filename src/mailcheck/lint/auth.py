"""Authentication and unsubscribe rules, read from the message alone (no DNS).

DKIM: a ``DKIM-Signature`` is present, parses, and one ``d=`` is aligned with the From
domain (RFC 9989 §4.4.1, relaxed by the Public Suffix List or strict). SPF: the envelope
sender's domain (``mail_from``, else Return-Path) is aligned (§4.4.2). One-click
unsubscribe (RFC 8058): an https URI in List-Unsubscribe, ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click``, both covered by a DKIM signature's ``h=``.

Whether the signatures *verify* needs the keys in DNS: ``mailcheck verify`` does that.
"""

from __future__ import annotations

import dataclasses
import re

from mailcheck import codes
from mailcheck.errors import ParseError
from mailcheck.lint.message import RawMessage
from mailcheck.lookup.domains import normalize_domain, organizational_domain_psl
from mailcheck.model import Finding
from mailcheck.taglist import parse_tag_list

# RFC 6376 §3.5: v, a, b, bh, d, h, s are REQUIRED tags.
REQUIRED_DKIM_TAGS = ("v", "a", "b", "bh", "d", "h", "s")
# RFC 8058 §3.1: "The List-Unsubscribe-Post header field MUST contain the single key/value
# pair "List-Unsubscribe=One-Click"."
ONE_CLICK = "List-Unsubscribe=One-Click"
UNSUBSCRIBE_FIELDS = ("list-unsubscribe", "list-unsubscribe-post")
_URI = re.compile(r"<([^<>]*)>")
_SUBJECT = "message"


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """What the lint reads from one DKIM-Signature: ``d=`` and the names ``h=`` signs."""

    domain: str
    signed: frozenset[str]


@dataclasses.dataclass(frozen=True, slots=True)
class AuthFacts:
    """The domains involved: From, each d=, the envelope sender's."""

    from_domain: str | None
    signatures: tuple[Signature, ...]
    spf_domain: str | None
    malformed: int = 0
    """DKIM-Signature fields that do not parse (``lint.dkim-malformed`` says so)."""


def domain_of(address: str | None) -> str | None:
    """The normalised domain of an address, or ``None`` (no @, a bad domain, a null path)."""
    if not address or "@" not in address:
        return None
    try:
        return normalize_domain(address.rpartition("@")[2].strip().strip(">"))
    except ParseError:
        return None


def read_signatures(message: RawMessage) -> tuple[tuple[Signature, ...], list[Finding]]:
    """The usable DKIM signatures and a finding for those that do not parse."""
    signatures: list[Signature] = []
    bad: list[dict[str, object]] = []
    for field in message.get_all("dkim-signature"):
        try:
            tags = {name: value for name, value, _ in parse_tag_list(field.value)}
            missing = [t for t in REQUIRED_DKIM_TAGS if t not in tags]
            if missing:
                raise ParseError(field.value, 0, f"no {', '.join(t + '=' for t in missing)}")
            signed = frozenset(h.strip().lower() for h in tags["h"].split(":"))
            if "from" not in signed:
                # RFC 6376 §5.4: "The From header field MUST be signed".
                raise ParseError(field.value, 0, "h= does not sign From")
            signatures.append(Signature(normalize_domain(tags["d"]), signed))
        except ParseError as exc:
            bad.append({"line": field.line, "reason": exc.reason})
    if not bad:
        return tuple(signatures), []
    finding = codes.LINT_DKIM_MALFORMED.finding(
        _SUBJECT,
        f"{len(bad)} DKIM-Signature field(s) do not parse (first: {bad[0]['reason']}).",
        details={"signatures": bad[:20]},
        fix="Sign with a DKIM library (mailcheck dkim sign, OpenDKIM, rspamd); do not edit "
        "the field after signing.",
    )
    return tuple(signatures), [finding]


def envelope_domain(message: RawMessage, mail_from: str | None) -> str | None:
    """The SPF identity's domain: ``mail_from`` when given, else the Return-Path."""
    if mail_from is not None:
        return domain_of(mail_from)
    field = message.first("return-path")
    return domain_of(field.value.strip("<> \t")) if field is not None else None


def is_aligned(domain: str, from_domain: str, mode: str) -> bool:
    """RFC 9989 §4.4: strict = the same name; relaxed = the same organisational domain.

    Offline, the organisational domain comes from the Public Suffix List (RFC 7489 §3.2).
    """
    if mode == "s":
        return domain == from_domain
    return domain == from_domain or organizational_domain_psl(domain) == (
        organizational_domain_psl(from_domain)
    )


def check_alignment(facts: AuthFacts, *, adkim: str = "r", aspf: str = "r") -> list[Finding]:
    """DKIM present and aligned, SPF domain aligned, and at least one of them aligned.

    Without a From domain nothing is judged (``lint.from-*`` says why). Without an
    envelope sender SPF alignment is not judged, nor is ``lint.not-aligned``.
    """
    findings: list[Finding] = []
    if not facts.signatures and not facts.malformed:
        findings.append(
            codes.LINT_DKIM_MISSING.finding(
                _SUBJECT,
                "The message has no DKIM signature: bulk senders must sign with DKIM.",
                fix="Sign outgoing mail with a key of the From domain (mailcheck dkim sign).",
            )
        )
    if facts.from_domain is None:
        return findings
    from_domain = facts.from_domain
    dkim_aligned = any(is_aligned(s.domain, from_domain, adkim) for s in facts.signatures)
    if facts.signatures and not dkim_aligned:
        findings.append(
            codes.LINT_DKIM_NOT_ALIGNED.finding(
                _SUBJECT,
                f"No DKIM signature is by {from_domain} (d= "
                f"{', '.join(s.domain for s in facts.signatures)}).",
                details={
                    "from_domain": from_domain,
                    "mode": adkim,
                    "dkim_domains": [s.domain for s in facts.signatures],
                },
                fix=f"Sign with a key published under {from_domain} (d={from_domain}).",
            )
        )
    if facts.spf_domain is None:
        return findings
    spf_aligned = is_aligned(facts.spf_domain, from_domain, aspf)
    if not spf_aligned:
        findings.append(
            codes.LINT_SPF_NOT_ALIGNED.finding(
                _SUBJECT,
                f"The envelope sender's domain {facts.spf_domain} is not aligned with "
                f"{from_domain}.",
                details={
                    "from_domain": from_domain,
                    "spf_domain": facts.spf_domain,
                    "mode": aspf,
                },
                fix=f"Use a bounce address under {from_domain} (bounces.{from_domain}).",
            )
        )
    if not spf_aligned and not dkim_aligned:
        findings.append(
            codes.LINT_NOT_ALIGNED.finding(
                _SUBJECT,
                "Neither the DKIM domain nor the SPF domain is aligned with the From "
                f"domain {from_domain}: DMARC cannot pass.",
                details={"from_domain": from_domain},
                fix=f"Sign with d={from_domain} (the durable fix: DKIM survives forwarding).",
            )
        )
    return findings


def check_unsubscribe(message: RawMessage, signatures: tuple[Signature, ...]) -> list[Finding]:
    """RFC 8058 one-click unsubscribe, as Gmail and Yahoo require of bulk mail."""
    field = message.first("list-unsubscribe")
    if field is None:
        return [
            codes.LINT_UNSUBSCRIBE_MISSING.finding(
                _SUBJECT,
                "The message has no List-Unsubscribe field: bulk mail must offer one-click "
                "unsubscribe.",
                fix="Add List-Unsubscribe: <https://example.org/u/TOKEN> and "
                f"List-Unsubscribe-Post: {ONE_CLICK}, and sign both with DKIM.",
            )
        ]
    findings: list[Finding] = []
    uris = _URI.findall(field.value)
    if not any(u.strip().lower().startswith("https://") for u in uris):
        findings.append(
            codes.LINT_UNSUBSCRIBE_NOT_HTTPS.finding(
                _SUBJECT,
                "List-Unsubscribe has no https URI: one-click unsubscribe needs one.",
                details={"uris": [u[:200] for u in uris[:5]]},
                fix="Add an https URI in angle brackets: <https://example.org/u/TOKEN>.",
            )
        )
    posts = message.get_all("list-unsubscribe-post")
    if len(posts) != 1 or posts[0].value != ONE_CLICK:
        findings.append(
            codes.LINT_UNSUBSCRIBE_POST_INVALID.finding(
                _SUBJECT,
                f"The message needs exactly one 'List-Unsubscribe-Post: {ONE_CLICK}' field.",
                details={"values": [p.value[:200] for p in posts[:5]]},
                fix=f"Add List-Unsubscribe-Post: {ONE_CLICK}.",
            )
        )
    if posts and not any(set(UNSUBSCRIBE_FIELDS) <= s.signed for s in signatures):
        # RFC 8058 §4: "a valid DKIM signature ... MUST cover at least the
        # List-Unsubscribe and List-Unsubscribe-Post header fields".
        findings.append(
            codes.LINT_UNSUBSCRIBE_NOT_SIGNED.finding(
                _SUBJECT,
                "No DKIM signature covers both List-Unsubscribe and List-Unsubscribe-Post: "
                "receivers ignore the one-click unsubscribe.",
                fix="Add both fields before signing, and list them in h= "
                "(mailcheck's DkimSigner does by default).",
            )
        )
    return findings
