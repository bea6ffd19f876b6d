"""``mailcheck serve``: the JSON API and the report pages, served by uvicorn.

Examples::

    mailcheck serve --token-file /etc/mailcheck/tokens            # 127.0.0.1:8025
    mailcheck serve --listen 127.0.0.1:8080 --spool /var/spool/mailcheck --lang fr
    mailcheck serve --zone examples/zones/example.org.zone \\
        --zone examples/zones/mailhost.example.zone               # offline demo

The service binds to loopback by default: put it behind the control panel's reverse proxy
(``docs/embedding.md``). Without ``--token-file`` the API refuses every request (the pages,
``/healthz`` and ``/api/v1/openapi.json`` still answer). The language of this command's
messages follows ``--lang``, else ``LANGUAGE`` / ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``;
the pages and the API follow each request's ``Accept-Language`` (``--lang`` is their
default). Exit codes: 0 stopped cleanly, 2 a usage or operational error (one line).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from typing import Any

from mailcheck.cli.common import add_blocklist_options, add_dns_options, positive_float
from mailcheck.errors import ConfigError
from mailcheck.locale import LANGUAGES, language_from_env, translations

DEFAULT_LISTEN = "127.0.0.1:8025"


def register(subparsers: Any) -> None:
    """Add ``mailcheck serve``."""
    _ = translations(language_from_env()).gettext
    parser = subparsers.add_parser(
        "serve",
        help="serve the JSON API and the report pages (French and English) over HTTP",
        description=_("Serve the JSON API (/api/v1) and the report pages for a control panel."),
    )
    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=_("address to listen on (default: %(default)s, loopback)"),
    )
    parser.add_argument(
        "--token-file",
        metavar="FILE",
        help=_("file of API bearer tokens, one per line (chmod 600)"),
    )
    parser.add_argument(
        "--spool", metavar="DIR|FILE", help=_("the sending spool to show (read-only)")
    )
    parser.add_argument(
        "--reports-db", metavar="FILE", help=_("the DMARC reports store to show (read-only)")
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        help=_("default language of the pages and of this command's messages"),
    )
    parser.add_argument(
        "--cache-ttl",
        type=positive_float(86400.0),
        default=300.0,
        metavar="S",
        help=_("seconds a domain's report is served from the cache"),
    )
    parser.add_argument(
        "--max-audits", type=int, default=4, metavar="N", help=_("audits running at once")
    )
    parser.add_argument(
        "--rate",
        type=positive_float(1e6),
        default=60.0,
        metavar="N",
        help=_("requests per minute per token"),
    )
    parser.add_argument(
        "--frame-ancestor",
        action="append",
        default=[],
        metavar="ORIGIN",
        help=_("an origin allowed to embed the pages in an iframe (repeatable)"),
    )
    parser.add_argument(
        "--secret-file",
        metavar="FILE",
        help=_("the secret of the unsubscribe tokens (with --spool: enables /unsubscribe)"),
    )
    parser.add_argument(
        "--root-path",
        default="",
        metavar="PREFIX",
        help=_("the path prefix a reverse proxy serves the service under, e.g. /mailcheck"),
    )
    parser.add_argument(
        "--no-reputation", action="store_true", help=_("skip reverse DNS and blocklists in audits")
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info", "debug"),
        help=_("uvicorn's log level (default: %(default)s)"),
    )
    add_dns_options(parser)
    add_blocklist_options(parser)
    parser.set_defaults(run=run)  # fmt: skip


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as (host, port).

    Raises:
        ConfigError: not a host and a port 1-65535.
    """
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--listen {value}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host, int(port)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def build_config(args: argparse.Namespace) -> Any:
    """The :class:`~mailcheck.serve.ServeConfig` the options ask for."""
    from mailcheck.lookup import DnsResolver, ZoneResolver
    from mailcheck.reputation import load_catalogue
    from mailcheck.serve import ServeConfig, read_tokens

    tokens = read_tokens(args.token_file) if args.token_file else ()
    secret = None
    if args.secret_file:
        from mailcheck.hygiene.secret import read_secret

        secret = read_secret(args.secret_file)
    live = None
    if args.nameserver or not args.zone:
        # Answers are kept at most 10 s: a re-check after fixing a record sees the fix.
        live = DnsResolver(args.nameserver or None, timeout=args.timeout, max_ttl=10)
    resolver = ZoneResolver(args.zone, fallback=live) if args.zone else live
    catalogue = load_catalogue(*args.lists, builtin=not args.no_builtin_lists)
    spool = None
    if args.spool:
        from mailcheck.cli.spool import spool_file

        spool = spool_file(args.spool)  # a typo is one line now, not a 503 per request
    if args.reports_db and not Path(args.reports_db).is_file():
        raise ConfigError(f"--reports-db {args.reports_db}: no report store there")
    if args.max_audits < 1:
        raise ConfigError("--max-audits must be at least 1")
    return ServeConfig(
        tokens=tokens, resolver=resolver, catalogue=catalogue,
        reputation=not args.no_reputation, cache_ttl=args.cache_ttl,
        max_audits=args.max_audits, rate_per_minute=args.rate, spool=spool,
        reports_db=args.reports_db, language=args.lang or language_from_env(),
        frame_ancestors=tuple(args.frame_ancestor), unsubscribe_secret=secret,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from mailcheck._optional import require

    for module in ("starlette", "jinja2", "uvicorn"):
        require(module, "serve")
    import uvicorn

    from mailcheck.serve import create_app

    _ = translations(args.lang or language_from_env()).gettext
    host, port = parse_listen(args.listen)
    config = build_config(args)
    if not config.tokens:
        sys.stderr.write(_("mailcheck: no --token-file: the API refuses every request") + "\n")
    if not _is_loopback(host):
        sys.stderr.write(
            _("mailcheck: listening on %(host)s, not loopback: put a TLS proxy in front")
            % {"host": host}
            + "\n"
        )
    sys.stderr.write(
        _("mailcheck: serving on http://%(host)s:%(port)s (Ctrl-C stops)")
        % {"host": host, "port": port}
        + "\n"
    )
    try:
        uvicorn.run(create_app(config), host=host, port=port, log_level=args.log_level,
                    access_log=False, lifespan="off", server_header=False,
                    root_path=args.root_path.rstrip("/"))  # fmt: skip
    except OSError as exc:
        raise ConfigError(f"--listen {args.listen}: {exc.strerror or exc}") from None
    return 0
