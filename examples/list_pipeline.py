"""A mailing list's outgoing pipeline: receive -> verify -> mitigate -> ARC seal -> DKIM sign
-> hand to the Sender.

    # offline, with the example zones and key (nothing leaves the machine):
    .venv/bin/python examples/list_pipeline.py --list friends@lists.example \\
        --message examples/lists/post.eml --ip 198.51.100.7 --out /tmp/out.eml \\
        ana@members.example bob@others.example

    # as Sympa's or Postfix's delivery program (message on stdin, sendmail-style -f):
    list_pipeline.py --list friends@lists.example --nameserver 127.0.0.1 \\
        --zones '' --key /etc/mail/dkim/lists.example.2026.pem --selector 2026 \\
        --relay 127.0.0.1:10026 -f friends-bounces@lists.example -- RCPT...

What it does with one post (docs/lists.md has the rules and the Sympa/Mailman wiring):

1. verify it as the list's receiver would (DKIM, SPF with ``--ip``, DMARC, ARC) and put that
   Authentication-Results on top (authserv-id: the list's domain);
2. ask ``mitigation_for`` about the From domain: ``rewrite-from`` (or ``wrap`` with
   ``--wrap``) when its DMARC policy, or the enforcers file, says receivers would reject it;
3. add an ARC Set (``ArcSealer``) recording what the list saw before it changed anything;
4. DKIM-sign with the list's domain (``DkimSigner``, third-party when the From is not ours);
5. submit to the Sender's spool (``Sender.submit``), and deliver through ``--relay`` if given.

Exit codes follow sendmail's (sysexits.h), which Sympa and Postfix's pipe understand: 0 queued,
65 the post cannot be mitigated (no From, several...), 75 DNS could not answer (try later).
One JSON line on stdout says what was done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from pathlib import Path

from mailcheck import DnsResolver, Resolver, ZoneResolver
from mailcheck.authresults import header_fields
from mailcheck.dkim.arc_seal import ArcSealer
from mailcheck.dkim.keys import load_key
from mailcheck.dkim.sign import DkimSigner
from mailcheck.errors import MailcheckError, TempError
from mailcheck.lists import MitigationAction, MitigationError, mitigation_for, rewrite_from, wrap
from mailcheck.sending.pacing import PacePolicy
from mailcheck.sending.sender import Sender
from mailcheck.sending.spool import SqliteSpool
from mailcheck.verify import verify_message

HERE = Path(__file__).parent / "lists"
EX_DATAERR, EX_TEMPFAIL = 65, 75


async def pipeline(
    raw: bytes, args: argparse.Namespace, resolver: Resolver
) -> tuple[dict[str, object], bytes]:
    """One post through the pipeline; returns what was done (the JSON line) and the message."""
    args.list = args.list or _list_post(raw)
    list_domain = args.list.rpartition("@")[2].lower()
    # 1. verify, as the list's receiver; the header records it for the ARC Set.
    seen = await verify_message(
        raw, ip=args.ip, mail_from=args.mail_from, helo=args.helo,
        resolver=resolver, authserv_id=list_domain,
    )  # fmt: skip
    if seen.arc is not None and seen.arc.result == "temperror":
        raise TempError(list_domain, "TXT", "an ARC key lookup failed: the chain is unknown")
    header = seen.header.encode() + b"\r\n"
    post = header + raw
    # 2. mitigate when the author's domain would have the list's copy rejected.
    action = MitigationAction.WRAP if args.wrap else MitigationAction.REWRITE_FROM
    author = seen.from_domain or ""
    mitigation = await mitigation_for(_from_value(raw), resolver=resolver, action=action)
    if mitigation.action is MitigationAction.REWRITE_FROM:
        post = rewrite_from(post, args.list, list_name=args.list_name)
    elif mitigation.action is MitigationAction.WRAP:
        # The post attached as received; the list's assessment goes on the new message.
        post = header + wrap(raw, args.list, list_name=args.list_name)
    # 3. ARC seal (what the list saw on receipt), 4. DKIM sign with the list's domain.
    key = load_key(args.key)
    sealed = ArcSealer(list_domain, args.selector, key, authserv_id=list_domain).seal(post)
    signed = DkimSigner(list_domain, args.selector, key, third_party=True).sign(sealed)
    # 5. hand to the Sender: the spool, then the relay (or the members' MX) if asked.
    queued, delivered = await _send(signed, args, resolver)
    return {
        "author_domain": author,
        "dmarc": seen.dmarc_result,
        "arc": str(seen.arc.result) if seen.arc else "none",
        "mitigation": mitigation.to_dict(),
        "queued": queued,
        "delivered": delivered,
    }, signed


async def _send(signed: bytes, args: argparse.Namespace, resolver: Resolver) -> tuple[int, int]:
    spool_path = args.spool or str(Path(tempfile.mkdtemp(prefix="list-pipeline-")) / "spool.db")
    spool = SqliteSpool(spool_path)
    overrides: dict[str, tuple[str, int]] = {}
    if args.relay:
        host, _, port = args.relay.rpartition(":")
        for rcpt in args.recipients:
            answer = await resolver.query(rcpt.rpartition("@")[2], "MX")
            for record in answer.records:
                overrides[str(record.exchange).rstrip(".").lower()] = (host, int(port))  # type: ignore[attr-defined]
    try:
        # A relay you run takes mail as fast as it comes; shaping towards providers is its job.
        pace = (lambda group: PacePolicy(first_contact=100.0)) if args.relay else None
        async with Sender(spool=spool, resolver=resolver, mx_override=overrides, tls="off",
                          helo=args.list.rpartition("@")[2], pacing=pace) as sender:  # fmt: skip
            mail_from = args.bounce or args.list.replace("@", "-bounces@", 1)
            mid = await sender.submit(signed, mail_from=mail_from, rcpt_to=args.recipients)
            delivered = 0
            if args.relay:
                await sender.run_until_idle()
                states = await spool.recipients(mid)
                delivered = sum(1 for state in states.values() if state == "delivered")
        return mid, delivered
    finally:
        spool.close()


def _list_post(raw: bytes) -> str:
    """The list address from ``List-Post: <mailto:...>`` (RFC 2369; Mailman and Sympa add it)."""
    for name, value in header_fields(raw):
        match = (
            re.search(r"<mailto:([^>?\s]+@[^>?\s]+)", value)
            if name.lower() == "list-post"
            else None
        )
        if match:
            return match.group(1)
    raise MitigationError("no --list given and no List-Post: <mailto:...> in the post")


def _from_value(raw: bytes) -> str:
    values = [v for n, v in header_fields(raw) if n.lower() == "from"]
    if len(values) != 1:
        raise MitigationError("the post must have exactly one From header field")
    return values[0]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A mailing list's outgoing pipeline.")
    parser.add_argument("recipients", nargs="*", help="the members to deliver to")
    parser.add_argument("--list", help="the list's posting address (default: from List-Post)")
    parser.add_argument("--list-name", help="the list's display name (default: its local part)")
    parser.add_argument("--message", default="-", help="the post (default: stdin)")
    parser.add_argument("--wrap", action="store_true", help="wrap instead of rewriting From")
    parser.add_argument("--ip", help="the IP the post came from (enables SPF)")
    parser.add_argument("--mail-from", help="the post's envelope sender")
    parser.add_argument("--helo", help="the HELO name the post came with")
    parser.add_argument("-f", "--bounce", help="the envelope sender of the list's copies")
    parser.add_argument("--key", default=str(HERE / "keys" / "lists.example.2026.pem"))
    parser.add_argument("--selector", default="2026")
    parser.add_argument("--zones", default=str(HERE / "zones"), help="'' to use --nameserver")
    parser.add_argument("--nameserver", action="append", help="DNS servers (with --zones '')")
    parser.add_argument("--spool", help="the Sender's spool (default: a new temporary one)")
    parser.add_argument("--relay", help="HOST:PORT to deliver every copy through")
    parser.add_argument("--out", help="also write the signed message to this file")
    # sendmail options Sympa passes (-oi -odi -oem): accepted and ignored.
    args, unknown = parser.parse_known_args(argv)
    stray = [u for u in unknown if not u.startswith("-o")]
    if stray:
        parser.error(f"unrecognised arguments: {' '.join(stray)}")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    raw = sys.stdin.buffer.read() if args.message == "-" else Path(args.message).read_bytes()
    resolver: Resolver
    if args.zones:
        resolver = ZoneResolver(sorted(Path(args.zones).glob("*.zone")))
    else:
        resolver = DnsResolver(args.nameserver)
    try:
        done, signed = asyncio.run(pipeline(raw, args, resolver))
    except MitigationError as exc:
        print(f"list_pipeline: {exc}", file=sys.stderr)
        return EX_DATAERR
    except TempError as exc:
        # A chain that could not be checked, a DNS failure: the MTA keeps the post and retries.
        print(f"list_pipeline: try later: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except MailcheckError as exc:  # a post that must not be signed as it is, a bad key
        print(f"list_pipeline: {exc}", file=sys.stderr)
        return EX_DATAERR
    if args.out:
        Path(args.out).write_bytes(signed)
    print(json.dumps(done))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
