"""ARC Sets read from a message's header fields (RFC 8617 §4.1): the floor of sealing and
verification, pure, no DNS and no crypto.

An ARC Set is the three fields of one instance ``i=``: ARC-Authentication-Results (AAR),
ARC-Message-Signature (AMS), ARC-Seal (AS). :func:`read_arc_sets` groups them and says
whether the chain is well formed (§5.2 steps 1-3: each instance has exactly one of each,
instances run 1..N with no gap, N is at most 50).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import dkim.util

ARC_SEAL = b"arc-seal"
ARC_MESSAGE_SIGNATURE = b"arc-message-signature"
ARC_AUTHENTICATION_RESULTS = b"arc-authentication-results"
ARC_FIELDS = (ARC_AUTHENTICATION_RESULTS, ARC_MESSAGE_SIGNATURE, ARC_SEAL)
# RFC 8617 §4.2.1: "The maximum number of ARC Sets that can be attached to a message is 50.
# If more than the maximum number exist, the Chain Validation Status is fail".
ARC_MAX_SETS = 50
_INSTANCE = re.compile(rb"^\s*i\s*=\s*([0-9]{1,4})\s*(?:;|$)", re.ASCII)


@dataclasses.dataclass(frozen=True, slots=True)
class ArcSet:
    """One instance's three fields, as (name, raw value) pairs, and the parsed tags."""

    instance: int
    aar: tuple[bytes, bytes]
    ams: tuple[bytes, bytes]
    seal: tuple[bytes, bytes]
    ams_tags: dict[bytes, bytes]
    seal_tags: dict[bytes, bytes]

    @property
    def cv(self) -> str:
        """The ``cv=`` of this set's ARC-Seal, lower case."""
        return self.seal_tags.get(b"cv", b"").decode("ascii", "replace").strip().lower()


@dataclasses.dataclass(frozen=True, slots=True)
class ArcChain:
    """The ARC Sets of a message, oldest first, or why they do not form a chain."""

    sets: tuple[ArcSet, ...] = ()
    problem: str | None = None
    highest: int = 0
    """The highest ``i=`` seen (a broken chain has no sets but may have instances)."""

    @property
    def present(self) -> bool:
        """Any ARC header field at all (a broken chain is present but has no sets)."""
        return bool(self.sets) or self.problem is not None

    @property
    def instances(self) -> int:
        """N, the number of well-formed sets (0 without a chain or with a broken one)."""
        return len(self.sets)


def read_arc_sets(headers: Sequence[tuple[bytes, bytes]]) -> ArcChain:
    """Group the ARC header fields of ``headers`` (name, value) into sets; never raises."""
    found: dict[int, dict[bytes, list[tuple[bytes, bytes]]]] = {}
    for name, value in headers:
        lower = name.lower()
        if lower not in ARC_FIELDS:
            continue
        match = _INSTANCE.match(_unfold(value)) if lower == ARC_AUTHENTICATION_RESULTS else None
        instance = int(match.group(1)) if match else _tag_instance(value)
        if instance is None:
            what = name.decode("ascii", "replace")
            return ArcChain(problem=f"{what} without a valid i=", highest=max(found, default=0))
        found.setdefault(instance, {}).setdefault(lower, []).append((name, value))
    if not found:
        return ArcChain()
    count = max(found)
    if count > ARC_MAX_SETS:
        return ArcChain(problem=f"more than {ARC_MAX_SETS} ARC Sets", highest=count)
    if sorted(found) != list(range(1, count + 1)):
        return ArcChain(problem="ARC instances do not run from 1 without a gap", highest=count)
    sets = []
    for instance in range(1, count + 1):
        fields = found[instance]
        if any(len(fields.get(n, [])) != 1 for n in ARC_FIELDS):
            problem = f"ARC Set {instance} does not have exactly one of each field"
            return ArcChain(problem=problem, highest=count)
        ams, seal = fields[ARC_MESSAGE_SIGNATURE][0], fields[ARC_SEAL][0]
        sets.append(
            ArcSet(
                instance=instance,
                aar=fields[ARC_AUTHENTICATION_RESULTS][0],
                ams=ams,
                seal=seal,
                ams_tags=_tags(ams[1]) or {},
                seal_tags=_tags(seal[1]) or {},
            )
        )
    return ArcChain(sets=tuple(sets), highest=count)


def key_name(tags: dict[bytes, bytes]) -> str | None:
    """``selector._domainkey.domain`` of a signature's tags, ``None`` without s= and d=."""
    selector = tags.get(b"s", b"").decode("ascii", "replace").strip()
    domain = tags.get(b"d", b"").decode("ascii", "replace").strip()
    if not selector or not domain:
        return None
    return f"{selector}._domainkey.{domain}".lower().rstrip(".")


def _unfold(value: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"", value)


def _tags(value: bytes) -> dict[bytes, bytes] | None:
    try:
        tags: dict[bytes, bytes] = dkim.util.parse_tag_value(_unfold(value))
    except dkim.util.InvalidTagValueList:
        return None
    return tags


def _tag_instance(value: bytes) -> int | None:
    tags = _tags(value)
    raw = tags.get(b"i", b"").strip() if tags else b""
    return int(raw) if raw.isdigit() and len(raw) <= 4 else None
