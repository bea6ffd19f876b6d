"""Pure lint of an SPF tree: facts in, findings out (no I/O)."""

from __future__ import annotations

import dataclasses
import ipaddress

from mailcheck import codes
from mailcheck.model import Finding, Severity
from mailcheck.spf.record import Mechanism, Qualifier, SpfRecord
from mailcheck.spf.tree import SpfInclude, SpfTerm, SpfTree

# RFC 7208 §4.6.4: "SPF implementations MUST limit the total number of those terms to 10".
MAX_LOOKUPS = 10
# RFC 7208 §4.6.4: "SPF implementations SHOULD limit "void lookups" to two".
MAX_VOID_LOOKUPS = 2
# RFC 7208 §4.6.4: "the evaluation of each "MX" record MUST NOT result in querying more than
# 10 address records".
MAX_MX_HOSTS = 10
# RFC 7208 §3.3: "a single text DNS record ... [is] composed of more than one string"; RFC 1035
# §3.3: a character-string is at most 255 octets.
MAX_STRING = 255
# RFC 7208 §3.4: the record should fit a 512-byte UDP answer (RFC 1035 §2.3.4).
MAX_UDP_ANSWER = 512
# Prefixes broader than these authorise a large share of an address family.
BROAD_PREFIX = {4: 16, 6: 32}
VERY_BROAD_PREFIX = {4: 8, 6: 16}


def record_findings(domain: str, root: SpfInclude) -> list[Finding]:
    """Findings about the domain's own TXT answer: presence, count, syntax, sizes."""
    findings: list[Finding] = []
    if root.status == "missing":
        return [
            codes.SPF_MISSING.finding(
                domain,
                f"{domain} publishes no SPF record.",
                fix=f'{domain}. IN TXT "v=spf1 mx ~all"',
            )
        ]
    if root.status == "multiple":
        merged = " ".join(
            dict.fromkeys(["v=spf1", *(w for r in root._records for w in r.split()[1:])])
        )
        findings.append(
            codes.SPF_MULTIPLE_RECORDS.finding(
                domain,
                f"{domain} publishes {len(root._records)} SPF records: receivers get permerror.",
                details={"records": list(root._records)},
                fix=merged,
            )
        )
    if root._answer is not None:
        findings += _size_findings(domain, root)
    return findings


def _size_findings(domain: str, root: SpfInclude) -> list[Finding]:
    assert root._answer is not None
    chunks = root._answer.text_chunks()
    findings: list[Finding] = []
    long = [len(chunk) for record in chunks for chunk in record if len(chunk) > MAX_STRING]
    if long:
        findings.append(
            codes.SPF_STRING_TOO_LONG.finding(
                domain,
                f"A TXT string at {domain} is {max(long)} bytes; DNS allows {MAX_STRING}.",
                details={"lengths": long, "limit": MAX_STRING},
            )
        )
    # Header 12, question (name + 2 + 4), each RR: compressed name 2, fixed 10, RDATA.
    size = 12 + len(domain) + 2 + 4
    size += sum(12 + sum(1 + len(chunk) for chunk in record) for record in chunks)
    if root._records and size > MAX_UDP_ANSWER:
        findings.append(
            codes.SPF_RECORD_TOO_LONG.finding(
                domain,
                f"The TXT answer of {domain} is about {size} bytes; UDP answers hold 512.",
                details={"size": size, "limit": MAX_UDP_ANSWER},
            )
        )
    return findings


def tree_findings(domain: str, tree: SpfTree) -> list[Finding]:
    """Findings about the whole tree: limits, loops, missing targets, and each record's terms."""
    findings = _limit_findings(domain, tree)
    for node in tree.nodes():
        findings += _node_findings(domain, node, tree)
    return findings


