"""``mailcheck dkim keygen|record|check|sign``: DKIM keys, their DNS record, signing.

Private keys are written to files created 0600 and never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from mailcheck.cli import render
from mailcheck.cli.common import (
    add_dns_options,
    add_format_option,
    add_output_options,
    fails,
    make_resolver,
    print_json,
)
from mailcheck.dkim.keys import DkimDnsRecord, DkimKey, generate_key, load_key
from mailcheck.dkim.names import (
    key_file_path,
    normalize_selector,
    normalize_signing_domain,
    record_name,
)
from mailcheck.dkim.publish import check_published
from mailcheck.dkim.sign import DkimSigner
from mailcheck.errors import ConfigError
from mailcheck.model import to_dict


def register(subparsers: Any) -> None:
    """Add ``mailcheck dkim`` and its subcommands."""
    parser = subparsers.add_parser(
        "dkim", help="DKIM keys: generate, print the DNS record, check it, sign messages"
    )
    commands = parser.add_subparsers(dest="dkim_command", required=True)

    keygen = commands.add_parser("keygen", help="generate a key (file 0600) and print its record")
    keygen.add_argument("--domain", required=True, help="the signing domain (d=)")
    keygen.add_argument("--selector", required=True, help="the selector (s=), e.g. 202612")
    keygen.add_argument(
        "--type", choices=("rsa", "ed25519"), default="rsa", help="key type (default: rsa)"
    )
    keygen.add_argument("--bits", type=int, default=2048, help="RSA: 2048 (default), 3072, 4096")
    keygen.add_argument("--force", action="store_true", help="allow RSA from 1024 to 2047 bits")
    keygen.add_argument(
        "--out",
        default=".",
        metavar="DIR",
        help="where DOMAIN.SELECTOR.pem goes, created 0700 if missing (default: .)",
    )
    _record_options(keygen)
    keygen.set_defaults(run=run_keygen)

    record = commands.add_parser("record", help="print the DNS record of a key file")
    record.add_argument("keyfile", metavar="KEYFILE", help="a private key file (PEM)")
    record.add_argument("--selector", required=True, help="the selector (s=)")
    record.add_argument("--domain", required=True, help="the signing domain (d=)")
    _record_options(record)
    record.set_defaults(run=run_record)

    check = commands.add_parser("check", help="is the key published at the selector?")
    check.add_argument("--domain", required=True, help="the signing domain (d=)")
    check.add_argument("--selector", required=True, help="the selector to look up")
    check.add_argument("--key", required=True, metavar="FILE", help="the private key it must match")
    add_dns_options(check)
    add_output_options(check)
    check.set_defaults(run=run_check)

    sign = commands.add_parser(
        "sign", help="sign a message (stdout); repeat --selector/--key to dual-sign"
    )
    sign.add_argument("--domain", required=True, help="the signing domain (d=)")
    sign.add_argument(
        "--selector", action="append", required=True, help="the selector (repeatable, with --key)"
    )
    sign.add_argument(
        "--key", action="append", required=True, metavar="FILE", help="its private key file"
    )
    sign.add_argument("--third-party", action="store_true", help="allow a From in another domain")
    sign.add_argument(
        "message", nargs="?", default="-", metavar="MESSAGE|-", help="the message (default: stdin)"
    )
    sign.set_defaults(run=run_sign)


def _record_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--testing", action="store_true", help="add t=y (testing mode)")
    parser.add_argument("--no-strict", action="store_true", help="leave out t=s")
    parser.add_argument(
        "--ttl", type=_ttl, default=3600, help="TTL of the zone line, seconds (default: 3600)"
    )
    add_format_option(parser)


# RFC 2181 §8: a TTL is "an unsigned number, with a minimum value of 0, and a maximum
# value of 2147483647".
MAX_TTL = 2**31 - 1


def _ttl(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= MAX_TTL:
        raise argparse.ArgumentTypeError(f"{value}: a TTL is from 0 to {MAX_TTL} (RFC 2181 §8)")
    return value


def run_keygen(args: argparse.Namespace) -> int:
    """Generate a key, save it 0600 inside ``--out`` (created 0700 if missing), print its record.

    The domain and selector are validated before the key is generated or any
    file or directory is created.
    """
    domain = normalize_signing_domain(args.domain)
    selector = normalize_selector(args.selector)
    record_name(selector, domain)  # the whole name fits in DNS, before anything is written
    key = generate_key(args.type, bits=args.bits, force=args.force)
    record = key.dns_record(
        selector, domain, testing=args.testing, strict=not args.no_strict, ttl=args.ttl
    )
    path = key.save(key_file_path(args.out, domain, selector, create_directory=True))
    _print_record(record, args.format, key=key, key_file=path)
    return 0


def run_record(args: argparse.Namespace) -> int:
    """Print the DNS record of an existing key file."""
    domain = normalize_signing_domain(args.domain)
    selector = normalize_selector(args.selector)
    key = load_key(args.keyfile)
    record = key.dns_record(
        selector, domain, testing=args.testing, strict=not args.no_strict, ttl=args.ttl
    )
    _print_record(record, args.format, key=key)
    return 0


def _print_record(
    record: DkimDnsRecord, fmt: str, *, key: DkimKey, key_file: Path | None = None
) -> None:
    # The key is shown by its public facts (type, bits, fingerprint), never by repr().
    facts = key.to_dict()
    if fmt == "json":
        data = to_dict(record)
        data.update(strings=list(record.strings), zone_line=record.zone_line(), key=facts)
        if key_file is not None:
            data["key_file"] = str(key_file)
        print_json(data)
        return
    lines = [f"# key_file: {key_file}"] if key_file is not None else []
    lines += [f"# key_{name}: {value}" for name, value in facts.items()]
    lines += [f"# name:  {record.name}", f"# value: {record.value}", record.zone_line()]
    sys.stdout.write("\n".join(lines) + "\n")


def run_check(args: argparse.Namespace) -> int:
    """Compare the published record with the key; exit 1 on a finding at --fail-on."""
    key = load_key(args.key)
    resolver = make_resolver(args)
    result = asyncio.run(check_published(args.domain, args.selector, key, resolver=resolver))
    if args.format == "json":
        print_json(to_dict(result))
    else:
        console = render.make_console(sys.stdout)
        data = to_dict(result)
        summary = "published, matches the key" if result.matches else result.name
        render.print_lines(console, [render.check_line("dkim", data, summary)])
        render.print_lines(console, render.findings_block(data["findings"]))
    return 1 if fails(result.findings, args.fail_on) else 0


def run_sign(args: argparse.Namespace) -> int:
    """Sign a message from a file or stdin; write the signed message to stdout."""
    if len(args.selector) != len(args.key):
        raise ConfigError("give one --selector per --key, in the same order")
    keys = [(s, load_key(k)) for s, k in zip(args.selector, args.key, strict=True)]
    signer = DkimSigner(args.domain, keys=keys, third_party=args.third_party)
    if args.message == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(args.message).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{args.message}: cannot read ({exc.strerror})") from None
    sys.stdout.buffer.write(signer.sign(data))
    sys.stdout.buffer.flush()
    return 0
