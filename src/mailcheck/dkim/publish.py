"""Is the key published, and how to rotate it: ``check_published`` and the rotation plan.

``check_published`` is what a control panel runs after the user says "I
published it": it fetches ``selector._domainkey.domain`` through our resolver
and compares the record with the private key. DNS failure is
``dkim.temperror`` (status unknown), never "missing".

Rotation, as ``docs/dkim.md`` describes it step by step::

    new_key = generate_key("rsa")
    plan = plan_rotation("example.org", new_key, old_selector="202605")
    # 1. publish plan.new_record; 2. wait until check_published(...) passes and
    #    plan.switch_after has come; 3. sign with plan.new_selector;
    # 4. after plan.revoke_after, publish plan.revoke_record and delete the old key.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Iterable

from mailcheck import codes
from mailcheck.dkim.keys import (
    DEFAULT_RECORD_TTL,
    DkimDnsRecord,
    DkimKey,
    KeyType,
    key_record_value,
)
from mailcheck.dkim.names import normalize_selector, normalize_signing_domain, record_name
from mailcheck.dkim.record import DkimKeyRecord, parse_dkim_key, rsa_public_key
from mailcheck.errors import ParseError, TempError
from mailcheck.lookup import Resolver
from mailcheck.model import CheckResult, CheckStatus, Finding, sort_findings, status_of

# How long signatures made with the old key stay in flight (queues, retries, greylisting)
# before its record is revoked: a week covers the usual 5-day retry limit of MTAs.
DEFAULT_GRACE = dt.timedelta(days=7)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PublishedKeyCheck(CheckResult):
    """What DNS holds at the selector, against the private key.

    Attributes:
        domain: the signing domain.
        selector: the selector.
        name: ``selector._domainkey.domain``.
        record: the record found (the first DKIM one), or ``None``.
        matches: the record holds this key's public key (``None``: could not tell).
        revoked: the record has an empty ``p=``.
        testing: the record has ``t=y``.
        expected: the record to publish for this key.
    """

    domain: str
    selector: str
    name: str
    record: str | None = None
    matches: bool | None = None
    revoked: bool = False
    testing: bool = False
    expected: DkimDnsRecord


async def check_published(
    domain: str, selector: str, key: DkimKey, /, *, resolver: Resolver
) -> PublishedKeyCheck:
    """Fetch the key record and compare it with ``key``.

    Findings: ``dkim.not-published``, ``dkim.key-invalid``, ``dkim.key-revoked``,
    ``dkim.key-mismatch``, ``dkim.sha1-only``, ``dkim.key-weak``, ``dkim.key-testing``,
    ``dkim.temperror``.

    Raises:
        ParseError: ``domain`` or ``selector`` is not a valid name.
    """
    domain = normalize_signing_domain(domain)
    name = record_name(selector, domain)
    expected = key.dns_record(selector, domain)
    base = PublishedKeyCheck(
        status=CheckStatus.UNKNOWN, domain=domain, selector=selector, name=name, expected=expected
    )
    try:
        answer = await resolver.query(name, "TXT")
    except TempError as exc:
        finding = codes.DKIM_TEMPERROR.finding(
            name, f"{name}: DNS could not answer ({exc.reason})", details={"reason": exc.reason}
        )
        return dataclasses.replace(base, findings=(finding,))
    texts = answer.texts() if answer.ok else ()
    return _judge(base, texts, key)


def _judge(base: PublishedKeyCheck, texts: tuple[str, ...], key: DkimKey) -> PublishedKeyCheck:
    fix = base.expected.zone_line()
    parsed = _first_key_record(texts)
    if parsed is None:
        looks_dkim = [t for t in texts if "p=" in t or t.lstrip().lower().startswith("v=dkim1")]
        code = codes.DKIM_KEY_INVALID if looks_dkim else codes.DKIM_NOT_PUBLISHED
        finding = code.finding(
            base.name,
            f"{base.name}: " + ("the record is not a DKIM key" if looks_dkim else "no key record"),
            details={"records": list(texts)},
            fix=fix,
        )
        result = dataclasses.replace(base, record=looks_dkim[0] if looks_dkim else None)
        return _finish(result, (finding,))
    record, text = parsed
    findings: list[Finding] = []
    matches: bool | None = None
    if record.key_error is not None:
        findings.append(
            codes.DKIM_KEY_INVALID.finding(
                base.name,
                f"{base.name}: the published key cannot be used ({record.key_error})",
                details={"reason": record.key_error},
                fix=fix,
            )
        )
        matches = False
    elif record.revoked:
        findings.append(
            codes.DKIM_KEY_REVOKED.finding(base.name, f"{base.name}: the key is revoked", fix=fix)
        )
    else:
        matches = _same_key(record, key)
        if not matches:
            findings.append(
                codes.DKIM_KEY_MISMATCH.finding(
                    base.name,
                    f"{base.name}: the published key is not this key's public key",
                    details={"expected_fingerprint": key.fingerprint},
                    fix=fix,
                )
            )
    if record.hash_algorithms and "sha256" not in record.hash_algorithms:
        findings.append(
            codes.DKIM_SHA1_ONLY.finding(
                base.name, f"{base.name}: h= does not allow sha256", fix=fix
            )
        )
    if key.weak:
        findings.append(
            codes.DKIM_KEY_WEAK.finding(
                base.name,
                f"{base.name}: a {key.bits}-bit RSA key; use 2048 bits or more",
                details={"bits": key.bits},
            )
        )
    if record.testing:
        findings.append(
            codes.DKIM_KEY_TESTING.finding(
                base.name, f"{base.name}: the key is in testing mode (t=y)", fix=fix
            )
        )
    result = dataclasses.replace(
        base, record=text, matches=matches, revoked=record.revoked, testing=record.testing
    )
    return _finish(result, tuple(findings))


def _finish(result: PublishedKeyCheck, findings: tuple[Finding, ...]) -> PublishedKeyCheck:
    ordered = sort_findings(findings)
    return dataclasses.replace(result, status=status_of(ordered), findings=ordered)


def _first_key_record(texts: Iterable[str]) -> tuple[DkimKeyRecord, str] | None:
    for text in texts:
        try:
            return parse_dkim_key(text), text
        except ParseError:
            continue
    return None


def _same_key(record: DkimKeyRecord, key: DkimKey) -> bool:
    if record.key_type != key.type.value:
        return False
    mine = base64.b64decode(key.public_key_b64)
    if record.public_key_bytes == mine or key.type is KeyType.ED25519:
        return record.public_key_bytes == mine
    theirs, ours = rsa_public_key(record.public_key_bytes), rsa_public_key(mine)
    return (
        theirs is not None
        and ours is not None
        and (theirs.public_numbers() == ours.public_numbers())
    )


def rotation_selector(
    when: dt.date | None = None, /, *, prefix: str = "", taken: Iterable[str] = ()
) -> str:
    """A date-based selector, ``YYYYMM`` (``202611``), made unique against ``taken``.

    A second rotation in the same month gets a letter: ``202611b``, ``202611c``...

    Raises:
        ParseError: ``prefix`` makes it an invalid selector.
    """
    day = when or dt.datetime.now(dt.UTC).date()
    base = normalize_selector(f"{prefix}{day.year:04d}{day.month:02d}")
    used = {t.lower() for t in taken}
    if base not in used:
        return base
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if base + letter not in used:
            return base + letter
    raise ValueError(f"no free selector left for {base}")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RotationPlan:
    """The steps of one key rotation (see ``docs/dkim.md``).

    Attributes:
        domain: the signing domain.
        new_selector: the selector of the new key.
        new_record: step 1, publish this.
        switch_after: step 3, sign with the new key from then on (publication + TTL).
        old_selector: the selector being retired, if any.
        revoke_record: step 4, publish this over the old record (empty ``p=``).
        revoke_after: step 4 from then on (switch + grace).
    """

    domain: str
    new_selector: str
    new_record: DkimDnsRecord
    switch_after: dt.datetime
    old_selector: str | None = None
    revoke_record: DkimDnsRecord | None = None
    revoke_after: dt.datetime | None = None


def plan_rotation(
    domain: str,
    new_key: DkimKey,
    /,
    *,
    old_selector: str | None = None,
    old_key_type: KeyType | None = None,
    now: dt.datetime | None = None,
    ttl: int = DEFAULT_RECORD_TTL,
    grace: dt.timedelta = DEFAULT_GRACE,
    prefix: str = "",
) -> RotationPlan:
    """Plan a rotation to ``new_key``: the new selector, the records and the dates.

    Args:
        domain: the signing domain.
        new_key: the key to rotate to (already generated and saved).
        old_selector: the selector in use now, to be revoked at the end.
        old_key_type: the type of the old key (default: the new key's type).
        now: when the new record is published (default: now, UTC).
        ttl: the longest TTL that may hide the new record from receivers (the new
            record's TTL, or the zone's negative TTL if the name was queried before).
        grace: how long the old key stays published after the switch.
        prefix: a selector prefix (``mc`` -> ``mc202611``).

    Raises:
        ParseError: ``domain``, ``old_selector`` or the prefixed selector is not valid.
    """
    domain = normalize_signing_domain(domain)
    if old_selector is not None:
        normalize_selector(old_selector)
    start = now or dt.datetime.now(dt.UTC)
    taken = [old_selector] if old_selector else []
    selector = rotation_selector(start.date(), prefix=prefix, taken=taken)
    switch = start + dt.timedelta(seconds=ttl)
    revoke = None
    if old_selector:
        kind = old_key_type or new_key.type
        revoke = DkimDnsRecord(
            name=record_name(old_selector, domain),
            value=key_record_value(kind, ""),
            ttl=ttl,
        )
    return RotationPlan(
        domain=domain,
        new_selector=selector,
        new_record=new_key.dns_record(selector, domain, ttl=ttl),
        switch_after=switch,
        old_selector=old_selector,
        revoke_record=revoke,
        revoke_after=switch + grace if old_selector else None,
    )