def _limit_findings(domain: str, tree: SpfTree) -> list[Finding]:
    findings: list[Finding] = []
    lookups = len(tree.terms)
    if lookups > MAX_LOOKUPS:
        findings.append(
            codes.SPF_LOOKUP_LIMIT.finding(
                domain,
                f"The SPF tree of {domain} has {lookups} DNS-querying terms; the limit is 10.",
                details={"lookups": lookups, "limit": MAX_LOOKUPS, "terms": _named(tree.terms)},
                fix=_flattened(tree),
            )
        )
    voids = [term for term in tree.terms if term.void]
    if len(voids) > MAX_VOID_LOOKUPS:
        findings.append(
            codes.SPF_VOID_LOOKUP_LIMIT.finding(
                domain,
                f"{len(voids)} terms of the SPF tree of {domain} find nothing; the limit is 2.",
                details={
                    "void_lookups": len(voids),
                    "limit": MAX_VOID_LOOKUPS,
                    "terms": _named(voids),
                },
            )
        )
    for term in tree.terms:
        if term.mx_hosts is not None and term.mx_hosts > MAX_MX_HOSTS:
            findings.append(
                codes.SPF_MX_TOO_MANY_HOSTS.finding(
                    term.domain,
                    f"'{term.term}' names {term.mx_hosts} MX hosts; the limit is 10.",
                    details={"term": term.term, "hosts": term.mx_hosts, "limit": MAX_MX_HOSTS},
                )
            )
    return findings


def _named(terms: list[SpfTerm] | tuple[SpfTerm, ...]) -> list[dict[str, str]]:
    return [{"domain": t.domain, "term": t.term} for t in terms]


def _flattened(tree: SpfTree) -> str | None:
    """A record listing the tree's networks, when every term was resolved to networks."""
    if any(not t.resolved or t.mechanism in ("ptr", "exists") for t in tree.terms):
        return None
    if any(n.status != "ok" for n in tree.nodes()) or tree.temperrors:
        return None
    root = tree.root._parsed
    ending = root.all.to_text() if root is not None and root.all is not None else "~all"
    return " ".join(["v=spf1", *(f"ip{_version(n)}:{n}" for n in tree.networks), ending])


def _version(network: str) -> int:
    return ipaddress.ip_network(network).version


def _node_findings(domain: str, node: SpfInclude, tree: SpfTree) -> list[Finding]:
    subject = node.domain
    if node.status == "syntax-error":
        return [
            codes.SPF_SYNTAX_ERROR.finding(
                subject,
                f"The SPF record of {subject} does not parse: {node.error}.",
                details={"domain": subject, "record": node.record, "error": node.error},
            )
        ]
    if node.mechanism != "top":
        return _target_findings(domain, node, tree)
    return _record_lint(node)


def _target_findings(domain: str, node: SpfInclude, tree: SpfTree) -> list[Finding]:
    if node.status == "loop":
        return [
            codes.SPF_INCLUDE_LOOP.finding(
                node.domain,
                f"{node.mechanism} of {node.domain} leads back to a record on its own path.",
                details={"target": node.domain, "mechanism": node.mechanism},
            )
        ]
    if node.status in ("missing", "multiple"):
        return [
            codes.SPF_INCLUDE_MISSING.finding(
                node.domain,
                f"The {node.mechanism} target {node.domain} has no single SPF record.",
                details={"target": node.domain, "mechanism": node.mechanism, "status": node.status},
                fix=_without_target(tree, node.domain),
            )
        ]
    return _record_lint(node) if node.status == "ok" else []


def _without_target(tree: SpfTree, target: str) -> str | None:
    for parent in tree.nodes():
        if parent._parsed is not None and any(c.domain == target for c in parent.includes):
            kept = [
                t
                for t in parent._parsed.terms
                if not t.to_text().lower().endswith((f"include:{target}", f"redirect={target}"))
            ]
            return SpfRecord(terms=tuple(kept)).to_text()
    return None


