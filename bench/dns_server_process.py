"""Run the test DNS server in its own process (so it does not share the GIL with the code
being measured): ``python bench/dns_server_process.py --delay 0.02 ZONEFILE...``.

Prints the port on stdout, then serves until stdin is closed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.dnsserver import DnsTestServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("zones", nargs="+")
    args = parser.parse_args()
    server = DnsTestServer(args.zones, host=args.host)
    server.fixed_port = args.port
    server.delay = args.delay
    server.start()
    print(server.port, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
