"""Benchmark DMARC mitigation for a list (issue 17): mitigations per second over 3,000 posts.

    .venv/bin/python bench/bench_mitigation.py [--posts 3000] [--domains 300] [--repeat 3]

A list of ``--posts`` posts from authors spread over ``--domains`` domains (a third
p=reject, a third p=quarantine, a third p=none; a tenth of them inherit from an
organisational domain). Offline: a generated zone served by ``ZoneResolver``, so the
figures are CPU, not network. Three figures, best of N runs:

- ``decide``: ``mitigation_for`` alone (policy discovery, 8 names per domain, no cache);
- ``decide+rewrite``: the decision, then ``rewrite_from`` (or nothing) on each post;
- ``pipeline``: decision, rewrite, ARC seal and DKIM signature (RSA 2048), as
  ``examples/list_pipeline.py`` does without its verify and Sender steps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import dns.zone

from mailcheck import ZoneResolver
from mailcheck.dkim.arc_seal import ArcSealer
from mailcheck.dkim.keys import generate_key
from mailcheck.dkim.sign import DkimSigner
from mailcheck.lists import MitigationAction, mitigation_for, rewrite_from
from mailcheck.lookup import ZoneSet

POLICIES = ("reject", "quarantine", "none")
LIST = "friends@lists.benchlists"


def zone_text(domains: int) -> str:
    """A zone for the whole ``benchlists`` TLD: the authors' DMARC records."""
    lines = ["$ORIGIN benchlists.", "$TTL 300", "@ SOA ns hostmaster 1 3600 600 86400 60",
             "@ NS ns", "ns A 192.0.2.53"]  # fmt: skip
    for n in range(domains):
        policy = POLICIES[n % 3]
        if n % 10 == 9:  # inherited: the record sits on the parent
            lines.append(f'_dmarc.org{n} TXT "v=DMARC1; p=none; sp={policy}"')
            lines.append(f"mail.org{n} A 192.0.2.1")
        else:
            lines.append(f'_dmarc.d{n} TXT "v=DMARC1; p={policy}"')
    return "\n".join(lines) + "\n"


def author(n: int, domains: int) -> str:
    d = n % domains
    host = f"mail.org{d}" if d % 10 == 9 else f"d{d}"
    return f"Member {n} <m{n}@{host}.benchlists>"


def post(n: int, domains: int) -> bytes:
    return (
        f"From: {author(n, domains)}\r\nTo: {LIST}\r\nSubject: post {n}\r\n"
        f"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <p{n}@benchlists>\r\n\r\n"
        f"Hello from member {n}.\r\n"
    ).encode()


async def run_all(posts: list[bytes], froms: list[str], resolver: ZoneResolver, stage: str) -> int:
    sealer = ArcSealer("lists.benchlists", "s1", KEY, authserv_id="lists.benchlists")
    signer = DkimSigner("lists.benchlists", "s1", KEY, third_party=True)
    rewritten = 0
    for raw, sender in zip(posts, froms, strict=True):
        m = await mitigation_for(sender, resolver=resolver)
        if stage == "decide":
            continue
        out = rewrite_from(raw, LIST) if m.action is MitigationAction.REWRITE_FROM else raw
        rewritten += out is not raw
        if stage == "pipeline":
            ar = b"Authentication-Results: lists.benchlists; dkim=none\r\n"
            signer.sign(sealer.seal(ar + out))
    return rewritten


def best(repeat: int, run: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        asyncio.run(run())  # type: ignore[arg-type]
        times.append(time.perf_counter() - start)
    return min(times)


KEY = generate_key("rsa", bits=2048)


def main() -> None:
    """Print the figures, then a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--domains", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    zone = dns.zone.from_text(zone_text(args.domains), origin="benchlists.", relativize=False)
    resolver = ZoneResolver(ZoneSet((zone,)))
    posts = [post(n, args.domains) for n in range(args.posts)]
    froms = [author(n, args.domains) for n in range(args.posts)]
    summary: dict[str, object] = {"posts": args.posts, "domains": args.domains}
    for stage in ("decide", "decide+rewrite", "pipeline"):
        name = stage.replace("decide+rewrite", "rewrite")
        seconds = best(args.repeat, lambda name=name: run_all(posts, froms, resolver, name))
        rate = args.posts / seconds
        summary[stage] = round(rate)
        print(f"{stage:15} {args.posts} posts in {seconds:6.2f} s  {rate:8.0f} posts/s")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