def _record_lint(node: SpfInclude) -> list[Finding]:
    record = node._parsed
    if record is None:
        return []
    findings = _all_findings(node, record)
    subject = node.domain
    if any(m.kind == "ptr" for m in record.mechanisms):
        kept = tuple(t for t in record.terms if not (isinstance(t, Mechanism) and t.kind == "ptr"))
        findings.append(
            codes.SPF_PTR.finding(
                subject,
                f"The SPF record of {subject} uses the deprecated ptr mechanism.",
                details={"domain": subject},
                fix=SpfRecord(terms=kept).to_text(),
            )
        )
    findings += _broad_findings(subject, record)
    if record.redirect is not None and record.all is not None:
        kept = tuple(t for t in record.terms if getattr(t, "name", None) != "redirect")
        findings.append(
            codes.SPF_REDIRECT_WITH_ALL.finding(
                subject,
                f"The SPF record of {subject} has redirect= and all: the redirect is ignored.",
                details={"domain": subject, "redirect": record.redirect},
                fix=SpfRecord(terms=kept).to_text(),
            )
        )
    return findings


def _all_findings(node: SpfInclude, record: SpfRecord) -> list[Finding]:
    subject, final = node.domain, record.all
    if final is not None and final.qualifier is Qualifier.PASS:
        return [
            codes.SPF_PASS_ALL.finding(
                subject,
                f"The SPF record of {subject} ends in '{final.to_text()}': every host passes.",
                details={"domain": subject, "mechanism": node.mechanism},
                fix=_replace_all(record, Qualifier.SOFTFAIL),
            )
        ]
    if node.mechanism == "include":
        return []
    if final is not None and final.qualifier is Qualifier.NEUTRAL:
        return [
            codes.SPF_NEUTRAL_ALL.finding(
                subject,
                f"The SPF record of {subject} ends in '?all': unlisted hosts are neutral.",
                details={"domain": subject},
                fix=_replace_all(record, Qualifier.SOFTFAIL),
            )
        ]
    if final is None and record.redirect is None:
        ending = Mechanism(kind="all", qualifier=Qualifier.SOFTFAIL, explicit_qualifier=True)
        return [
            codes.SPF_NO_ALL.finding(
                subject,
                f"The SPF record of {subject} has no all mechanism: the default is neutral.",
                details={"domain": subject},
                fix=SpfRecord(terms=(*record.terms, ending)).to_text(),
            )
        ]
    return []


def _replace_all(record: SpfRecord, qualifier: Qualifier) -> str:
    terms = tuple(
        dataclasses.replace(t, qualifier=qualifier, explicit_qualifier=True)
        if isinstance(t, Mechanism) and t.kind == "all"
        else t
        for t in record.terms
    )
    return SpfRecord(terms=terms).to_text()


def _broad_findings(subject: str, record: SpfRecord) -> list[Finding]:
    findings: list[Finding] = []
    for mechanism in record.mechanisms:
        prefixes = _prefixes(mechanism)
        for version, prefix in prefixes:
            if prefix >= BROAD_PREFIX[version]:
                continue
            very = prefix < VERY_BROAD_PREFIX[version]
            findings.append(
                codes.SPF_BROAD_NETWORK.finding(
                    subject,
                    f"'{mechanism.to_text()}' authorises a /{prefix} IPv{version} range.",
                    details={"domain": subject, "term": mechanism.to_text(), "prefix": prefix},
                    severity=Severity.ERROR if very else None,
                )
            )
    return findings


def _prefixes(mechanism: Mechanism) -> list[tuple[int, int]]:
    if mechanism.kind == "ip4" and mechanism.cidr4 is not None:
        return [(4, mechanism.cidr4)]
    if mechanism.kind == "ip6" and mechanism.cidr6 is not None:
        return [(6, mechanism.cidr6)]
    if mechanism.kind in ("a", "mx"):
        found = [(4, mechanism.cidr4), (6, mechanism.cidr6)]
        return [(version, prefix) for version, prefix in found if prefix is not None]
    return []
